"""Write the seed corpora of the fuzz harnesses into ``fuzz/corpus/<harness>/`` (small, committed).

Rerun after a format change: ``python fuzz/make_seeds.py``. Each seed is a valid input (or a
near-valid one), so the mutations start from what the readers accept.
"""

from __future__ import annotations

import dataclasses
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = Path(__file__).resolve().parent / "corpus"
SEP = b"\x1e"


def _write(harness: str, name: str, data: bytes) -> None:
    folder = CORPUS / harness
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def config_seeds() -> None:
    smoke = (ROOT / "config" / "profiles" / "smoke.yaml").read_bytes().replace(b"../default.yaml", b"base.yaml")
    default = (ROOT / "config" / "default.yaml").read_bytes()
    _write("config", "smoke_extends_default", smoke + SEP + default)
    _write(
        "config",
        "default_with_sets",
        default + SEP + SEP + b"training.epochs=2" + SEP + b"workflow.seeds=[0, 1]" + SEP + b"preprocess.num_frames=8",
    )
    _write(
        "config",
        "tiny_extends",
        b"extends: base.yaml\ntraining:\n  lr: 0.001\n"
        + SEP
        + b"training:\n  epochs: 3\n  batch_size: 4\n"
        + SEP
        + b"training.seed=1",
    )


def manifest_seeds() -> None:
    base = "dataset,method,compression,split,label,path,id"
    _write(
        "manifest",
        "plain.csv",
        (
            f"{base}\n"
            "synthff,real,raw,train,0,videos/000.mp4,000\n"
            "synthff,Deepfakes,raw,val,1,/data/videos/001.mp4,001\n"
        ).encode(),
    )
    _write(
        "manifest",
        "grouped.csv",
        (f"{base},group\nff++,Deepfakes,c23,train,1,a.mp4,071_054,071|054\nff++,real,c23,test,0,b.mp4,999,\n").encode(),
    )
    _write(
        "manifest",
        "preprocessed.csv",
        (
            f"{base},key,cache,status,reason,n_frames,detection_rate\n"
            "synthff,real,c23,train,0,v/0.mp4,0,synthff/real/c23/0,cache/0.npz,ok,,32,0.97\n"
            "synthff,FaceSwap,c23,test,1,v/1.mp4,1,synthff/FaceSwap/c23/1,,failed,no face,,\n"
        ).encode(),
    )


def run_seeds() -> None:
    from umcl.training.config import TrainConfig

    run = {
        "detector": "xception",
        "detector_config": {},
        "training": dataclasses.asdict(TrainConfig()),
        "train_compression": "c23",
        "manifest": "m.csv",
        "methods": None,
        "seed": 0,
        "fingerprint": "abc123",
        "commit": None,
        "torch": "2.0",
        "world_size": 1,
    }
    sel = {
        "epoch": 2,
        "split": "val",
        "metric": "auc",
        "value": 0.9,
        "checkpoint": "checkpoints/best.pt",
        "detector": "xception",
        "train_compression": "c23",
        "seed": 0,
        "fingerprint": "abc123",
    }
    _write("run", "xception", json.dumps(run, indent=1).encode() + SEP + json.dumps(sel, indent=1).encode())
    run2 = {**run, "detector": "umcl", "methods": ["Deepfakes"], "training": {"epochs": 2, "lr": 0.001}}
    _write("run", "umcl_methods", json.dumps(run2).encode() + SEP + json.dumps({**sel, "epoch": 0}).encode())


def paper_seeds() -> None:
    for n in (4, 9, 10):  # one two-panel table, one with mapping columns, one with deltas-free rows
        _write(
            "paper_values",
            f"table{n}.yaml",
            (ROOT / "umcl" / "report" / "paper_values" / f"table{n}.yaml").read_bytes(),
        )


def npz_seeds() -> None:
    from umcl.data.preprocess.cache import write_cache

    t, s = 2, 4
    arrays = dict(
        faces=np.full((t, s, s, 3), 7, np.uint8),
        xception_faces=np.zeros((1, s, s, 3), np.uint8),
        landmarks=np.zeros((t, 136), np.float32),
        landmarks_raw=np.ones((t, 68, 2), np.float32),
        boxes=np.zeros((t, 4), np.float32),
        detected=np.ones(t, bool),
        fps=25.0,
        detection_rate=1.0,
        meta={"video": "v.mp4"},
    )
    with tempfile.TemporaryDirectory() as d:
        path = write_cache(Path(d) / "c.npz", **arrays)
        _write("npz", "compressed.npz", path.read_bytes())
    buf = io.BytesIO()  # uncompressed: mutations reach the .npy headers, not only zlib
    np.savez(buf, **{k: np.asarray(v if k != "meta" else json.dumps(v)) for k, v in arrays.items()})
    _write("npz", "stored.npz", buf.getvalue())


def video_seeds() -> None:
    import subprocess

    from umcl.data.compression import encode_frames, ffmpeg_exe

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (3, 16, 16, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as d:
        for level in ("raw", "c40"):
            _write("video", f"{level}.mp4", encode_frames(frames, Path(d) / f"{level}.mp4", level, 25).read_bytes())
        # other containers and codecs a user may pass: Matroska/H.264, AVI/MJPEG
        for name, args in (
            ("h264.mkv", ["-c:v", "libx264", "-crf", "40"]),
            ("mjpeg.avi", ["-c:v", "mjpeg", "-q:v", "20"]),
        ):
            out = Path(d) / name
            subprocess.run(
                [
                    ffmpeg_exe(),
                    "-v",
                    "error",
                    "-f",
                    "lavfi",
                    "-i",
                    "testsrc=size=16x16:rate=25",
                    "-frames:v",
                    "3",
                    *args,
                    str(out),
                ],
                check=True,
            )
            _write("video", name, out.read_bytes())
        # a phone-style display matrix (the reader's ffmpeg fallback path)
        rotated = Path(d) / "rotated.mp4"
        subprocess.run(
            [
                ffmpeg_exe(),
                "-v",
                "error",
                "-display_rotation",
                "90",
                "-i",
                str(Path(d) / "c40.mp4"),
                "-c",
                "copy",
                str(rotated),
            ],
            check=True,
        )
        _write("video", "rotated.mp4", rotated.read_bytes())


if __name__ == "__main__":
    for make in (config_seeds, manifest_seeds, run_seeds, paper_seeds, npz_seeds, video_seeds):
        make()
    for folder in sorted(CORPUS.iterdir()):
        files = list(folder.iterdir())
        print(f"{folder.name}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")
