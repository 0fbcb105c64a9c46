"""ferkit.data: load FER datasets in any supported layout as uint8 arrays with canonical labels.

>>> from ferkit.data import load_dataset          # doctest: +SKIP
>>> ds = load_dataset("data/fer2013")              # doctest: +SKIP
>>> ds.split("train").images.shape                 # doctest: +SKIP
(28709, 48, 48)

No torch here: ``ferkit data info`` must start fast.
"""

from ferkit.data.api import detect_format, list_formats, load_dataset
from ferkit.data.base import SPLITS, Dataset, SplitArrays
from ferkit.data.formats import DATASETS, DatasetFormat

__all__ = ["DATASETS", "SPLITS", "Dataset", "DatasetFormat", "SplitArrays", "detect_format",
           "list_formats", "load_dataset"]
