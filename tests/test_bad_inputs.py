"""Bad inputs as a new user would try them (issue 13): one table, one check for every row.

Each row builds its inputs in a fresh folder, runs the ``umcl`` command in-process (as the other
CLI tests do) and asserts: a non-zero exit; exactly one error line, no traceback; the line names
the file at fault and says how to fix it (``fix:``); and nothing was destroyed or changed in the
folder, nor left behind, except what the row allows (a failed ``umcl train`` keeps its log, which
must then hold the error). Two rows run Snakemake on pipeline arguments.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from _train_fixtures import make_manifest  # registers the toy detector "toy_test"

from umcl.cli import main
from umcl.data.compression import ffmpeg_exe
from umcl.errors import ConfigError
from umcl.training.trainer import Trainer, build_spec
from umcl.workflow import load_profile

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEFAULT = REPO / "config" / "default.yaml"
TOY = {"training": {"epochs": 1, "batch_size": 4, "seed": 0}, "detectors": {"toy_test": {"hidden": 4}}}

pytestmark = pytest.mark.usefixtures("single_thread")


@dataclass
class Shared:
    """Inputs built once: a preprocessed toy manifest and a trained toy run (both read-only here)."""

    manifest: Path
    run: Path


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Shared:
    root = tmp_path_factory.mktemp("shared")
    manifest = make_manifest(root / "data")
    run = root / "run"
    Trainer(build_spec(TOY, "toy_test", manifest, "c23"), run, progress=False).fit()
    return Shared(manifest, run)


# ------------------------------------------------------------------------------ input builders
def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return path


def video(path: Path, size: str = "64x64", frames: int = 20) -> Path:
    """A short grey H.264 clip made with the project's ffmpeg."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"color=c=gray:size={size}:rate=25",
            "-frames:v",
            str(frames),
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        check=True,
    )
    return path


def dataset(root: Path) -> Path:
    """A small FF++ tree (Deepfakes only) that ``umcl manifest`` lists: it must survive any --out mistake."""
    for i, split in enumerate(("train", "val", "test")):
        a, b = f"{2 * i:03d}", f"{2 * i + 1:03d}"
        write(root / "splits" / f"{split}.json", f'[["{a}", "{b}"]]\n')
        for name, folder in (
            (a, "original_sequences/youtube"),
            (b, "original_sequences/youtube"),
            (f"{a}_{b}", "manipulated_sequences/Deepfakes"),
            (f"{b}_{a}", "manipulated_sequences/Deepfakes"),
        ):
            write(root / folder / "raw/videos" / f"{name}.mp4", b"\x00\x00\x00\x18ftypmp42 user video " + name.encode())
    return root


def copy_run(shared: Shared, dst: Path) -> Path:
    shutil.copytree(shared.run, dst)
    return dst


def evaluate(run: Path, shared: Shared, out: Path, *extra: str) -> list[str]:
    return [
        "evaluate",
        "--run",
        str(run),
        "--manifest",
        str(shared.manifest),
        "--test-compression",
        "c23",
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


def train(shared: Shared, out: Path, *extra: str, manifest: Path | None = None) -> list[str]:
    return [
        "train",
        "--detector",
        "toy_test",
        "--manifest",
        str(manifest or shared.manifest),
        "--train-compression",
        "c23",
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


# ------------------------------------------------------------------------------ the table
@dataclass
class Case:
    """One bad input: ``build(tmp, shared) -> (argv, file the message must name)``; ``match`` is a
    regex the error line must match; ``left`` are paths (relative to tmp) a failure may leave."""

    id: str
    build: Callable[[Path, Shared], tuple[list[str], Path]]
    match: str
    left: tuple[str, ...] = ()
    not_in: str | None = None


def _cfg(text: str, extends_default: bool = False) -> Callable[[Path, Shared], tuple[list[str], Path]]:
    def build(tmp: Path, _: Shared) -> tuple[list[str], Path]:
        body = (f"extends: {DEFAULT}\n" if extends_default else "") + text
        cfg = write(tmp / "my.yaml", body)
        return ["validate-config", "--config", str(cfg)], cfg

    return build


def _circular(tmp: Path, _: Shared):
    write(tmp / "b.yaml", "extends: a.yaml\n")
    return [
        "validate-config",
        "--config",
        str(write(tmp / "a.yaml", "extends: b.yaml\ntraining:\n  epochs: 2\n")),
    ], tmp / "b.yaml"


def _self_extends(tmp: Path, _: Shared):
    cfg = write(tmp / "self.yaml", "extends: self.yaml\n")
    return ["validate-config", "--config", str(cfg)], cfg


def _missing_parent(tmp: Path, _: Shared):
    cfg = write(tmp / "child.yaml", "extends: nowhere.yaml\n")
    return ["validate-config", "--config", str(cfg)], tmp / "nowhere.yaml"


def _binary_config(tmp: Path, _: Shared):
    cfg = write(tmp / "cfg.yaml", bytes(range(256)))
    return ["validate-config", "--config", str(cfg)], cfg


def _config_is_folder(tmp: Path, _: Shared):
    (tmp / "configs").mkdir()
    return ["validate-config", "--config", str(tmp / "configs")], tmp / "configs"


def _validate_out_folder(tmp: Path, _: Shared):
    data = dataset(tmp / "DIR")
    return ["validate-config", "--config", str(DEFAULT), "--out", str(data)], data


def _validate_out_checkpoint(tmp: Path, _: Shared):
    ckpt = tmp / "best.pt"
    torch.save({"w": torch.zeros(3)}, ckpt)
    return ["validate-config", "--config", str(DEFAULT), "--out", str(ckpt)], ckpt


def _out_under_a_file(tmp: Path, _: Shared):
    notes = write(tmp / "notes.txt", "my notes\n")
    return ["validate-config", "--config", str(DEFAULT), "--out", str(notes / "resolved.yaml")], notes


def _set_bad(tmp: Path, _: Shared):
    return ["validate-config", "--config", str(DEFAULT), "--set", "training.epochs=-3"], DEFAULT


def _manifest_out_is_root(tmp: Path, _: Shared):
    data = dataset(tmp / "DATA")
    return ["manifest", "--dataset", "ff++", "--root", str(data), "--methods", "Deepfakes", "--out", str(data)], data


def _manifest_out_is_video(tmp: Path, _: Shared):
    data = dataset(tmp / "DATA")
    vid = data / "original_sequences/youtube/raw/videos/000.mp4"
    return ["manifest", "--dataset", "ff++", "--root", str(data), "--methods", "Deepfakes", "--out", str(vid)], vid


def _root_is_file(command: str):
    def build(tmp: Path, _: Shared):
        f = write(tmp / "ff.zip", b"PK\x03\x04 an archive, not yet unpacked")
        if command == "fetch":
            return ["fetch", "--dataset", "ff++", "--root", str(f)], f
        return ["manifest", "--dataset", "ff++", "--root", str(f), "--out", str(tmp / "m.csv")], f

    return build


def _binary_manifest(tmp: Path, _: Shared):
    m = write(tmp / "manifest.csv", b"PK\x03\x04" + bytes(range(256)) * 4)
    return ["preprocess", "--manifest", str(m), "--out", str(tmp / "cache"), "--out-manifest", str(tmp / "pre.csv")], m


def _manifest_is_folder(tmp: Path, shared: Shared):
    (tmp / "m").mkdir()
    return train(shared, tmp / "run", manifest=tmp / "m"), tmp / "m"


def _manifest_lacks_columns(tmp: Path, _: Shared):
    m = write(tmp / "m.csv", "video,label\na.mp4,1\n")
    return ["preprocess", "--manifest", str(m), "--out", str(tmp / "cache"), "--out-manifest", str(tmp / "pre.csv")], m


def _out_manifest_is_cache(tmp: Path, shared: Shared):
    cache = tmp / "cache"
    write(cache / "000.npz", b"PK\x03\x04 a cache")
    return ["preprocess", "--manifest", str(shared.manifest), "--out", str(cache), "--out-manifest", str(cache)], cache


def _out_manifest_is_input(tmp: Path, _: Shared):
    m = write(tmp / "m.csv", "dataset,method,compression,split,label,path,id\n")
    return ["preprocess", "--manifest", str(m), "--out", str(tmp / "cache"), "--out-manifest", str(m)], m


def _cache_out_is_file(tmp: Path, shared: Shared):
    f = write(tmp / "notes.txt", "my notes\n")
    return [
        "preprocess",
        "--manifest",
        str(shared.manifest),
        "--out",
        str(f),
        "--out-manifest",
        str(tmp / "pre.csv"),
    ], f


def _video_is_folder(tmp: Path, _: Shared):
    (tmp / "clip.mp4").mkdir()
    return ["preprocess", str(tmp / "clip.mp4"), "--out", str(tmp / "c")], tmp / "clip.mp4"


def _video_missing(tmp: Path, _: Shared):
    return ["preprocess", str(tmp / "nope.mp4"), "--out", str(tmp / "c")], tmp / "nope.mp4"


def _video_empty(tmp: Path, _: Shared):
    return ["preprocess", str(write(tmp / "e.mp4", b"")), "--out", str(tmp / "c")], tmp / "e.mp4"


def _video_is_text(tmp: Path, _: Shared):
    return ["preprocess", str(write(tmp / "t.mp4", "not a video\n")), "--out", str(tmp / "c")], tmp / "t.mp4"


def _video_8x8(tmp: Path, _: Shared):
    return [
        "preprocess",
        str(video(tmp / "tiny.mp4", "8x8")),
        "--out",
        str(tmp / "c"),
        "--num-frames",
        "8",
    ], tmp / "tiny.mp4"


def _video_too_short(tmp: Path, _: Shared):
    return [
        "preprocess",
        str(video(tmp / "short.mp4", frames=5)),
        "--out",
        str(tmp / "c"),
        "--num-frames",
        "16",
    ], tmp / "short.mp4"


def _evaluate_out_is_run(tmp: Path, shared: Shared):
    run = copy_run(shared, tmp / "R")
    return evaluate(run, shared, run), run


def _evaluate_out_is_dataset(tmp: Path, shared: Shared):
    data = dataset(tmp / "DATA")
    return evaluate(shared.run, shared, data), data


def _corrupt_json(name: str, content: bytes):
    def build(tmp: Path, shared: Shared):
        run = copy_run(shared, tmp / "R")
        (run / name).write_bytes(content)
        return evaluate(run, shared, tmp / "E"), run / name

    return build


def _run_without_best(tmp: Path, shared: Shared):
    run = copy_run(shared, tmp / "R")
    (run / "checkpoints" / "best.pt").unlink()
    return evaluate(run, shared, tmp / "E"), run


def _truncated_best(tmp: Path, shared: Shared):
    run = copy_run(shared, tmp / "R")
    best = run / "checkpoints" / "best.pt"
    best.write_bytes(best.read_bytes()[:100])
    return evaluate(run, shared, tmp / "E"), best


def _evaluate_bad_bootstrap(tmp: Path, shared: Shared):
    cfg = write(tmp / "eval.yaml", "evaluation:\n  n_bootstrap: -5\n")
    return evaluate(shared.run, shared, tmp / "E", "--config", str(cfg)), cfg


def _train_out_is_file(tmp: Path, shared: Shared):
    f = write(tmp / "run.txt", "keep me\n")
    return train(shared, f), f


def _train_out_is_dataset(tmp: Path, shared: Shared):
    data = dataset(tmp / "DATA")
    return train(shared, data), data


def _train_fails_into_log(tmp: Path, shared: Shared):
    m = write(
        tmp / "raw.csv", "dataset,method,compression,split,label,path,id\nsynthff,original,c23,train,0,v/000.mp4,000\n"
    )
    return train(shared, tmp / "run", manifest=m), m


def _train_epochs_flag(tmp: Path, shared: Shared):
    return train(shared, tmp / "run", "--epochs", "-1"), Path("--epochs")


def _train_set_bad(tmp: Path, shared: Shared):
    """The pipeline's train job validates its config in the training process (--set, --config-out)."""
    return train(
        shared,
        tmp / "run",
        "--config",
        str(DEFAULT),
        "--set",
        "training.epochs=-3",
        "--config-out",
        str(tmp / "job.yaml"),
    ), DEFAULT


def _train_config_out_is_checkpoint(tmp: Path, shared: Shared):
    ckpt = tmp / "best.pt"
    torch.save({"w": torch.zeros(3)}, ckpt)
    return train(shared, tmp / "run", "--config", str(DEFAULT), "--config-out", str(ckpt)), ckpt


def _lrnet_pair_incomplete(tmp: Path, shared: Shared):
    weights = tmp / "LRNet_org_weights"
    write(weights / "g1.pth", b"")  # g2.pth missing
    cfg = write(tmp / "lrnet.yaml", f"detectors:\n  lrnet:\n    block_size: 4\n    pretrained_path: {weights}\n")
    return [
        "train",
        "--config",
        str(cfg),
        "--detector",
        "lrnet",
        "--manifest",
        str(shared.manifest),
        "--train-compression",
        "c23",
        "--out",
        str(tmp / "run"),
        "--no-progress",
    ], weights


# ------------------------------------------------------------------------------ issue 29 §3 builders
def _validate_out_is_config(tmp: Path, _: Shared):
    cfg = write(tmp / "my.yaml", f"# my settings\nextends: {DEFAULT}\ntraining:\n  epochs: 2\n")
    return ["validate-config", "--config", str(cfg), "--out", str(cfg)], cfg


def _train_config_out_is_config(tmp: Path, shared: Shared):
    cfg = write(tmp / "my.yaml", "# my settings\ntraining:\n  epochs: 1\n")
    return train(shared, tmp / "run", "--config", str(cfg), "--config-out", str(cfg)), cfg


def _workflow_seed_negative(tmp: Path, _: Shared):
    return ["validate-config", "--config", str(DEFAULT), "--set", "workflow.seeds=[-1]"], DEFAULT


def _train_seed_negative(tmp: Path, shared: Shared):
    return train(shared, tmp / "run", "--seed", "-1"), Path("--seed")


def _stop_after_zero(tmp: Path, shared: Shared):
    return train(shared, tmp / "run", "--stop-after", "0"), Path("--stop-after")


def _report_without_evaluations(tmp: Path, _: Shared):
    return ["report", "table3", "--config", str(DEFAULT), "--out", str(tmp / "reports" / "table3")], DEFAULT


def _unfinished_run(tmp: Path, shared: Shared):
    run = copy_run(shared, tmp / "R")
    info = json.loads((run / "run.json").read_text())
    info["training"]["epochs"] = 3  # one epoch of three done: interrupted, or still training
    (run / "run.json").write_text(json.dumps(info))
    return evaluate(run, shared, tmp / "E"), run


def _foreign_checkpoint(tmp: Path, shared: Shared):
    run = copy_run(shared, tmp / "R")
    best = run / "checkpoints" / "best.pt"
    state = torch.load(best, weights_only=False)
    torch.save({**state, "detector": "xception"}, best)  # same epoch, another detector's file
    return evaluate(run, shared, tmp / "E"), best


def _method_typo(tmp: Path, shared: Shared):
    return train(shared, tmp / "run", "--methods", "Deepfakse"), shared.manifest


def _symlink_loop(tmp: Path, _: Shared):
    (tmp / "b.yaml").symlink_to(tmp / "a.yaml")
    (tmp / "a.yaml").symlink_to(tmp / "b.yaml")
    return ["validate-config", "--config", str(tmp / "a.yaml")], tmp / "a.yaml"


def _video_symlink_loop(tmp: Path, _: Shared):
    (tmp / "b.mp4").symlink_to(tmp / "a.mp4")
    (tmp / "a.mp4").symlink_to(tmp / "b.mp4")
    return ["preprocess", str(tmp / "a.mp4"), "--out", str(tmp / "c")], tmp / "a.mp4"


def _too_many_failed(tmp: Path, _: Shared):
    m = make_manifest(tmp / "data")
    text = m.read_text().splitlines()
    header, rows = text[0], text[1:]
    col = header.split(",").index("status")
    for i, row in enumerate(rows):  # half the training videos "failed" (a full disk during preprocess)
        cells = row.split(",")
        if cells[3] == "train" and i % 2:
            cells[col] = "failed"
            rows[i] = ",".join(cells)
    m.write_text("\n".join([header, *rows]) + "\n")
    return train(Shared(m, Path()), tmp / "run"), m


def _cache_other_length(tmp: Path, _: Shared):
    from _train_fixtures import write_cache

    m = make_manifest(tmp / "data")
    odd = tmp / "data" / "cache" / "original_c23_001.npz"
    odd.unlink()
    write_cache(odd, 0, np.random.default_rng(1), n_frames=6)  # the others have 8
    return train(Shared(m, Path()), tmp / "run"), odd


def _pulse(arr: np.ndarray | None = None, name: str = "crops.npy", *extra: str):
    """``umcl pulse`` on a .npy written from ``arr`` (or on a missing file when None)."""

    def build(tmp: Path, _: Shared):
        path = tmp / name
        if arr is not None:
            np.save(path, arr)
        return ["pulse", str(path), "--out", str(tmp / "p"), *extra], path

    return build


def _pulse_not_npy(tmp: Path, _: Shared):
    path = write(tmp / "crops.npy", "not an array\n")
    return ["pulse", str(path), "--out", str(tmp / "p")], path


def _pulse_out_is_file(tmp: Path, _: Shared):
    np.save(tmp / "crops.npy", np.zeros((160, 8, 8, 3), np.uint8))
    out = write(tmp / "p", "mine\n")
    return ["pulse", str(tmp / "crops.npy"), "--out", str(out)], out


def _pulse_weights_missing(tmp: Path, _: Shared):
    np.save(tmp / "crops.npy", np.zeros((160, 8, 8, 3), np.uint8))
    return ["pulse", str(tmp / "crops.npy"), "--weights", str(tmp / "w.h5"), "--out", str(tmp / "p")], tmp / "w.h5"


def _pulse_video_too_short(tmp: Path, _: Shared):
    return ["pulse", str(video(tmp / "short.mp4", frames=5)), "--out", str(tmp / "p")], tmp / "short.mp4"


CASES = [
    # configs
    Case("circular-extends", _circular, r"circular `extends:`"),
    Case("extends-itself", _self_extends, r"circular `extends:`"),
    Case("extends-missing-file", _missing_parent, r"config file not found"),
    Case("binary-config", _binary_config, r"binary file|not UTF-8"),
    Case("config-is-folder", _config_is_folder, r"is a folder"),
    Case("invalid-yaml", _cfg("training: [epochs: 1\n"), r"not valid YAML"),
    Case("top-level-list", _cfg("- a\n- b\n"), r"top level must be a mapping"),
    Case("extends-not-a-name", _cfg("extends: 5\n"), r"`extends:` must name a YAML file"),
    Case("unknown-key", _cfg("training:\n  epoch: 3\n"), r"epoch"),
    Case("epochs-negative", _cfg("training:\n  epochs: -1\n"), r"training\.epochs must be >= 1"),
    Case("lr-nan", _cfg("training:\n  lr: .nan\n"), r"'training\.lr'.*finite", not_in="lr_min"),
    Case("lr-inf", _cfg("training:\n  lr: .inf\n"), r"'training\.lr'.*finite"),
    Case("level-c99", _cfg("compression:\n  levels: [c99]\n"), r"c99"),
    Case("bootstrap-negative", _cfg("evaluation:\n  n_bootstrap: -5\n"), r"n_bootstrap must be >= 0"),
    Case(
        "synthff-too-few-identities",
        _cfg("synthff:\n  n_identities: 4\n", extends_default=True),
        r"synthff\.n_identities is 4.*at least 6",
    ),
    Case("set-out-of-range", _set_bad, r"with --set training\.epochs=-3: training\.epochs must be >= 1"),
    Case("validate-out-is-folder", _validate_out_folder, r"is a folder.*left untouched"),
    Case("validate-out-is-checkpoint", _validate_out_checkpoint, r"holds a zip file.*left untouched"),
    Case("out-under-a-file", _out_under_a_file, r"Not a directory|File exists"),
    # manifests
    Case("manifest-out-is-root", _manifest_out_is_root, r"is a folder.*left untouched"),
    Case("manifest-out-is-a-video", _manifest_out_is_video, r"holds a mp4 file.*left untouched"),
    Case("manifest-root-is-a-file", _root_is_file("manifest"), r"ff\+\+ root is a file, not a folder"),
    Case("fetch-root-is-a-file", _root_is_file("fetch"), r"dataset root is a file, not a folder"),
    Case("binary-manifest", _binary_manifest, r"manifest is a binary file"),
    Case("manifest-is-folder", _manifest_is_folder, r"manifest is a folder", left=("run", "run/train.log")),
    Case("manifest-lacks-columns", _manifest_lacks_columns, r"lacks column"),
    Case("out-manifest-is-cache-folder", _out_manifest_is_cache, r"is a folder.*left untouched"),
    Case("out-manifest-is-input", _out_manifest_is_input, r"would replace the input"),
    Case("cache-out-is-a-file", _cache_out_is_file, r"exists and is a file"),
    # videos
    Case("video-is-folder", _video_is_folder, r"is a folder, not a video"),
    Case("video-missing", _video_missing, r"video file not found"),
    Case("video-empty", _video_empty, r"video file is empty"),
    Case("video-is-text", _video_is_text, r"no readable video stream"),
    Case("video-8x8", _video_8x8, r"8x8 px, smaller than the smallest face"),
    Case("video-too-short", _video_too_short, r"5 frames but 16 are needed"),
    # umcl pulse
    Case("pulse-input-missing", _pulse(None), r"input not found"),
    Case("pulse-npy-float", _pulse(np.zeros((160, 8, 8, 3), np.float32)), r"float32, not uint8"),
    Case("pulse-npy-grey", _pulse(np.zeros((160, 8, 8), np.uint8)), r"shape \(160, 8, 8\), not \[T, H, W, 3\]"),
    Case("pulse-npy-too-short", _pulse(np.zeros((100, 8, 8, 3), np.uint8)), r"100 frames .* at least 160"),
    Case("pulse-npy-is-text", _pulse_not_npy, r"not a readable NumPy \.npy array"),
    Case(
        "pulse-fps-zero",
        _pulse(np.zeros((160, 8, 8, 3), np.uint8), "crops.npy", "--fps", "0"),
        r"--fps 0\.0 is not a positive frame rate",
    ),
    Case("pulse-out-is-file", _pulse_out_is_file, r"exists and is a file"),
    Case("pulse-weights-missing", _pulse_weights_missing, r"PhysFormer weights not found"),
    Case("pulse-video-too-short", _pulse_video_too_short, r"5 frames \(0\.2 s at 25 fps\).* at least 134"),
    # runs and checkpoints
    Case("evaluate-out-is-run", _evaluate_out_is_run, r"folder exists and is not an output of this step"),
    Case("evaluate-out-is-dataset", _evaluate_out_is_dataset, r"not an output of this step"),
    Case("corrupt-run-json", _corrupt_json("run.json", b'{"detector": "toy'), r"run\.json is not valid JSON"),
    Case(
        "binary-run-json",
        _corrupt_json("run.json", b"\x80\x04\x95 pickle"),
        r"run\.json is (a binary file|not UTF-8 text)",
    ),
    Case("run-json-lacks-keys", _corrupt_json("run.json", b'{"detector": "toy_test"}'), r"run\.json lacks"),
    Case(
        "corrupt-selection-json", _corrupt_json("selection.json", b'{"epoch": '), r"selection\.json is not valid JSON"
    ),
    Case("run-without-best", _run_without_best, r"no checkpoints/best\.pt", not_in="drop --resume"),
    Case("truncated-best", _truncated_best, r"unreadable checkpoint"),
    Case("evaluate-bootstrap-negative", _evaluate_bad_bootstrap, r"n_bootstrap must be >= 0"),
    Case("train-out-is-file", _train_out_is_file, r"exists and is a file"),
    Case("train-out-is-dataset", _train_out_is_dataset, r"holds other files and no training run"),
    Case("train-fails-error-in-log", _train_fails_into_log, r"no cache columns", left=("run", "run/train.log")),
    Case(
        "train-epochs-flag",
        _train_epochs_flag,
        r"with --epochs: training\.epochs must be >= 1",
        left=("run", "run/train.log"),
    ),
    Case(
        "train-set-out-of-range",
        _train_set_bad,
        r"with --set training\.epochs=-3: training\.epochs must be >= 1",
        left=("run", "run/train.log"),
    ),
    Case(
        "train-config-out-is-checkpoint",
        _train_config_out_is_checkpoint,
        r"holds a zip file.*left untouched",
        left=("run", "run/train.log"),
    ),
    Case("lrnet-pair-incomplete", _lrnet_pair_incomplete, r"lacks g2\.pth", left=("run", "run/train.log")),
    # issue 29 §3: defects found by trying the tool as a new user would
    Case("validate-out-is-its-config", _validate_out_is_config, r"--out is the input config.*left untouched"),
    Case(
        "train-config-out-is-its-config",
        _train_config_out_is_config,
        r"--config-out is the input config",
        left=("run", "run/train.log"),
    ),
    Case("seed-negative", _cfg("training:\n  seed: -1\n"), r"training\.seed must be in \[0, 4294967295\]"),
    Case("workflow-seeds-negative", _workflow_seed_negative, r"workflow\.seeds must be in \[0, 4294967295\], got -1"),
    Case(
        "train-seed-negative",
        _train_seed_negative,
        r"training\.seed must be in \[0, 4294967295\], got -1",
        left=("run", "run/train.log"),
    ),
    Case(
        "duplicate-yaml-key",
        _cfg("training:\n  epochs: 2\nevaluation:\n  seed: 1\ntraining:\n  lr: 0.1\n"),
        r"duplicate key 'training' \(lines 1 and 5\)",
    ),
    Case("train-stop-after-0", _stop_after_zero, r"--stop-after must be >= 1"),
    Case("report-without-evaluations", _report_without_evaluations, r"got no --evaluations"),
    Case("evaluate-unfinished-run", _unfinished_run, r"training did not finish: 1 of 3 epochs.*--allow-unfinished"),
    Case("checkpoint-of-another-detector", _foreign_checkpoint, r"checkpoint of detector 'xception'.*'toy_test'"),
    Case(
        "method-typo",
        _method_typo,
        r"unknown manipulation method\(s\) \['Deepfakse'\].*\['Deepfakes'\]",
        left=("run", "run/train.log"),
    ),
    Case("config-symlink-loop", _symlink_loop, r"symbolic link loop"),
    Case("video-symlink-loop", _video_symlink_loop, r"symbolic link loop"),
    Case(
        "preprocess-range-stated",
        _cfg("preprocess:\n  crop_size: 4\n  min_face_prob: 2.0\n"),
        r"preprocess\.crop_size must be >= 8, got 4; preprocess\.min_face_prob must be in \[0, 1\], got 2\.0",
        not_in="config.py",
    ),
    Case(
        "train-too-many-failed-rows",
        _too_many_failed,
        r"9 of 17 train videos at c23 \(53%\) failed preprocessing.*"
        r"training\.max_failed_share \(10%\)",
        left=("data", "run", "run/train.log"),
    ),
    Case(
        "cache-of-another-length",
        _cache_other_length,
        r"has 6 frames, but the manifest's videos have 8",
        left=("run", "run/train.log", "run/run.json"),
    ),
]


def snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` -> content hash (files) or ``dir``."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_symlink():
            out[rel] = f"link to {os.readlink(p)}"
            continue
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, shared: Shared, tmp_path: Path, capsys) -> None:
    argv, culprit = case.build(tmp_path, shared)
    before = snapshot(tmp_path)
    shared_before = snapshot(shared.run)
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0, f"exit 0 for {case.id}"
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if re.match(r"umcl [\w-]+: error: ", ln)]
    assert len(lines) == 1, err
    line = lines[0]
    assert re.search(case.match, line), line
    assert str(culprit) in line, f"message does not name {culprit}: {line}"
    assert "— fix: " in line and line.split("— fix: ")[1].strip(), line
    if case.not_in:
        assert case.not_in not in line, line
    after = snapshot(tmp_path)
    changed = sorted(k for k, v in before.items() if after.get(k) != v)
    assert not changed, f"destroyed or changed: {changed}"
    new = sorted(set(after) - set(before) - set(case.left))
    assert not new, f"left behind: {new}"
    assert snapshot(shared.run) == shared_before
    for rel in case.left:
        if rel.endswith(".log"):
            assert line in (tmp_path / rel).read_text(), f"{rel} lacks the error"


def test_catalogue_size() -> None:
    assert len(CASES) >= 25 and len({c.id for c in CASES}) == len(CASES)


# ------------------------------------------------------------------------------ pipeline arguments
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_misspelled_pipeline_key_stops_snakemake() -> None:
    """``snakemake -n --config profil=smoke`` fails before planning, with the cause in a few lines
    (it used to plan the default profile quietly)."""
    results_before = sorted(p.name for p in (REPO / "results").glob("*")) if (REPO / "results").is_dir() else []
    proc = subprocess.run(
        [str(BIN / "snakemake"), "-n", "--config", "profil=smoke"],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert re.search(r"unknown key\(s\) \['profil'\].*did you mean 'profile'.*fix: ", out), out
    assert "Job stats" not in out and len(out.strip().splitlines()) < 10, out
    after = sorted(p.name for p in (REPO / "results").glob("*")) if (REPO / "results").is_dir() else []
    assert after == results_before  # nothing planned, nothing written


def test_circular_profile_is_one_error(tmp_path: Path) -> None:
    """The Snakefile loads ``profile=FILE`` with ``load_profile``: a loop is one ConfigError naming the
    file (it was a RecursionError of ~1000 lines through Snakemake)."""
    write(tmp_path / "b.yaml", "extends: loop_a.yaml\n")
    loop = write(tmp_path / "loop_a.yaml", "extends: b.yaml\n")
    with pytest.raises(ConfigError, match=r"circular `extends:` \(loop_a\.yaml -> b\.yaml -> loop_a\.yaml\)") as info:
        load_profile(str(loop))
    assert str(tmp_path / "b.yaml") in str(info.value) and "\n" not in str(info.value)


def test_json_marker_written_by_evaluate_allows_rerun(shared: Shared, tmp_path: Path) -> None:
    """The other side of the output rule: a previous `umcl evaluate` output is replaced on a re-run."""
    out = tmp_path / "E"
    assert main(evaluate(shared.run, shared, out)) == 0
    first = json.loads((out / "metrics.json").read_text())
    assert main(evaluate(shared.run, shared, out)) == 0
    assert json.loads((out / "metrics.json").read_text())["auc"] == first["auc"]
    (out / "mine.txt").write_text("a user's note")  # now it holds something evaluate did not write
    assert main(evaluate(shared.run, shared, out)) == 2
    assert (out / "mine.txt").read_text() == "a user's note"
    assert np.isfinite(first["auc"]["value"])


# ------------------------------------------------------------------------------ the rules underneath
def test_output_rule_unit(tmp_path: Path) -> None:
    """atomic_path: a re-run replaces its own kind of output; anything else is refused and kept."""
    from umcl.errors import UmclError
    from umcl.io_utils import OUTPUT_MARKER, atomic_path, file_format, write_text

    csv = write(tmp_path / "m.csv", "a,b\n1,2\n")
    write_text(csv, "a,b\n3,4\n")  # text over text: a re-run
    assert csv.read_text() == "a,b\n3,4\n"
    ckpt = tmp_path / "w.pt"
    torch.save({"w": torch.ones(2)}, ckpt)
    assert file_format(ckpt) == "zip" and file_format(csv) == "text"
    with pytest.raises(UmclError, match="holds a zip file"):
        write_text(ckpt, "text")
    assert torch.load(ckpt)["w"].sum() == 2
    with atomic_path(ckpt) as tmp:  # zip over zip: a re-run of a weight writer
        torch.save({"w": torch.zeros(2)}, tmp)
    assert torch.load(ckpt)["w"].sum() == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    with atomic_path(empty, kind="demo") as tmp:  # an empty folder holds nothing to lose
        tmp.mkdir()
        (tmp / "a.txt").write_text("1")
    assert json.loads((empty / OUTPUT_MARKER).read_text()) == {"kind": "demo", "files": ["a.txt"]}
    with atomic_path(empty, kind="demo") as tmp:  # its own marked output: replaced
        tmp.mkdir()
        (tmp / "b.txt").write_text("2")
    assert sorted(p.name for p in empty.iterdir()) == [OUTPUT_MARKER, "b.txt"]
    with pytest.raises(UmclError, match="output of another step"):
        with atomic_path(empty, kind="other") as tmp:
            tmp.mkdir()
    with pytest.raises(RuntimeError):  # a failure inside leaves the old output and no temporary
        with atomic_path(empty, kind="demo") as tmp:
            tmp.mkdir()
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "m.csv", "w.pt"]


@pytest.mark.parametrize("has_last", [False, True])
def test_disk_full_fix_says_resume_only_when_there_is_an_epoch(tmp_path: Path, monkeypatch, has_last: bool) -> None:
    """A full disk in the first epoch cannot be continued with --resume (issue 13 #7)."""
    import errno

    from umcl.errors import UmclError
    from umcl.training import runtime

    ckpt_dir = tmp_path / "run" / "checkpoints"
    ckpt_dir.mkdir(parents=True)
    if has_last:
        torch.save({"epoch": 1}, ckpt_dir / "last.pt")

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runtime.torch, "save", full)
    with pytest.raises(UmclError) as info:
        runtime.save_checkpoint({"w": torch.zeros(1)}, ckpt_dir / "best.pt")
    msg = str(info.value)
    assert "No space left" in msg and "\n" not in msg and str(ckpt_dir / "best.pt") in msg
    assert ("--resume" in msg) == has_last
    assert sorted(p.name for p in ckpt_dir.iterdir()) == (["last.pt"] if has_last else [])


# ------------------------------------------------------------------------------ issue 29 §3, beyond the table
def one_error_line(err: str, culprit: str | Path, match: str) -> str:
    """The rules of the table for a case that needs monkeypatching: one error line, no traceback,
    naming ``culprit`` and a fix."""
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if re.match(r"umcl [\w-]+: error: ", ln)]
    assert len(lines) == 1, err
    assert re.search(match, lines[0]) and str(culprit) in lines[0] and "— fix: " in lines[0], lines[0]
    return lines[0]


def _full_disk(*_a, **_k):
    import errno

    raise OSError(errno.ENOSPC, "No space left on device")


def _fake_frames(frames, cfg, source="<frames>", mtcnn=None, landmarker=None):
    """preprocess_frames without MTCNN: arrays of the contract's shapes (the writer is what fails here)."""
    t = len(frames)
    return {
        "faces": np.zeros((t, 8, 8, 3), np.uint8),
        "xception_faces": np.zeros((1, 8, 8, 3), np.uint8),
        "landmarks": np.zeros((t, 136), np.float32),
        "landmarks_raw": np.zeros((t, 68, 2), np.float32),
        "boxes": np.zeros((t, 4), np.float32),
        "detected": np.ones(t, bool),
        "detection_rate": 1.0,
        "_extra": {"xception_indices": [0], "tracked_fraction": 1.0, "landmark_backend": "test", "landmark_model": ""},
    }


def test_full_disk_stops_a_batch_preprocess_with_one_line(tmp_path: Path, monkeypatch, capsys) -> None:
    """A full disk is the machine's failure, not the videos': the batch stops with one line naming the
    cache it could not write, and writes no manifest (it used to exit 0 with every video "failed")."""
    from umcl.data.preprocess import pipeline

    for i in range(2):
        video(tmp_path / "v" / f"{i:03d}.mp4", frames=10)
    m = write(
        tmp_path / "m.csv",
        "dataset,method,compression,split,label,path,id\n"
        "synthff,original,c23,train,0,v/000.mp4,000\nsynthff,original,c23,train,0,v/001.mp4,001\n",
    )
    monkeypatch.setattr(pipeline, "preprocess_frames", _fake_frames)
    monkeypatch.setattr(pipeline, "write_cache", _full_disk)
    before = snapshot(tmp_path)
    code = main(
        [
            "preprocess",
            "--manifest",
            str(m),
            "--out",
            str(tmp_path / "cache"),
            "--out-manifest",
            str(tmp_path / "pre.csv"),
            "--num-frames",
            "8",
            "--no-progress",
        ]
    )
    assert code == 2
    one_error_line(
        capsys.readouterr().err,
        tmp_path / "cache" / "synthff" / "original" / "c23" / "000.npz",
        r"no space left on the disk \(ENOSPC\).*free space",
    )
    assert snapshot(tmp_path) == before  # no manifest, no cache, nothing else


@pytest.mark.parametrize(
    "failure, said",
    [
        (OSError(28, "No space left on device"), r"no space left on the disk \(ENOSPC\)"),
        (PermissionError(13, "Permission denied"), r"permission denied \(EACCES\)"),
        (MemoryError(), r"out of memory"),
    ],
)
def test_machine_failure_in_single_video_preprocess_names_the_file(
    tmp_path: Path, monkeypatch, capsys, failure: BaseException, said: str
) -> None:
    """A full disk (and the other failures of the machine) in `umcl preprocess VIDEO`: one line naming the
    cache (it was a traceback: the error named no file)."""
    from umcl.data.preprocess import pipeline

    def fail(*_a, **_k):
        raise failure

    clip = video(tmp_path / "clip.mp4", frames=10)
    monkeypatch.setattr(pipeline, "preprocess_frames", _fake_frames)
    monkeypatch.setattr(pipeline, "write_cache", fail)
    assert main(["preprocess", str(clip), "--out", str(tmp_path / "c"), "--num-frames", "8"]) == 2
    one_error_line(capsys.readouterr().err, tmp_path / "c" / "clip.npz", said)
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").iterdir())


def test_a_videos_own_failure_stays_a_failed_row(tmp_path: Path, monkeypatch) -> None:
    """Only the machine's failures stop a batch: a bad video is still recorded and skipped."""
    from umcl.data.preprocess import pipeline

    video(tmp_path / "v" / "000.mp4", frames=10)
    write(tmp_path / "v" / "001.mp4", "not a video\n")
    m = write(
        tmp_path / "m.csv",
        "dataset,method,compression,split,label,path,id\n"
        "synthff,original,c23,train,0,v/000.mp4,000\nsynthff,original,c23,train,0,v/001.mp4,001\n",
    )
    monkeypatch.setattr(pipeline, "preprocess_frames", _fake_frames)
    rows = pipeline.preprocess_manifest(
        m,
        tmp_path / "cache",
        tmp_path / "pre.csv",
        pipeline.PreprocessConfig(num_frames=4, xception_frames=1),
        progress=False,
    )
    assert [r.status for r in rows] == ["ok", "failed"] and "no readable video stream" in rows[1].reason


def test_training_says_how_many_failed_rows_it_left_out(tmp_path: Path) -> None:
    """A few failed rows (the fixture's one "no face" video) are left out with a warning that counts them."""
    m = make_manifest(tmp_path / "data")
    assert main(train(Shared(m, Path()), tmp_path / "run", "--epochs", "1")) == 0
    assert re.search(
        r"1 of 17 train videos at c23 \(6%\) failed preprocessing and are left out \(first: no face\)",
        (tmp_path / "run" / "train.log").read_text(),
    )


def test_evaluate_honours_selection_without_key(shared: Shared, tmp_path: Path) -> None:
    """``--selection FILE`` picks the checkpoint in the one-split mode too (it scored selection.json's)."""
    run = copy_run(shared, tmp_path / "R")
    state = torch.load(run / "checkpoints" / "best.pt", weights_only=False)
    torch.save(
        {**state, "model": {k: torch.zeros_like(v) for k, v in state["model"].items()}},
        run / "checkpoints" / "best_other.pt",
    )
    sel = json.loads((run / "selection.json").read_text())
    (run / "selection_other.json").write_text(json.dumps({**sel, "checkpoint": "checkpoints/best_other.pt"}))
    assert main(evaluate(run, shared, tmp_path / "own")) == 0
    assert main(evaluate(run, shared, tmp_path / "other", "--selection", "selection_other.json")) == 0
    own = (tmp_path / "own" / "scores.csv").read_text()
    other = json.loads((tmp_path / "other" / "metrics.json").read_text())
    assert (tmp_path / "other" / "scores.csv").read_text() != own  # zero weights: every score 0.5
    assert other["provenance"]["selection_record"] == "selection_other.json"


def test_evaluate_scores_an_unfinished_run_when_asked(shared: Shared, tmp_path: Path) -> None:
    argv, _ = _unfinished_run(tmp_path, shared)
    assert main([*argv, "--allow-unfinished"]) == 0


def test_set_shadowed_by_per_detector_warns(tmp_path: Path, capsys) -> None:
    cfg = write(tmp_path / "my.yaml", "training:\n  per_detector:\n    lrnet: {epochs: 30}\n")
    assert main(["validate-config", "--config", str(cfg), "--set", "training.epochs=3"]) == 0
    err = capsys.readouterr().err
    assert "--set training.epochs=3 has no effect on lrnet: training.per_detector.lrnet.epochs (30) overrides it" in err


def test_exponent_floats_are_numbers(tmp_path: Path, capsys) -> None:
    """``lr: 1e-3`` (YAML 1.1 reads it as a string) is the number users mean, in files and in --set."""
    from umcl.config import load_config

    cfg = write(tmp_path / "my.yaml", "training:\n  lr: 1e-3\n  lr_warmup: 2E-3\n")
    assert main(["validate-config", "--config", str(cfg), "--set", "training.weight_decay=5e-4"]) == 0
    assert load_config(cfg)["training"] == {"lr": 1e-3, "lr_warmup": 2e-3}


def test_manifest_with_a_byte_order_mark_reads(shared: Shared, tmp_path: Path) -> None:
    from umcl.data.manifest import read_manifest

    bom = write(tmp_path / "bom.csv", b"\xef\xbb\xbf" + shared.manifest.read_bytes())
    shutil.copytree(shared.manifest.parent / "cache", tmp_path / "cache")
    assert [r.key for r in read_manifest(bom)] == [r.key for r in read_manifest(shared.manifest)]


@pytest.mark.parametrize("what", ["config", "video"])
def test_permission_denied_says_so(tmp_path: Path, monkeypatch, capsys, what: str) -> None:
    """Not "corrupt", not "not found" (simulated: the tests may run as root, whom chmod does not stop)."""
    target = (
        write(tmp_path / "my.yaml", "training:\n  epochs: 2\n")
        if what == "config"
        else video(tmp_path / "clip.mp4", frames=10)
    )
    real_read, real_open = Path.read_bytes, Path.open

    def denied(self, *a, **k):
        if self == target:
            raise PermissionError(13, "Permission denied", str(self))
        return (real_read if not a and not k else real_open)(self, *a, **k)

    monkeypatch.setattr(Path, "read_bytes", denied)
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: denied(self, *a or ("r",), **k))
    if what == "config":
        argv = ["validate-config", "--config", str(target)]
    else:
        import cv2

        monkeypatch.setattr(cv2, "VideoCapture", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no")))
        argv = ["preprocess", str(target), "--out", str(tmp_path / "c"), "--num-frames", "8"]
        from umcl.data.preprocess import video as video_module

        monkeypatch.setattr(video_module, "_opencv_frames", lambda *a: None)
        monkeypatch.setattr(video_module, "_pyav_frames", lambda *a: None)
    assert main(argv) == 2
    one_error_line(capsys.readouterr().err, target, r"permission denied")


def test_profiles_get_folders_of_their_own(tmp_path: Path) -> None:
    """A profile file named like a built-in profile, or a second file of one name, cannot share
    results/<name>/ (a dry run of /elsewhere/default.yaml overwrote results/default/'s config)."""
    from umcl.workflow import (
        Layout,
        WorkflowConfig,
        check_results_owner,
        profile_arg,
        profile_name,
    )

    other = write(tmp_path / "default.yaml", f"extends: {DEFAULT}\n")
    with pytest.raises(ConfigError, match=r"named like the built-in profile 'default'.*rename") as info:
        profile_name(str(other))
    assert str(other) in str(info.value)
    assert profile_name(str(DEFAULT)) == "default" and profile_name(str(write(tmp_path / "mine.yaml", ""))) == "mine"
    layout = Layout("exp", WorkflowConfig())
    a, b = write(tmp_path / "a" / "exp.yaml", ""), write(tmp_path / "b" / "exp.yaml", "")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        write(Path(layout.resolved_config), f"# Resolved from {a} (config hash 0); generated, do not edit.\n")
        check_results_owner(layout, a)  # its own folder
        with pytest.raises(ConfigError, match=r"results/exp/ holds the results of another profile file"):
            check_results_owner(layout, b)
    finally:
        os.chdir(cwd)
    for empty in (None, "", " "):
        with pytest.raises(ConfigError, match=r"`--config profile=` is empty"):
            profile_arg({"profile": empty})
    assert profile_arg({}) == "default"


def test_variable_frame_rate_video_warns(tmp_path: Path, monkeypatch, capsys) -> None:
    """Its average fps is stored and the pulse depends on frame timing: the user is told (chosen over
    resampling, docs/deviations/data.md), and the cache records it."""
    from umcl.data.preprocess import pipeline
    from umcl.data.preprocess.cache import read_cache

    clip = tmp_path / "vfr.mp4"
    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=gray:size=64x64:rate=25",
            "-frames:v",
            "20",
            "-vf",
            "setpts='if(lt(N,5),N,N*2)/25/TB'",
            "-fps_mode",
            "vfr",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            str(clip),
        ],
        check=True,
    )
    monkeypatch.setattr(pipeline, "preprocess_frames", _fake_frames)
    assert main(["preprocess", str(clip), "--out", str(tmp_path / "c"), "--num-frames", "8"]) == 0
    err = capsys.readouterr().err
    assert re.search(rf"{re.escape(str(clip))}: variable frame rate \(frame intervals 40 to 240 ms", err), err
    assert "variable frame rate" in read_cache(tmp_path / "c" / "vfr.npz")["meta"]["warnings"][0]
    constant = video(tmp_path / "cfr.mp4", frames=10)
    assert main(["preprocess", str(constant), "--out", str(tmp_path / "c"), "--num-frames", "8"]) == 0
    assert "WARNING" not in capsys.readouterr().err


def test_truncated_but_decodable_video_warns(tmp_path: Path, monkeypatch, capsys) -> None:
    from umcl.data.preprocess import pipeline

    full = tmp_path / "full.mp4"
    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=128x128:rate=25",
            "-frames:v",
            "200",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
            str(full),
        ],
        check=True,
    )
    cut = write(tmp_path / "cut.mp4", full.read_bytes()[: full.stat().st_size * 6 // 10])
    monkeypatch.setattr(pipeline, "preprocess_frames", _fake_frames)
    assert main(["preprocess", str(cut), "--out", str(tmp_path / "c"), "--num-frames", "8"]) == 0
    assert re.search(
        rf"{re.escape(str(cut))}: the file is damaged or cut short \(ffmpeg: .+\), though its first 8 "
        r"frames decode",
        capsys.readouterr().err,
    )
    assert main(["preprocess", str(full), "--out", str(tmp_path / "c"), "--num-frames", "8"]) == 0
    assert "WARNING" not in capsys.readouterr().err


def test_pretrained_encoder_paths_in_run_json_are_absolute(tmp_path: Path, monkeypatch) -> None:
    """umcl-released's run.json stored the LRNet weights path relative to the working folder, so the
    run could not be evaluated from another one."""
    from umcl.training.trainer import build_spec

    monkeypatch.chdir(tmp_path)
    cfg = {
        "detectors": {
            "umcl-released": {
                "lrnet_weights": "results/p/runs/lrnet/c23/seed0/checkpoints/best.pt",
                "physformer_weights": "results/p/pretrain/encoders.pt",
            }
        }
    }
    spec = build_spec(cfg, "umcl-released", tmp_path / "m.csv", "c23")
    assert spec.detector_config["lrnet_weights"] == str(tmp_path / "results/p/runs/lrnet/c23/seed0/checkpoints/best.pt")
    assert spec.detector_config["physformer_weights"] == str(tmp_path / "results/p/pretrain/encoders.pt")


# ------------------------------------------------------------------------------ fuzzing's findings
# Inputs found by the atheris harnesses of fuzz/, or by reading the readers while writing them
# (`make fuzz`; docs/testing.md lists which), minimized. Each gave an exception other than UmclError,
# a message of several lines, or no answer at all; the reader must now raise one line naming the input.
def _fuzz_set(value: str):
    def read(tmp: Path) -> tuple[Callable[[], object], str]:
        from umcl.commands.validate_config import validated_config

        cfg = write(tmp / "my.yaml", "training:\n  epochs: 2\n")
        return lambda: validated_config(cfg, [f"training.lr={value}"]), "--set 'training.lr'"

    return read


def _fuzz_section(text: str):
    def read(tmp: Path) -> tuple[Callable[[], object], str]:
        from umcl.commands.validate_config import validated_config

        cfg = write(tmp / "my.yaml", text)
        return lambda: validated_config(cfg, []), str(cfg)

    return read


def _fuzz_set_source(tmp: Path) -> tuple[Callable[[], object], str]:
    """A --set value with a newline (valid YAML) that fails a range check: the source line quotes it."""
    from umcl.commands.validate_config import validated_config

    cfg = write(tmp / "my.yaml", "training:\n  epochs: 2\n")
    return lambda: validated_config(cfg, ["training.epochs=\n-3"]), str(cfg)


def _fuzz_extends(target: str):
    def read(tmp: Path) -> tuple[Callable[[], object], str]:
        from umcl.config import load_config

        cfg = write(tmp / "my.yaml", f'extends: "{target}"\n')
        return lambda: load_config(cfg), str(tmp)

    return read


def _fuzz_manifest(text: str):
    def read(tmp: Path) -> tuple[Callable[[], object], str]:
        from umcl.data.manifest import read_manifest

        manifest = write(tmp / "m.csv", text.encode("utf-8", "surrogatepass"))
        return lambda: read_manifest(manifest), str(manifest)

    return read


def _fuzz_run(
    training: object = None,
    split: str = "val",
    checkpoint: object = "checkpoints/best.pt",
    seed: object = 0,
    culprit: str = "run.json",
):
    """A run folder whose run.json records ``training`` (None: valid settings) and ``seed``, and whose
    selection.json was made on ``split`` and names ``checkpoint``; read as evaluation reads it
    (with a key: ``umcl evaluate --key`` checks the run against it)."""

    def read(tmp: Path) -> tuple[Callable[[], object], str]:
        from umcl.evaluation.predict import load_run, read_run
        from umcl.evaluation.sheet_eval import check_run_matches
        from umcl.protocols.keys import RunKey

        run = tmp / "R"
        info = {
            "detector": "toy_test",
            "detector_config": {},
            "training": {} if training is None else training,
            "train_compression": "c23",
            "seed": seed,
            "fingerprint": "f",
        }
        write(run / "run.json", json.dumps(info))
        write(
            run / "selection.json",
            json.dumps({"epoch": 1, "split": split, "metric": "auc", "value": 0.5, "checkpoint": checkpoint}),
        )
        key = RunKey.from_path("toy_test/ffpp-all-c23/seed0")
        return (lambda: (check_run_matches(read_run(run), key, run), load_run(run, device="cpu"))), str(run / culprit)

    return read


def _cache_arrays(meta: str = '{"preprocess": {}}') -> dict[str, np.ndarray]:
    """The smallest cache the contract accepts (2 frames of 4 px)."""
    t = 2
    return {
        "faces": np.zeros((t, 4, 4, 3), np.uint8),
        "xception_faces": np.zeros((1, 4, 4, 3), np.uint8),
        "landmarks": np.zeros((t, 136), np.float32),
        "landmarks_raw": np.zeros((t, 68, 2), np.float32),
        "boxes": np.zeros((t, 4), np.float32),
        "detected": np.ones(t, bool),
        "fps": np.float32(25),
        "detection_rate": np.float32(1),
        "meta": np.str_(meta),
    }


def _zip_patched(patch: Callable[[bytearray], None], compressed: bool = False) -> bytes:
    """A valid cache as a zip, then ``patch`` applied to its bytes (headers at fixed offsets)."""
    import io

    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **_cache_arrays())
    data = bytearray(buf.getvalue())
    patch(data)
    return bytes(data)


def _set_method(method: int) -> Callable[[bytearray], None]:
    """Set every member's compression method (local header +8, central directory +10)."""

    def patch(data: bytearray) -> None:
        for sig, off in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
            i = data.find(sig)
            while i >= 0:
                data[i + off : i + off + 2] = method.to_bytes(2, "little")
                i = data.find(sig, i + 4)

    return patch


def _encrypted(data: bytearray) -> None:
    """Set the 'encrypted' flag of the first member in its central directory entry (+8)."""
    i = data.find(b"PK\x01\x02")
    data[i + 8] |= 1


def _garbled_deflate(data: bytearray) -> None:
    """Overwrite the first member's deflate stream (after its 30-byte header and name) with junk."""
    n = int.from_bytes(data[26:28], "little") + int.from_bytes(data[28:30], "little")
    data[30 + n : 30 + n + 8] = b"\xff" * 8


def _fuzz_cache(content: bytes | Callable[[], bytes], keys: tuple[str, ...] | None = None):
    def read(tmp: Path) -> tuple[Callable[[], object], str]:
        from umcl.data.preprocess.cache import read_cache

        cache = write(tmp / "v.npz", content if isinstance(content, bytes) else content())
        return lambda: read_cache(cache, keys), str(cache)

    return read


def _meta_not_json() -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **_cache_arrays(meta="not json"))
    return buf.getvalue()


def _fuzz_paper(text: bytes):
    def read(tmp: Path) -> tuple[Callable[[], object], str]:
        from umcl.specs.paper_tables import load_paper_table

        table = write(tmp / "table3.yaml", text)
        return lambda: load_paper_table(table), str(table)

    return read


PAPER_HEAD = b"table: 3\nsource: s\ncaption: c\nmetrics: [auc]\n"
PAPER_PANEL = b"row_levels: [m]\ncolumn_levels: [x]\ncolumns: [a]\nvalues: [[1.0]]\n"
PRE_HEADER = "dataset,method,compression,split,label,path,id,key,cache,status,reason,n_frames,detection_rate\n"


@dataclass
class Finding:
    """``read(tmp) -> (call, name)``: ``call()`` must raise a one-line UmclError that matches
    ``match`` and contains ``name`` (the file, or the option, at fault)."""

    id: str
    read: Callable[[Path], tuple[Callable[[], object], str]]
    match: str


FUZZ_FINDINGS = [
    Finding("set-value-bad-yaml", _fuzz_set("a: b: c"), r"value is not valid YAML \(mapping values"),
    Finding("set-value-control-char", _fuzz_set("\x07"), r"value is not valid YAML \(unacceptable character"),
    Finding("set-value-newline-in-source", _fuzz_set_source, r"--set training\.epochs=\\n-3: training\.epochs must"),
    Finding(
        "patch-size-zero",
        _fuzz_section("detectors:\n  umcl-released: {patch_size: [4, 0, 1]}\n"),
        r"my\.yaml: patch_size must be three sizes >= 1.*got \[4, 0, 1\]",
    ),
    Finding(
        "split-fractions-leave-no-train-pair",
        _fuzz_section("workflow: {}\nsynthff:\n  n_identities: 8\n  val_fraction: 0.6\n  test_fraction: 0.6\n"),
        r"my\.yaml: synthff split fractions .* leave no training pair",
    ),
    Finding("extends-nul-byte", _fuzz_extends("a\\0b.yaml"), r"my\.yaml: `extends:` names an unusable path"),
    Finding("extends-lone-surrogate", _fuzz_extends("\\ud800.yaml"), r"my\.yaml: `extends:` names an unusable path"),
    Finding(
        "extends-name-too-long", _fuzz_extends("x" * 300 + ".yaml"), r"cannot open config file \(File name too long"
    ),
    Finding(
        "selection-on-test",
        _fuzz_run(split="test", culprit="selection.json"),
        r"on the 'test' split is refused.*fix: finish or redo",
    ),
    Finding(
        "selection-checkpoint-not-a-path",
        _fuzz_run(checkpoint=5, culprit="selection.json"),
        r"checkpoint is 5, not a path",
    ),
    Finding("run-seed-not-a-number", _fuzz_run(seed="x"), r"run\.json: seed 'x' or methods None is not a whole number"),
    Finding(
        "run-training-unknown-key",
        _fuzz_run({"affinity_nog_every": 1}),
        r"run\.json holds invalid training settings \(unknown key\(s\) \['affinity_nog_every'\]",
    ),
    Finding("run-training-not-a-mapping", _fuzz_run(5), r"invalid training settings \(config section 'training' must"),
    Finding(
        "run-training-lr-null",
        _fuzz_run({"lr": None}),
        r"invalid training settings \(bad value None for 'training\.lr' \(expected a number\)",
    ),
    Finding(
        "run-training-out-of-range", _fuzz_run({"batch_size": 9}), r"invalid training settings \(training\.batch_size"
    ),
    Finding(
        "cache-deflate-damaged",
        _fuzz_cache(lambda: _zip_patched(_garbled_deflate, compressed=True)),
        r"cannot read cache \(error: Error -3",
    ),
    Finding(
        "cache-unknown-zip-method",
        _fuzz_cache(lambda: _zip_patched(_set_method(1))),
        r"cannot read cache \(NotImplementedError",
    ),
    Finding(
        "cache-encrypted-member",
        _fuzz_cache(lambda: _zip_patched(_encrypted)),
        r"cannot read cache \(RuntimeError: File '\w+\.npy' is encrypted",
    ),
    Finding(
        "cache-meta-not-json",
        _fuzz_cache(_meta_not_json, keys=("meta", "detection_rate")),
        r"cache entry 'meta' is not a JSON object",
    ),
    Finding("cache-meta-not-json-whole", _fuzz_cache(_meta_not_json), r"cache entry 'meta' is not a JSON object"),
    Finding("paper-not-utf8", _fuzz_paper(PAPER_HEAD + b"\xff\n"), r"cannot read paper table \(file is not UTF-8"),
    Finding(
        "paper-rows-not-a-list",
        _fuzz_paper(PAPER_HEAD + PAPER_PANEL + b"rows: 5\n"),
        r"panel p0: rows must be a list, got int",
    ),
    Finding("paper-panel-not-a-mapping", _fuzz_paper(PAPER_HEAD + b"panels: [5]\n"), r"panel p0 must be a mapping"),
    Finding(
        "paper-metrics-not-a-list",
        _fuzz_paper(PAPER_HEAD.replace(b"[auc]", b"5") + PAPER_PANEL + b"rows: [r]\n"),
        r"metrics must be a list",
    ),
    Finding(
        "manifest-field-over-csv-limit",
        _fuzz_manifest("dataset,method,compression,split,label,path,id\nd,m,c,train,0," + "p" * 200_000 + ",1\n"),
        r"not readable as CSV after line 1 \(field larger than field limit",
    ),
    Finding(
        "manifest-key-line-break",
        _fuzz_manifest(PRE_HEADER + "d,m,c,train,0,p,\x1c,d/m/c/x,,ok,,,\n"),
        r"key 'd/m/c/x' does not match its columns \(d/m/c/\\x1c\)",
    ),
]


@pytest.mark.parametrize("finding", FUZZ_FINDINGS, ids=[f.id for f in FUZZ_FINDINGS])
def test_fuzz_finding(finding: Finding, tmp_path: Path) -> None:
    from umcl.errors import UmclError

    call, name = finding.read(tmp_path)
    with pytest.raises(UmclError) as info:
        call()
    msg = str(info.value)
    assert len(msg.splitlines()) == 1 and re.search(finding.match, msg) and name in msg, msg
    assert "— fix: " in msg, msg
