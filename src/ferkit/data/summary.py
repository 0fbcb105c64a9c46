"""A dataset's vital statistics (what ``ferkit data info`` prints): counts, sizes, warnings."""

from __future__ import annotations

from dataclasses import dataclass, field

from ferkit.data.base import Dataset

#: warn when the largest class has more than this many times the images of the smallest
IMBALANCE_RATIO = 5.0


@dataclass
class SplitSummary:
    total: int
    counts: dict[str, int]


@dataclass
class DatasetSummary:
    path: str
    format: str
    fingerprint: str
    color: str
    classes: list[str]
    image_size: list[int]
    source_sizes: dict[str, int]
    splits: dict[str, SplitSummary]
    total: int
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def summarize(ds: Dataset, imbalance_ratio: float = IMBALANCE_RATIO) -> DatasetSummary:
    """Per-split class counts plus warnings for class imbalance and classes with no images."""
    splits = {}
    for name, split in ds.splits.items():
        counts = split.class_counts(len(ds.classes)).tolist()
        splits[name] = SplitSummary(len(split), dict(zip(ds.classes, counts, strict=True)))
    return DatasetSummary(
        path=str(ds.root), format=ds.format, fingerprint=ds.fingerprint, color=ds.color,
        classes=list(ds.classes), image_size=list(ds.image_size),
        source_sizes=dict(ds.source_sizes), splits=splits,
        total=sum(s.total for s in splits.values()),
        skipped=[{"file": f, "reason": r} for f, r in ds.skipped],
        warnings=balance_warnings(splits, imbalance_ratio),
    )


def balance_warnings(splits: dict[str, SplitSummary], ratio: float) -> list[str]:
    out = []
    for name, s in splits.items():
        present = {c: n for c, n in s.counts.items() if n > 0}
        missing = [c for c, n in s.counts.items() if n == 0]
        if missing:
            out.append(f"split {name!r} has no images of: {', '.join(missing)}")
        if len(present) >= 2:
            big = max(present, key=present.__getitem__)
            small = min(present, key=present.__getitem__)
            if present[big] > ratio * present[small]:
                out.append(f"class imbalance in split {name!r}: {big} {present[big]} vs "
                           f"{small} {present[small]} ({present[big] / present[small]:.1f}x); "
                           f"consider class weights or a balanced sampler")
    return out
