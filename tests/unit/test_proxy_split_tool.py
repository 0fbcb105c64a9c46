"""``tools/proxy_split.py``: the val-half proxy that judges a train+val fine-tune before it runs."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def tool(load_tool):
    return load_tool("proxy_split")


def _dataset(root: Path) -> Path:
    for split, n in (("train", 4), ("val", 7)):
        for cls in ("happy", "sad"):
            (root / split / cls).mkdir(parents=True)
            for i in range(n if cls == "happy" else n - 2):
                (root / split / cls / f"{split}_{cls}_{i}.png").write_bytes(b"x")
    return root


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.rglob("*.png")}


def test_halves_are_stratified_disjoint_and_linked(tool, tmp_path):
    data, out = _dataset(tmp_path / "d"), tmp_path / "proxy"
    assert tool.main([str(data), str(out), "--seed", "0"]) == 0
    b = _names(out / "train_only" / "val")
    assert b == _names(out / "train_plus_a" / "val")  # both measured on the same half B
    a = _names(out / "train_plus_a" / "train") - _names(data / "train")
    assert _names(out / "train_only" / "train") == _names(data / "train")
    assert a and b and not a & b and a | b == _names(data / "val")
    # per class: half (rounded down) goes to A, so B keeps every class
    assert len([n for n in a if "_happy_" in n]) == 3 and len([n for n in a if "_sad_" in n]) == 2
    link = next((out / "train_plus_a" / "train" / "happy").iterdir())
    assert link.is_symlink() and link.resolve().is_file()  # links, never copies of the images
    again = tmp_path / "again"
    assert tool.main([str(data), str(again), "--seed", "0"]) == 0
    assert _names(again / "train_only" / "val") == b  # the seed fixes the cut


def test_refuses_a_dataset_without_val_and_a_full_output(tool, tmp_path, capsys):
    data = _dataset(tmp_path / "d")
    assert tool.main([str(tmp_path / "d" / "train"), str(tmp_path / "o")]) == 1
    assert "is not a folder" in capsys.readouterr().err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert tool.main([str(data), str(tmp_path / "full")]) == 1
    assert "exists and is not empty" in capsys.readouterr().err
