"""Dataset adapters, manifest IO, split-overlap check and `umcl fetch`, on fixture trees of empty files.

The FF++ and Celeb-DF trees are built from the REAL official split files / test list
(``../shared/reference`` beside the checkout, shipped in umcl/data/adapters/splits/).
"""

from __future__ import annotations

import json
import socket
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from umcl.cli import main
from umcl.data import fetch
from umcl.data.adapters import build_records
from umcl.data.adapters.celebdf import celebdf_records, packaged_test_list, read_test_list
from umcl.data.adapters.common import assign_groups
from umcl.data.adapters.dfdc import dfdc_records
from umcl.data.adapters.faceforensics import FF_METHODS, dfd_records, ff_records, packaged_ff_splits
from umcl.data.manifest import VideoRecord, check_no_split_overlap, filter_rows, read_manifest, to_frame, write_manifest
from umcl.errors import UmclError

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference"
"""The project's shared reference files: ``../shared/reference`` beside the repository root."""


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def official_pairs() -> dict[str, list[list[str]]]:
    return {s: json.loads((packaged_ff_splits() / f"{s}.json").read_text()) for s in ("train", "val", "test")}


def make_ff_tree(root: Path, pairs: dict[str, list[list[str]]], methods=FF_METHODS, comp: str = "c23") -> None:
    for plist in pairs.values():
        for a, b in plist:
            for vid in (a, b):
                touch(root / "original_sequences/youtube" / comp / "videos" / f"{vid}.mp4")
            for m in methods:
                for x, y in ((a, b), (b, a)):
                    touch(root / "manipulated_sequences" / m / comp / "videos" / f"{x}_{y}.mp4")


@pytest.fixture(scope="module")
def ff_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ffpp")
    make_ff_tree(root, official_pairs())
    return root


def small_pairs() -> dict[str, list[list[str]]]:
    return {"train": [["a0", "a1"], ["a2", "a3"]], "val": [["b0", "b1"]], "test": [["c0", "c1"]]}


def write_splits(folder: Path, pairs) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for s, plist in pairs.items():
        (folder / f"{s}.json").write_text(json.dumps(plist))
    return folder


# ---------------------------------------------------------------- shipped copies are the real files


@pytest.mark.skipif(
    not REFERENCE.is_dir(),
    reason=f"no reference folder at {REFERENCE} (../shared/reference "
    "beside the checkout); the shipped split files cannot be compared with the originals",
)
def test_shipped_split_files_are_the_official_ones():
    for s in ("train", "val", "test"):
        assert (packaged_ff_splits() / f"{s}.json").read_bytes() == (
            REFERENCE / "faceforensics_splits" / f"{s}.json"
        ).read_bytes()
    assert packaged_test_list().read_bytes() == (REFERENCE / "celeb_df_v2/List_of_testing_videos.txt").read_bytes()


# ---------------------------------------------------------------- FF++


def test_ffpp_official_split_counts(ff_root):
    result = ff_records(ff_root)  # no ROOT/splits: the shipped official files
    assert not result.missing and not result.excluded
    rows = result.records
    for split, n in {"train": 720, "val": 140, "test": 140}.items():
        counts = Counter(r.method for r in rows if r.split == split)
        assert counts == {"original": n, **{m: n for m in FF_METHODS}}
    assert all(r.label == (r.method != "original") for r in rows)
    assert {r.compression for r in rows} == {"c23"}
    check_no_split_overlap(rows)
    split_of_id = defaultdict(set)
    for r in rows:
        for vid in r.id.split("_"):
            split_of_id[vid].add(r.split)
    assert len(split_of_id) == 1000 and all(len(s) == 1 for s in split_of_id.values())


def test_ffpp_keys_unique_and_paths_exist(ff_root):
    rows = ff_records(ff_root, methods=["Deepfakes"]).records
    assert len({r.key for r in rows}) == len(rows) == 2000
    assert rows[0].key.startswith("ff++/") and all(Path(r.path).is_file() for r in rows[:50])
    assert filter_rows(rows, split="test", methods=["original"]) and len(filter_rows(rows, split="val")) == 280


def test_splits_precedence_and_synthff(tmp_path):
    root = tmp_path / "synth"
    make_ff_tree(root, small_pairs(), methods=["SwapA"], comp="raw")
    write_splits(root / "splits", small_pairs())
    rows = ff_records(root, dataset="synthff").records  # method folders discovered
    assert {r.method for r in rows} == {"original", "SwapA"} and {r.dataset for r in rows} == {"synthff"}
    assert Counter(r.split for r in rows) == {"train": 8, "val": 4, "test": 4}
    assert {r.group for r in rows if r.id == "a0_a1"} == {"a0|a1"}
    moved = {"train": [["a0", "a1"]], "val": [["a2", "a3"], ["b0", "b1"]], "test": [["c0", "c1"]]}
    rows = ff_records(root, dataset="synthff", splits_dir=write_splits(tmp_path / "other", moved)).records
    assert {r.split for r in rows if r.id.startswith("a2")} == {"val"}  # explicit --splits-dir wins


def test_synthff_needs_its_own_splits(tmp_path):
    make_ff_tree(tmp_path, small_pairs(), methods=["SwapA"])
    with pytest.raises(UmclError, match="split file not found"):
        ff_records(tmp_path, dataset="synthff")


def test_missing_videos_reported_not_dropped(tmp_path):
    make_ff_tree(tmp_path, small_pairs(), methods=["Deepfakes"])
    write_splits(tmp_path / "splits", small_pairs())
    gone = tmp_path / "manipulated_sequences/Deepfakes/c23/videos/c0_c1.mp4"
    gone.unlink()
    touch(tmp_path / "original_sequences/youtube/c23/videos/zz.mp4")
    with pytest.raises(UmclError, match="1 expected video"):
        ff_records(tmp_path, methods=["Deepfakes"])
    result = ff_records(tmp_path, methods=["Deepfakes"], allow_missing=True)
    assert result.missing == [str(gone)]
    assert result.excluded == {"on disk but in no split file": 1}
    assert len(result.records) == 15 and "1 expected but missing" in result.summary()


def test_requested_compression_absent_is_missing(tmp_path):
    make_ff_tree(tmp_path, small_pairs(), methods=["Deepfakes"])
    write_splits(tmp_path / "splits", small_pairs())
    with pytest.raises(UmclError, match="16 expected video"):
        ff_records(tmp_path, methods=["Deepfakes"], compressions=["c23", "c40"])


@pytest.mark.parametrize(
    "content,match",
    [
        ('[["000", "001"]', "not valid JSON"),
        ('{"a": 1}', "list of \\[a, b\\] pairs"),
        ('[["000"]]', "list of \\[a, b\\] pairs"),
    ],
)
def test_malformed_split_file(tmp_path, content, match):
    make_ff_tree(tmp_path, small_pairs(), methods=["Deepfakes"])
    write_splits(tmp_path / "splits", small_pairs())
    (tmp_path / "splits/val.json").write_text(content)
    with pytest.raises(UmclError, match=match) as err:
        ff_records(tmp_path)
    assert "val.json" in str(err.value) and "\n" not in str(err.value)


def test_id_in_two_split_files_is_an_error(tmp_path):
    bad = {**small_pairs(), "test": [["a0", "c1"]]}
    make_ff_tree(tmp_path, small_pairs(), methods=["Deepfakes"])
    write_splits(tmp_path / "splits", bad)
    with pytest.raises(UmclError, match="a0 occurs twice"):
        ff_records(tmp_path)


def test_missing_root_is_one_line(tmp_path):
    for dataset in ("ff++", "dfd", "celebdf", "dfdc"):
        with pytest.raises(UmclError, match="not found") as err:
            build_records(dataset, tmp_path / "nope")
        assert "\n" not in str(err.value) and str(tmp_path / "nope") in str(err.value)


def test_unknown_ffpp_method(ff_root):
    with pytest.raises(UmclError, match="unknown FF\\+\\+ method"):
        ff_records(ff_root, methods=["Deepfake"])


# ---------------------------------------------------------------- DFD


def make_dfd_tree(root: Path, n_actors: int = 28, comps=("c23",)) -> None:
    scenes = ["talking_angry_couch", "walking_outside", "kitchen_pan"]
    for c in comps:
        for a in range(1, n_actors + 1):
            for sc in scenes:
                touch(root / f"original_sequences/actors/{c}/videos/{a:02d}__{sc}.mp4")
                for b in (a % n_actors + 1, (a + 6) % n_actors + 1):
                    touch(
                        root / f"manipulated_sequences/DeepFakeDetection/{c}/videos/{a:02d}_{b:02d}__{sc}__X1Y2Z3.mp4"
                    )


def test_dfd_no_actor_in_two_splits(tmp_path):
    make_dfd_tree(tmp_path)
    result = dfd_records(tmp_path)
    rows = result.records
    splits_of_actor = defaultdict(set)
    for r in rows:
        for actor in r.id.split("__")[0].split("_"):
            splits_of_actor[actor].add(r.split)
    assert all(len(s) == 1 for s in splits_of_actor.values())
    check_no_split_overlap(rows)
    reals = Counter(r.split for r in rows if r.method == "actors")
    assert sum(reals.values()) == 84 and set(reals) == {"train", "val", "test"}
    assert abs(reals["train"] / 84 - 0.70) < 0.1
    dropped = next(iter(result.excluded.values()))
    assert dropped + sum(r.label for r in rows) == 168 and dropped > 0
    assert rows == dfd_records(tmp_path).records  # deterministic


def test_dfd_target_grouping_keeps_all_fakes(tmp_path):
    make_dfd_tree(tmp_path, comps=("c23", "c40"))
    rows = dfd_records(tmp_path, grouping="target").records
    assert sum(r.label for r in rows) == 2 * 168 and not dfd_records(tmp_path, grouping="target").excluded
    check_no_split_overlap(rows)
    by_id = defaultdict(set)
    for r in rows:
        by_id[r.id].add(r.split)
    assert all(len(s) == 1 for s in by_id.values())  # same split at every compression


def test_dfd_bad_file_name(tmp_path):
    make_dfd_tree(tmp_path, n_actors=3)
    touch(tmp_path / "original_sequences/actors/c23/videos/someone.mp4")
    with pytest.raises(UmclError, match="someone"):
        dfd_records(tmp_path)


def test_assign_groups_is_deterministic_and_balanced():
    sizes = {f"g{i}": 1 + i % 5 for i in range(300)}
    a = assign_groups(sizes, {"train": 0.7, "val": 0.15, "test": 0.15}, "s")
    assert a == assign_groups(dict(reversed(sizes.items())), {"train": 0.7, "val": 0.15, "test": 0.15}, "s")
    total = sum(sizes.values())
    share = Counter()
    for g, s in a.items():
        share[s] += sizes[g]
    assert abs(share["train"] / total - 0.7) < 0.02 and abs(share["test"] / total - 0.15) < 0.02


# ---------------------------------------------------------------- Celeb-DF


@pytest.fixture()
def celeb_root(tmp_path) -> Path:
    for _, rel in read_test_list(packaged_test_list()):
        touch(tmp_path / rel)
    for i in (14, 15, 18, 60):  # identities absent from the test list
        for n in range(3):
            touch(tmp_path / f"Celeb-real/id{i}_{n:04d}.mp4")
            touch(tmp_path / f"Celeb-synthesis/id{i}_id{(i + 1) % 61}_{n:04d}.mp4")
    touch(tmp_path / "Celeb-real/id0_0100.mp4")  # a test identity, an unused clip
    for n in range(900, 920):
        touch(tmp_path / f"YouTube-real/{n:05d}.mp4")
    return tmp_path


def test_celebdf_official_test_split(celeb_root):
    result = celebdf_records(celeb_root)
    rows = result.records
    test = [r for r in rows if r.split == "test"]
    assert Counter(r.label for r in test) == {0: 178, 1: 340}  # list says 1 = real; we store 1 = fake
    assert {r.method for r in test if r.label == 1} == {"Celeb-synthesis"}
    check_no_split_overlap(rows)
    train_val = [r for r in rows if r.split != "test"]
    assert len(train_val) == 24 + 1 + 20 and not result.missing and not result.excluded
    idents = defaultdict(set)
    for r in train_val:
        idents[r.id.split("_")[0] if r.id.startswith("id") else r.id].add(r.split)
    assert all(len(s) == 1 for s in idents.values()) and {"train", "val"} <= {r.split for r in train_val}


def test_celebdf_excludes_videos_sharing_a_test_clip(celeb_root):
    test_rel = next(rel for lab, rel in read_test_list(packaged_test_list()) if rel.startswith("Celeb-real"))
    ident, number = Path(test_rel).stem.split("_")
    touch(celeb_root / f"Celeb-synthesis/{ident}_id99_{number}.mp4")  # made from a test clip
    result = celebdf_records(celeb_root)
    assert sum(result.excluded.values()) == 1
    assert f"{ident}_id99_{number}" not in {r.id for r in result.records}


def test_celebdf_missing_test_video_and_bad_list(celeb_root, tmp_path_factory):
    (celeb_root / "YouTube-real/00170.mp4").unlink()
    with pytest.raises(UmclError, match="1 expected video"):
        celebdf_records(celeb_root)
    assert celebdf_records(celeb_root, allow_missing=True).missing == [str(celeb_root / "YouTube-real/00170.mp4")]
    bad = tmp_path_factory.mktemp("list") / "list.txt"
    bad.write_text("1 Celeb-synthesis/id0_id1_0000.mp4\n")
    with pytest.raises(UmclError, match="contradicts"):
        celebdf_records(celeb_root, test_list=bad)


# ---------------------------------------------------------------- DFDC


def make_dfdc_tree(root: Path, n_orig: int = 60, parts: int = 2) -> None:
    for p in range(parts):
        meta = {}
        for i in range(n_orig):
            real = f"p{p}r{i:03d}.mp4"
            meta[real] = {"label": "REAL", "split": "train", "original": None}
            for k in range(i % 4):
                meta[f"p{p}f{i:03d}{k}.mp4"] = {"label": "FAKE", "split": "train", "original": real}
        part = root / f"dfdc_train_part_{p}"
        part.mkdir(parents=True)
        (part / "metadata.json").write_text(json.dumps(meta))
        for name in meta:
            (part / name).touch()


def test_dfdc_grouped_by_original(tmp_path):
    make_dfdc_tree(tmp_path)
    rows = dfdc_records(tmp_path).records
    assert len(rows) == 2 * (60 + sum(i % 4 for i in range(60)))
    split_of = {r.id: r.split for r in rows}
    for r in rows:
        assert split_of[r.group] == r.split  # a fake sits with its original
    check_no_split_overlap(rows)
    share = Counter(r.split for r in rows)
    assert abs(share["train"] / len(rows) - 0.7) < 0.05 and abs(share["test"] / len(rows) - 0.1) < 0.05
    assert {r.method for r in rows} == {"original", "manipulated"} and {r.compression for r in rows} == {"orig"}


def test_dfdc_public_test_and_errors(tmp_path):
    make_dfdc_tree(tmp_path, n_orig=20, parts=1)
    (tmp_path / "test").mkdir()
    (tmp_path / "test/labels.csv").write_text("filename,label\naaa.mp4,1\nbbb.mp4,0\n")
    (tmp_path / "test/aaa.mp4").touch()
    (tmp_path / "test/bbb.mp4").touch()
    assert dfdc_records(tmp_path).excluded  # paper split: public test set ignored, but reported
    rows = dfdc_records(tmp_path, test_mode="public").records
    assert {(r.id, r.label) for r in rows if r.split == "test"} == {("aaa", 1), ("bbb", 0)}
    (tmp_path / "dfdc_train_part_0/metadata.json").write_text("{not json")
    with pytest.raises(UmclError, match="metadata.json.*not valid JSON"):
        dfdc_records(tmp_path)


# ---------------------------------------------------------------- manifest IO


def rec(split="train", id="000", method="original", label=0, group="", compression="c23") -> VideoRecord:
    return VideoRecord("ff++", method, compression, split, label, f"/data/{method}/{id}.mp4", id, group)


def test_manifest_roundtrip_and_columns(tmp_path):
    rows = [
        rec(),
        rec(id="000_001", method="Deepfakes", label=1, group="000|001"),
        VideoRecord("ff++", "original", "c23", "val", 0, "videos/002.mp4", "002"),
    ]
    out = write_manifest(rows, tmp_path / "m.csv")
    header = out.read_text().splitlines()[0]
    assert header == "dataset,method,compression,split,label,path,id,group"
    back = read_manifest(out)
    assert back[:2] == rows[:2] and back[2].path == str((tmp_path / "videos/002.mp4").resolve())
    assert back[0].id == "000" and list(to_frame(back)["key"])[0] == "ff++/original/c23/000"


def test_preprocessed_manifest_columns(tmp_path):
    row = VideoRecord(
        "ff++",
        "original",
        "c23",
        "test",
        0,
        "/v/000.mp4",
        "000",
        "000",
        cache="/c/0.npz",
        status="ok",
        n_frames=160,
        detection_rate=0.98,
    )
    failed = VideoRecord("ff++", "original", "c23", "test", 0, "/v/001.mp4", "001", status="failed", reason="no face")
    out = write_manifest([row, failed], tmp_path / "p.csv")
    assert out.read_text().splitlines()[0].endswith("id,group,key,cache,status,reason,n_frames,detection_rate")
    assert read_manifest(out) == [row, failed]


@pytest.mark.parametrize(
    "edit,match",
    [
        (lambda t: t.replace(",split,", ",splitt,"), "lacks column\\(s\\) split"),
        (lambda t: t.replace(",train,0,", ",train,2,"), "label"),
        (lambda t: t.replace(",train,", ",training,"), "split 'training'"),
        (lambda t: t + t.splitlines()[1] + "\n", "appears twice"),
    ],
)
def test_bad_manifest_is_one_line_error(tmp_path, edit, match):
    path = write_manifest([rec(), rec(id="001")], tmp_path / "m.csv")
    path.write_text(edit(path.read_text()))
    with pytest.raises(UmclError, match=match) as err:
        read_manifest(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_missing_manifest(tmp_path):
    with pytest.raises(UmclError, match="manifest not found"):
        read_manifest(tmp_path / "none.csv")


def test_split_overlap_detected():
    check_no_split_overlap([rec("train", "000"), rec("test", "001")])
    with pytest.raises(UmclError, match="'000' in test,train"):
        check_no_split_overlap([rec("train", "000"), rec("test", "000", compression="c40")])
    with pytest.raises(UmclError, match="'001'"):
        check_no_split_overlap(
            [rec("train", "001"), rec("test", "000_001", "Deepfakes", 1, "000|001"), rec("test", "000")]
        )


# ---------------------------------------------------------------- CLI


def test_cli_manifest_writes_and_fails_cleanly(ff_root, tmp_path, capsys):
    out = tmp_path / "m.csv"
    assert (
        main(
            [
                "manifest",
                "--dataset",
                "ff++",
                "--root",
                str(ff_root),
                "--out",
                str(out),
                "--methods",
                "Deepfakes",
                "FaceSwap",
                "--compressions",
                "c23",
            ]
        )
        == 0
    )
    rows = read_manifest(out)
    assert len(rows) == 3000 and Counter(r.split for r in rows)["test"] == 420
    bad = tmp_path / "bad.csv"
    assert main(["manifest", "--dataset", "ff++", "--root", str(tmp_path / "nope"), "--out", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("umcl manifest: error:") and "fix:" in err[-1] and not bad.exists()
    assert list(tmp_path.iterdir()) == [out]  # no partial or temporary files


# ---------------------------------------------------------------- fetch


@pytest.fixture()
def no_network(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_fetch_prints_instructions(no_network, capsys, monkeypatch):
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("ran a command"))
    for dataset in fetch.FETCH_DATASETS:
        assert main(["fetch", "--dataset", dataset]) == 0
        text = capsys.readouterr().out
        assert "http" in text and "ROOT" in text
    assert main(["fetch", "--dataset", "ff++", "--compressions", "c40"]) == 0
    assert "-c <level> -t videos" in capsys.readouterr().out


def test_fetch_verifies_counts(no_network, ff_root, tmp_path, capsys):
    assert main(["fetch", "--dataset", "ff++", "--root", str(ff_root)]) == 0
    assert "5/5 folders complete" in capsys.readouterr().out
    make_ff_tree(tmp_path, small_pairs(), methods=["Deepfakes"])
    assert main(["fetch", "--dataset", "ff++", "--root", str(tmp_path)]) == 1
    text = capsys.readouterr().out
    assert "MISSING      8/1000" in text and "0/5 folders complete" in text and "Google form" in text
    checks = fetch.verify("celebdf", tmp_path)
    assert [c.ok for c in checks] == [False] * 4


def test_fetch_script_runs_only_with_yes(no_network, tmp_path, capsys):
    script = tmp_path / "download-FaceForensics.py"
    log = tmp_path / "calls.txt"
    script.write_text(f"import sys\nopen({str(log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n")
    args = [
        "fetch",
        "--dataset",
        "dfd",
        "--script",
        str(script),
        "--root",
        str(tmp_path / "data"),
        "--compressions",
        "c40",
    ]
    assert main(args) == 0
    assert "Add --yes" in capsys.readouterr().out and not log.exists()
    (tmp_path / "data").mkdir()
    assert main(args + ["--yes"]) == 1  # ran the script, then verification finds nothing
    assert "MISSING      0/363" in capsys.readouterr().out
    calls = log.read_text().splitlines()
    assert calls == [
        f"{tmp_path / 'data'} -d DeepFakeDetection_original -c c40 -t videos",
        f"{tmp_path / 'data'} -d DeepFakeDetection -c c40 -t videos",
    ]
    assert main(["fetch", "--dataset", "ff++", "--script", str(tmp_path / "none.py"), "--root", "x"]) == 2
    assert "download script not found" in capsys.readouterr().err
