"""Face detection (one ``Detector`` interface, ``DETECTORS`` registry) and alignment/cropping.

>>> from ferkit.faces import DETECTORS
>>> "haar" in DETECTORS
True
"""

from ferkit.faces import dlib_detectors, haar, yunet  # noqa: F401  (register the detectors)
from ferkit.faces.align import AlignConfig, align_face, crop_faces, face_flags
from ferkit.faces.base import DETECTORS, Detection, Detector, create_detector

__all__ = [
    "DETECTORS", "AlignConfig", "Detection", "Detector", "align_face", "create_detector",
    "crop_faces", "face_flags",
]
