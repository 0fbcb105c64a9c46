"""``ferkit data``: info/convert/formats, and every bad input → exit 1 and one clear line."""

from __future__ import annotations

import json

import pytest

from ferkit.data.synthetic import make_fer2013_csv, make_folder_dataset


def one_error_line(code, out, err):
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and out == ""
    return lines[0]


def test_info_table_and_json(cli, tmp_path):
    root = make_folder_dataset(tmp_path / "fer", n_per_class=[1, 2, 3, 4, 5, 6, 7])
    code, out, err = cli("data", "info", root)
    assert code == 0 and "fer2013_folder" in out and "48x48" in out
    code, out, err = cli("data", "info", root, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["format"] == "fer2013_folder" and doc["total"] == 56
    assert doc["splits"]["val"]["counts"]["neutral"] == 7
    assert doc["splits"]["train"]["counts"]["angry"] == 1
    assert "class imbalance" in err  # 7 vs 1


def test_formats(cli):
    code, out, _ = cli("data", "formats", "--json")
    assert code == 0 and {d["name"] for d in json.loads(out)} >= {"fer2013_csv", "rafdb"}


def test_convert_cli_roundtrip(cli, tmp_path):
    src = make_fer2013_csv(tmp_path / "a.csv", n_per_class=1)
    code, out, err = cli("data", "convert", src, "--to", "folder", "--output", tmp_path / "f",
                         "--json")
    assert code == 0 and json.loads(out)["counts"] == {"train": 7, "val": 7, "test": 7}
    code, _, err = cli("data", "convert", tmp_path / "f", "--to", "csv", "--output",
                       tmp_path / "b.csv")
    assert code == 0 and (tmp_path / "b.csv").is_file()
    code, out, err = cli("data", "convert", tmp_path / "f", "--to", "csv", "--output",
                         tmp_path / "b.csv")
    assert "--force" in one_error_line(code, out, err)
    assert cli("data", "convert", tmp_path / "f", "--to", "csv", "--output", tmp_path / "b.csv",
               "--force")[0] == 0


def test_nonexistent_path(cli, tmp_path):
    line = one_error_line(*cli("data", "info", tmp_path / "nope"))
    assert "does not exist" in line


def test_empty_folder(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    assert "is empty" in one_error_line(*cli("data", "info", tmp_path / "empty"))


def test_any_class_folder_names_are_classes(cli, tmp_path):
    root = make_folder_dataset(tmp_path / "x", classes=["cats", "dogs"], n_per_class=1,
                               flat=True, splits=("train",))
    code, out, _ = cli("data", "info", root, "--json")
    assert code == 0 and json.loads(out)["classes"] == ["cats", "dogs"]


@pytest.mark.parametrize("fmt", [None, "image_folder"])
def test_class_folders_without_images(cli, tmp_path, fmt):
    for name in ("cats", "dogs"):
        (tmp_path / "x" / name).mkdir(parents=True)
        (tmp_path / "x" / name / "notes.txt").write_text("no images here")
    args = ["data", "info", tmp_path / "x"] + (["--format", fmt] if fmt else [])
    line = one_error_line(*cli(*args))
    assert "x" in line


def test_csv_missing_columns(cli, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("label,image\n0,1 2 3\n")
    line = one_error_line(*cli("data", "info", path))
    assert "bad.csv" in line and "missing column(s) emotion, pixels" in line


def test_csv_wrong_pixel_count_and_nothing_written(cli, tmp_path):
    path = make_fer2013_csv(tmp_path / "bad.csv", n_per_class=1)
    lines = path.read_text().splitlines()
    emotion, pixels, usage = lines[3].split(",")
    lines[3] = f"{emotion},{pixels.rsplit(' ', 1)[0]},{usage}"
    path.write_text("\n".join(lines) + "\n")
    line = one_error_line(*cli("data", "info", path))
    assert "line 4 has 2303 pixel values, expected 2304" in line
    dest = tmp_path / "out"
    one_error_line(*cli("data", "convert", path, "--to", "folder", "--output", dest))
    assert not dest.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_csv_non_integer_pixel(cli, tmp_path):
    path = make_fer2013_csv(tmp_path / "bad.csv", n_per_class=1)
    text = path.read_text().splitlines()
    emotion, pixels, usage = text[5].split(",")
    text[5] = f"{emotion},1.5 {pixels.split(' ', 1)[1]},{usage}"
    path.write_text("\n".join(text) + "\n")
    assert "line 6: pixel value '1.5'" in one_error_line(*cli("data", "info", path))


@pytest.mark.parametrize("name,content", [
    ("corrupt.jpg", b"\xff\xd8\xff\xe0 truncated"),
    ("zero.png", b""),
    ("notes.txt", b"hello"),
])
def test_bad_file_inside_dataset_is_skipped_with_warning(cli, tmp_path, name, content):
    root = make_folder_dataset(tmp_path / "fer", n_per_class=1)
    (root / "train" / "happy" / name).write_bytes(content)
    code, out, err = cli("data", "info", root, "--json")
    assert code == 0 and "Traceback" not in err
    assert any(name in ln and ln.startswith("warning: skipped") for ln in err.splitlines())
    doc = json.loads(out)
    assert doc["total"] == 14 and [s["file"].endswith(name) for s in doc["skipped"]] == [True]


def test_unknown_format_name(cli, tmp_path):
    root = make_folder_dataset(tmp_path / "fer", n_per_class=1)
    line = one_error_line(*cli("data", "info", root, "--format", "fer2013_csvv"))
    assert "unknown dataset format 'fer2013_csvv'" in line and "did you mean" in line


def test_bad_color(cli, tmp_path):
    root = make_folder_dataset(tmp_path / "fer", n_per_class=1)
    line = one_error_line(*cli("data", "convert", root, "--to", "folder", "--output",
                               tmp_path / "o", "--color", "blue"))
    assert "color" in line and not (tmp_path / "o").exists()
