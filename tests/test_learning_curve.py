"""benchmarks/learning_curve.py: the training split is cut by pairs, validation and test never."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("learning_curve", ROOT / "benchmarks" / "learning_curve.py")
lc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lc)


def manifest(pairs_by_split: dict[str, list[tuple[str, str]]]) -> list[dict[str, str]]:
    """FF++-layout rows: each pair's 2 originals and, per method, its 2 fakes (a_b and b_a)."""
    rows = []
    for split, pairs in pairs_by_split.items():
        for a, b in pairs:
            rows += [
                dict(split=split, id=i, label="0", n_frames="32", method="original", compression="c23") for i in (a, b)
            ]
            for m in ("Deepfakes", "FaceSwap"):
                rows += [
                    dict(split=split, id=f"{x}_{y}", label="1", n_frames="32", method=m, compression="c23")
                    for x, y in ((a, b), (b, a))
                ]
    return rows


def test_cut_keeps_the_first_pairs_of_train_and_all_of_val_and_test(tmp_path: Path) -> None:
    splits = {
        "train": [("014", "013"), ("005", "012"), ("027", "019")],
        "val": [("001", "002")],
        "test": [("003", "004"), ("006", "007")],
    }
    (tmp_path / "train.json").write_text(json.dumps([list(p) for p in splits["train"]]))
    pairs = lc.training_pairs(tmp_path)
    assert pairs == splits["train"]
    full = manifest(splits)
    cut = lc.cut_manifest(full, pairs[:2])
    train = [r for r in cut if r["split"] == "train"]
    assert sorted(r["id"] for r in train if r["label"] == "0") == ["005", "012", "013", "014"]
    assert sorted({r["id"] for r in train if r["label"] == "1"}) == ["005_012", "012_005", "013_014", "014_013"]
    assert len(train) == 2 * (2 + 4)  # per pair: 2 originals + 2 methods x 2 fakes
    for split in ("val", "test"):
        assert [r for r in cut if r["split"] == split] == [r for r in full if r["split"] == split]
    assert not any("027" in r["id"] or "019" in r["id"] for r in train)
    # written back with the columns and text untouched (no 32 -> 32.0)
    lc.write_rows(cut, list(full[0]), tmp_path / "cut.csv")
    assert "32.0" not in (tmp_path / "cut.csv").read_text() and ",32," in (tmp_path / "cut.csv").read_text()


def test_relative_cache_paths_are_written_absolute(tmp_path: Path) -> None:
    rows = [dict(split="train", id="001", label="0", cache="cache/a/001.npz", path="/abs/001.mp4")]
    lc.write_rows(rows, list(rows[0]), tmp_path / "out.csv", base=tmp_path / "data")
    text = (tmp_path / "out.csv").read_text()
    assert str((tmp_path / "data" / "cache/a/001.npz").resolve()) in text and "/abs/001.mp4" in text


@pytest.mark.parametrize(
    "name, train, compressions", [("learning-curve", 18, ["raw", "c23"]), ("learning-curve-c40", 30, ["raw", "c40"])]
)
def test_learning_curve_profile_is_valid_and_extends_the_default_training_pairs(
    name: str, train: int, compressions: list[str]
) -> None:
    """Each learning-curve profile validates, has more training pairs than the default and the default's
    test split (the same 22 real + 88 fake test videos per compression), on the compressions it studies."""
    from umcl.cli import main
    from umcl.config import load_config
    from umcl.specs.splits import split_pairs

    def sizes(path: Path) -> dict[str, int]:
        s = load_config(path)["synthff"]
        pairs = [(2 * i, 2 * i + 1) for i in range(s["n_identities"] // 2)]
        return {k: len(v) for k, v in split_pairs(pairs, s["val_fraction"], s["test_fraction"]).items()}

    profile = ROOT / "config" / "studies" / "learning-curve" / f"{name}.yaml"
    assert main(["validate-config", "--config", str(profile)]) == 0
    default = sizes(ROOT / "config" / "default.yaml")
    study = sizes(profile)
    assert study == {"train": train, "val": 4, "test": 11}
    assert load_config(profile)["workflow"]["compressions"] == compressions
    assert default == {"train": 12, "val": 4, "test": 11}  # docs/results/learning-curves.md sized it
    assert study["train"] > default["train"] and study["test"] == default["test"]


def test_bad_inputs_give_one_line_errors_and_touch_nothing(tmp_path: Path) -> None:

    with pytest.raises(SystemExit, match=r"preprocessed.csv: not found"):
        (tmp_path / "res").mkdir()
        (tmp_path / "res" / "config.resolved.yaml").write_text("{}\n")
        lc.check_inputs(tmp_path / "res", needs_pretrained=False)
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit, match="left untouched"):
        lc.check_out(other)
    assert (other / "keep.txt").read_text() == "mine"
    lc.check_out(tmp_path / "new")  # a new folder is fine
    (tmp_path / "curve").mkdir()
    (tmp_path / "curve" / "curve.json").write_text("{}")
    lc.check_out(tmp_path / "curve")  # an earlier curve is resumed
