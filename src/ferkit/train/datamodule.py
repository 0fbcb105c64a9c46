"""The LightningDataModule: the dataset stays a uint8 array in memory, resized once.

Batches are fetched with one fancy-indexing call (``__getitems__``), not per-sample Python, and
leave the loader as uint8; conversion, augmentation and normalisation happen on the batch in the
LightningModule (on the GPU when there is one). That keeps a 2-core CPU compute-bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, WeightedRandomSampler

from ferkit.data.base import Dataset, SplitArrays
from ferkit.preprocess import resize_batch
from ferkit.train.config import TrainConfig


class ArrayDataset(torch.utils.data.Dataset):
    """uint8 images (N,H,W[,C]) + int64 labels (or float (N,K) soft targets); batched reads via
    ``__getitems__``."""

    def __init__(self, images: np.ndarray | torch.Tensor, labels: np.ndarray,
                 soft: np.ndarray | None = None, extra: torch.Tensor | None = None) -> None:
        self.images = torch.as_tensor(np.ascontiguousarray(images))
        self.labels = (torch.from_numpy(np.asarray(labels, dtype=np.int64)) if soft is None
                       else torch.from_numpy(np.ascontiguousarray(soft, dtype=np.float32)))
        self.extra = extra  # per-item teacher logits (distill.cache), returned third

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, i: int):
        if self.extra is not None:
            return self.images[i], self.labels[i], self.extra[i]
        return self.images[i], self.labels[i]

    def __getitems__(self, indices: list[int]):
        idx = torch.as_tensor(indices, dtype=torch.long)
        if self.extra is not None:
            return self.images[idx], self.labels[idx], self.extra[idx]
        return self.images[idx], self.labels[idx]


class EpochShuffle(torch.utils.data.RandomSampler):
    """A shuffle that depends only on (seed, epoch), not on the process's random state.

    Lightning calls ``set_epoch`` before every epoch (as for ``DistributedSampler``), so a run
    resumed at an epoch boundary sees the same order as an uninterrupted one.
    """

    def __init__(self, data, seed: int) -> None:
        super().__init__(data, generator=torch.Generator().manual_seed(seed))
        self.seed = seed

    def set_epoch(self, epoch: int) -> None:
        self.generator.manual_seed(self.seed * 100_003 + epoch)


class ViewShuffle(torch.utils.data.Sampler):
    """Each epoch: every image once, in a (seed, epoch)-seeded order, as one of its ``views``
    cached views (item ``i * views + v`` of a ``TeacherCache``). Each image goes through its
    views in its own random order, all ``views`` of them before any repeats (epochs
    ``c*views .. (c+1)*views - 1`` form cycle c with new orders): a fixed view shown twice
    teaches the student that view rather than the teachers' function, so repeats come last.
    ``offset`` shifts the schedule: a run continuing a student that already trained E epochs on
    the same cache (same seed) passes E and goes on where the parent stopped, to the views it
    has not seen, instead of replaying the parent's first epochs."""

    def __init__(self, num_images: int, views: int, seed: int, offset: int = 0) -> None:
        self.num_images, self.views, self.seed = num_images, views, seed
        self.offset = offset
        self.epoch = offset

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch + self.offset

    def __len__(self) -> int:
        return self.num_images

    def __iter__(self):
        gen = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(self.num_images, generator=gen)
        cycle, step = divmod(self.epoch, self.views)
        cyc = torch.Generator().manual_seed(self.seed * 100_019 + 7_919 * cycle + 1)
        views = torch.rand(self.num_images, self.views, generator=cyc).argsort(dim=1)[:, step]
        yield from (order * self.views + views[order]).tolist()


def collate_batch(batch):
    """``__getitems__`` already returns a stacked batch; single items are stacked here."""
    if isinstance(batch, tuple):
        return batch
    return tuple(torch.stack(column) for column in zip(*batch, strict=True))


@dataclass
class PreparedSplits:
    train: SplitArrays
    val: SplitArrays | None


def prepare_splits(dataset: Dataset, cfg: TrainConfig, size: int, interpolation: str,
                   rng: np.random.Generator, train_size: int | None = None) -> PreparedSplits:
    """Pick train (or train+val) and val, limit if asked, and resize every image once (train
    to ``train_size`` when given: views of a teacher cache drawn larger than the model)."""
    from ferkit.data.splits import concat, take

    train = dataset.split("train")
    val = dataset.split(cfg.data.val_split) if cfg.data.val_split in dataset.splits else None
    if cfg.data.train_on == "train+val" and val is not None:
        train = concat(train, val)
    if cfg.data.limit_train and cfg.data.limit_train < len(train):
        train = take(train, np.sort(rng.permutation(len(train))[: cfg.data.limit_train]))

    def resized(s: SplitArrays, to: int) -> SplitArrays:
        return SplitArrays(resize_batch(s.images, to, interpolation), s.labels, s.paths,
                           s.soft)

    return PreparedSplits(resized(train, train_size or size),
                          resized(val, size) if val is not None else None)


def class_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """'balanced' weights n / (K · count_k) (classes without samples get 0)."""
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    w = np.where(counts > 0, counts.sum() / (num_classes * np.maximum(counts, 1)), 0.0)
    return w.astype(np.float32)


class FerDataModule(L.LightningDataModule):
    """Serves in-memory uint8 splits; ``balance=sampler`` draws classes equally often."""

    def __init__(self, splits: PreparedSplits, cfg: TrainConfig, num_classes: int,
                 teacher_cache=None) -> None:
        super().__init__()
        self.splits = splits
        self.cfg = cfg
        self.num_classes = num_classes
        self.teacher_cache = teacher_cache  # ferkit.train.teacher_cache.TeacherCache or None

    def _train_dataset(self, split: SplitArrays) -> tuple[ArrayDataset, np.ndarray]:
        """The training items and their labels: the images, or with a teacher cache its K
        views per image (labels repeated) carrying the teachers' logits."""
        cache = self.teacher_cache
        if cache is None:
            return ArrayDataset(split.images, split.labels, split.soft), split.labels
        k = cache.num_views
        labels = np.repeat(split.labels, k)
        soft = None if split.soft is None else np.repeat(split.soft, k, axis=0)
        return ArrayDataset(cache.views, labels, soft, cache.logits), labels

    def _loader(self, split: SplitArrays, train: bool) -> DataLoader:
        t = self.cfg.trainer
        if train:
            dataset, labels = self._train_dataset(split)
        else:  # hard labels validate
            dataset, labels = ArrayDataset(split.images, split.labels), split.labels
        sampler = None
        if train and self.teacher_cache is not None:
            sampler = ViewShuffle(len(split), self.teacher_cache.num_views, self.cfg.seed,
                                  self.cfg.distill.view_offset)
        elif train:
            sampler = EpochShuffle(dataset, self.cfg.seed)
        if train and self.cfg.data.balance == "sampler":
            w = class_weights(split.labels, self.num_classes)[labels]
            sampler = WeightedRandomSampler(torch.from_numpy(w).double(), len(split),
                                            replacement=True)
        batch = t.batch_size if train else max(t.batch_size, 256)
        return DataLoader(
            dataset, batch_size=batch, sampler=sampler, collate_fn=collate_batch,
            num_workers=t.num_workers, persistent_workers=t.num_workers > 0,
            pin_memory=torch.cuda.is_available(), drop_last=train and len(split) > t.batch_size,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.splits.train, True)

    def val_dataloader(self) -> DataLoader | list:
        if self.splits.val is None or self.cfg.data.train_on == "train+val":
            return []
        return self._loader(self.splits.val, False)
