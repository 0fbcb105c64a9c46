"""Label and split name maps: every on-disk spelling → ferkit's canonical names.

Datasets disagree on spelling ("anger"/"angry", "Happiness"/"happy") and on split names
("validation", "PublicTest"); mapping them here, once, keeps the loaders free of special cases.
"""

from __future__ import annotations

from ferkit.types import EMOTIONS, EMOTIONS_8

#: lower-case folder/label spellings → canonical emotion name
CLASS_SYNONYMS: dict[str, str] = {
    **{name: name for name in EMOTIONS_8},
    "anger": "angry", "angry": "angry", "mad": "angry",
    "disgusted": "disgust", "disgusting": "disgust",
    "fearful": "fear", "afraid": "fear", "scared": "fear",
    "happiness": "happy", "happy": "happy", "joy": "happy",
    "sadness": "sad", "sad": "sad",
    "surprised": "surprise", "surprise": "surprise",
    "neutrality": "neutral", "neutral": "neutral", "calm": "neutral",
    "contemptuous": "contempt", "contempt": "contempt",
}

#: lower-case split spellings → canonical split (train / val / test)
SPLIT_SYNONYMS: dict[str, str] = {
    "train": "train", "training": "train",
    "val": "val", "valid": "val", "validation": "val", "publictest": "val", "dev": "val",
    "test": "test", "testing": "test", "privatetest": "test",
}

#: FER2013 ``Usage`` values (and file-name prefixes) ↔ canonical split
USAGE_TO_SPLIT: dict[str, str] = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
SPLIT_TO_USAGE: dict[str, str] = {v: k for k, v in USAGE_TO_SPLIT.items()}


def canonical_class(name: str) -> str | None:
    """'Happiness' → 'happy'; None when the name is no emotion we know."""
    return CLASS_SYNONYMS.get(name.strip().lower())


def canonical_split(name: str) -> str | None:
    """'PublicTest' → 'val'; None when the name is not a split name."""
    return SPLIT_SYNONYMS.get(name.strip().lower())


def classes_for(names: set[str]) -> tuple[str, ...]:
    """The canonical class tuple for a set of canonical names: 8 classes only with contempt."""
    return EMOTIONS_8 if "contempt" in names else EMOTIONS


def valid_class_names() -> str:
    """A short human list of accepted class folder names, for error messages."""
    return ", ".join(EMOTIONS_8) + " (and synonyms such as anger, happiness, sadness, surprised)"
