"""Face detection (one ``Detector`` interface, ``DETECTORS`` registry) and alignment/cropping.

>>> from ferkit.faces import DETECTORS
>>> "haar" in DETECTORS
True
"""

from ferkit.faces import blazeface, dlib_detectors, haar, mtcnn, yunet  # noqa: F401 (registers)
from ferkit.faces.align import AlignConfig, align_face, crop_faces, face_flags
from ferkit.faces.base import DEFAULT_DETECTOR, DETECTORS, Detection, Detector, create_detector

__all__ = [
    "DEFAULT_DETECTOR", "DETECTORS", "AlignConfig", "Detection", "Detector", "align_face",
    "create_detector", "crop_faces", "face_flags",
]
