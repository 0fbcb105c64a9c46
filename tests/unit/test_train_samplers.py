"""Training samplers: the order depends on (seed, epoch) only, so a resumed run repeats it."""

from __future__ import annotations

import torch

from ferkit.train.datamodule import EpochShuffle, ViewShuffle


def test_epoch_shuffle_depends_on_seed_and_epoch_only():
    a, b = EpochShuffle(range(20), seed=1), EpochShuffle(range(20), seed=1)
    torch.manual_seed(0)
    a.set_epoch(3)
    first = list(a)
    torch.manual_seed(99)  # the process's random state plays no part
    b.set_epoch(3)
    assert list(b) == first and sorted(first) == list(range(20))
    b.set_epoch(4)
    assert list(b) != first
    assert list(EpochShuffle(range(20), seed=2)) != list(EpochShuffle(range(20), seed=1))


def test_view_shuffle_shows_every_image_once_as_one_of_its_views():
    s = ViewShuffle(num_images=30, views=4, seed=0)
    s.set_epoch(2)
    items = list(s)
    assert len(items) == len(s) == 30
    assert sorted(i // 4 for i in items) == list(range(30))
    assert list(s) == items  # same epoch, same draw
    s.set_epoch(3)
    other = list(s)
    assert [i % 4 for i in other] != [i % 4 for i in items]
    assert len({i % 4 for i in items + other}) == 4  # all views get used


def test_view_shuffle_uses_every_view_before_repeating_one():
    s = ViewShuffle(num_images=50, views=4, seed=5)
    seen: dict[int, list[int]] = {i: [] for i in range(50)}
    for epoch in range(8):  # two cycles of 4 epochs
        s.set_epoch(epoch)
        for item in s:
            seen[item // 4].append(item % 4)
    for views in seen.values():
        assert sorted(views[:4]) == [0, 1, 2, 3] and sorted(views[4:]) == [0, 1, 2, 3]
    # the second cycle goes through the views in other orders
    assert sum(v[:4] != v[4:] for v in seen.values()) > 40


def test_view_shuffle_offset_continues_where_the_parent_stopped():
    parent, child = ViewShuffle(40, views=8, seed=3), ViewShuffle(40, views=8, seed=3, offset=4)
    shown: dict[int, list[int]] = {i: [] for i in range(40)}
    for epoch in range(4):
        parent.set_epoch(epoch)
        for item in parent:
            shown[item // 8].append(item % 8)
    parent.set_epoch(4)
    child.set_epoch(0)  # a new run's first epoch is the parent's fifth
    assert list(child) == list(parent)
    assert list(ViewShuffle(40, 8, 3, offset=4)) == list(child)  # before any set_epoch too
    for epoch in range(4):
        child.set_epoch(epoch)
        for item in child:
            shown[item // 8].append(item % 8)
    assert all(sorted(v) == list(range(8)) for v in shown.values())  # no view twice
