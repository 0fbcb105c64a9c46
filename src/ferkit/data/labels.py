"""Label and split name maps: every on-disk spelling → ferkit's canonical names.

Datasets disagree on spelling ("anger"/"angry", "Happiness"/"happy") and on split names
("validation", "PublicTest"); mapping them here, once, keeps the loaders free of special cases.

A dataset's class list is the set of labels it actually holds (``classes_for``): emotion names
(and synonyms) come first in ferkit's canonical order, so FER-style datasets stay comparable by
name, and any other class name (a user's ``pain`` folder) follows in sorted order. A 4-emotion
folder therefore trains a 4-output model, and a ``pain/happy`` folder a 2-output one.
"""

from __future__ import annotations

from ferkit.types import EMOTIONS_8

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


def classes_for(names: set[str] | frozenset[str]) -> tuple[str, ...]:
    """The class tuple of a dataset holding ``names``: emotions in canonical order, then others.

    >>> classes_for({"pain", "happy"})
    ('happy', 'pain')
    >>> classes_for({"neutral", "angry", "contempt"})
    ('angry', 'neutral', 'contempt')
    """
    emotions = tuple(c for c in EMOTIONS_8 if c in names)
    return emotions + tuple(sorted(n for n in names if n not in EMOTIONS_8))


def class_label(folder: str) -> str:
    """A class folder's label: the canonical emotion for known spellings, else the name itself.

    >>> class_label("Happiness"), class_label("pain ")
    ('happy', 'pain')
    """
    return canonical_class(folder) or folder.strip()


def canonical_index(name: str) -> int | None:
    """The FER2013 index of a canonical emotion (0 angry ... 6 neutral, 7 contempt), else None."""
    return EMOTIONS_8.index(name) if name in EMOTIONS_8 else None


def valid_class_names() -> str:
    """A short human list of accepted class folder names, for error messages."""
    return ", ".join(EMOTIONS_8) + " (and synonyms such as anger, happiness, sadness, surprised)"
