"""Dataset formats; importing this package registers every format in ``DATASETS``."""

from ferkit.data.formats import (  # noqa: F401  (registration side effects)
    ckplus,
    fer2013_csv,
    fer2013_folder,
    ferplus,
    image_folder,
    jaffe,
    rafdb,
)
from ferkit.data.formats._registry import DATASETS, DatasetFormat

__all__ = ["DATASETS", "DatasetFormat"]
