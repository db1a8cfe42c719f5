"""Preprocessing speed against a per-frame MTCNN pass, side by side, in one run (issue 9 §4).

For each frame size — SynthFF's default 256 x 256, and FF++-like 640 x 480 and 1280 x 720
(SynthFF rendered offline at 360 / 540 px and edge-padded to the frame: MTCNN face boxes about
150 / 225 px high, like FF++'s talking heads) — one c23 clip goes through:

* **per-frame MTCNN**: facenet-pytorch's MTCNN on every decoded frame (batches of 16), the
  reference a bare detection pass costs;
* **ours**: :func:`preprocess_video` end to end (decode → boxes → dlib → LRNet calibration → crops
  → compressed cache) with the preprocess settings of ``config/default.yaml``;

and reports frames/s of both, their ratio, and the box error of ours against per-frame MTCNN
(mean absolute difference of the square boxes' four coordinates, px; centre distance; IoU).
For scale it also reports per-frame MTCNN against itself on the same frames moved by one pixel
(the detector's own reproducibility). Then a batch of 256 px clips runs through a fresh
``umcl preprocess --manifest ... --workers 2`` process, as the pipeline's rule runs it (imports,
model loading and worker start-up included), and the run ends with issue 9 §4's targets.

Both CPU time (this process and its ffmpeg children) and wall time are reported: on a shared
machine wall time measures the neighbours too; CPU-time frames/s are what one free core gives.
Both sides are timed in the steady state of a batch: each runs once untimed on the clip (models
loaded, every tensor shape seen once), then ``--repeats`` times, and the medians count.

Run: ``.venv/bin/python benchmarks/preprocess_speed.py [--frames 32] [--batch 8] [--json out.json]
[--variant default: --variant region:region_margin=0.5]`` (several settings side by side on the same clips)
(or ``pytest benchmarks/test_preprocess_bench.py -k side_by_side -s``). Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import numpy as np

SIZES = ((256, 256), (640, 480), (1280, 720))
FACE_SHARE = 0.75
"""FF++-like sizes: SynthFF is rendered this share of the frame height high (its face box then
spans about 0.31 of the frame height, as in FF++'s talking-head videos) and edge-padded."""


@contextmanager
def clock(out: dict, key: str):
    """Record wall and CPU seconds (self + finished children, e.g. ffmpeg) of the block in ``out``."""

    def cpu() -> float:
        s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

    w0, c0 = time.perf_counter(), cpu()
    yield
    out[key] = (time.perf_counter() - w0, cpu() - c0)


def synth_clip(width: int, height: int, frames: int, path: Path, identity: int = 0) -> Path:
    """A c23 SynthFF original of ``frames`` frames, rendered ``height`` px high, edge-padded to ``width``."""
    from umcl.data.compression import encode_frames
    from umcl.data.synthff.config import SynthFFConfig
    from umcl.data.synthff.render import make_actor, render_original
    from umcl.seeding import numpy_rng

    side = height if height <= 256 else 2 * int(round(FACE_SHARE * height / 2))
    gen = SynthFFConfig(n_identities=2 * (identity // 2 + 1), n_frames=frames, resolution=side)
    actor = make_actor(gen, identity)
    video, _ = render_original(actor, gen.pulse_amplitude, numpy_rng(gen.seed, "bench-speed", identity))
    top, left = (height - side) // 2, (width - side) // 2
    video = np.pad(video, ((0, 0), (top, height - side - top), (left, width - side - left), (0, 0)), mode="edge")
    return encode_frames(video, path, "c23", actor.fps)


def box_errors(ours: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """Mean |Δ| of the square boxes' coordinates (px), mean centre distance (px), mean IoU."""
    from umcl.data.preprocess.geometry import box_iou, square_boxes

    a, b = square_boxes(ours), square_boxes(ref)
    keep = np.isfinite(a).all(1) & np.isfinite(b).all(1)
    a, b = a[keep], b[keep]
    centre = np.linalg.norm((a[:, :2] + a[:, 2:]) / 2 - (b[:, :2] + b[:, 2:]) / 2, axis=1)
    return {
        "box_px": round(float(np.abs(a - b).mean()), 2),
        "centre_px": round(float(centre.mean()), 2),
        "iou": round(float(box_iou(a, b).mean()), 3),
    }


def per_frame_mtcnn(frames: np.ndarray, mtcnn, min_prob: float, batch: int = 16) -> np.ndarray:
    """The reference: facenet-pytorch's ``MTCNN.detect`` on every frame, most probable face per frame."""
    out = np.full((len(frames), 4), np.nan)
    for start in range(0, len(frames), batch):
        boxes, probs = mtcnn.detect(np.ascontiguousarray(frames[start : start + batch]))
        for j, (b, p) in enumerate(zip(boxes, probs, strict=True)):
            if b is not None and max(p) >= min_prob:
                out[start + j] = np.asarray(b, dtype=np.float64)[int(np.argmax(p))]
    return out


def default_preprocess(num_frames: int):
    """``config/default.yaml``'s preprocess section, with ``num_frames`` frames."""
    from umcl.config import load_config, section
    from umcl.data.preprocess.config import PreprocessConfig

    root = Path(__file__).resolve().parents[1]
    cfg = section(load_config(root / "config" / "default.yaml"), "preprocess", PreprocessConfig)
    return cfg.replace(num_frames=num_frames, xception_frames=min(cfg.xception_frames, num_frames))


def median_clock(work, repeats: int) -> tuple[float, float]:
    """Median wall and median CPU seconds of ``repeats`` runs of ``work()``."""
    times = []
    for _ in range(repeats):
        t: dict = {}
        with clock(t, "run"):
            work()
        times.append(t["run"])
    return float(np.median([w for w, _ in times])), float(np.median([c for _, c in times]))


def measure_size(width: int, height: int, variants: dict[str, object], work: Path, repeats: int = 3) -> list[dict]:
    """Rows of the side-by-side table for ``width`` x ``height`` clips: per-frame MTCNN, then each
    named preprocess setting (``variants``: name -> PreprocessConfig) on the same clip. Each side is
    run once untimed (so that both are timed in the steady state a batch of videos runs in: models
    loaded, the same tensor shapes seen before) and then ``repeats`` times; the medians count."""
    from umcl.data.compression import decode_video
    from umcl.data.preprocess.cache import read_cache
    from umcl.data.preprocess.faces import load_mtcnn
    from umcl.data.preprocess.pipeline import preprocess_video

    first = next(iter(variants.values()))
    n = first.num_frames
    clip = synth_clip(width, height, n, work / f"clip_{width}x{height}.mp4")
    mtcnn = load_mtcnn(first.device, first.min_face_size)
    frames, _ = decode_video(clip, n)
    ref = per_frame_mtcnn(frames, mtcnn, first.min_face_prob)  # warm-up: the same batch shapes as timed
    t: dict = {}
    t["mtcnn"] = median_clock(lambda: per_frame_mtcnn(frames, mtcnn, first.min_face_prob), repeats)
    moved = np.ascontiguousarray(np.pad(frames, ((0, 0), (1, 0), (1, 0), (0, 0)), mode="edge")[:, :-1, :-1])
    floor = per_frame_mtcnn(moved, mtcnn, first.min_face_prob) - 1.0
    rows = []
    for name, cfg in variants.items():
        preprocess_video(clip, work / f"ours_{width}.npz", cfg)  # warm-up: the same shapes as timed
        t["ours"] = median_clock(partial(preprocess_video, clip, work / f"ours_{width}.npz", cfg), repeats)
        ours = read_cache(work / f"ours_{width}.npz", keys=("boxes",))["boxes"]
        row = {
            "size": f"{width}x{height}",
            "variant": name,
            "frames": n,
            "face_px": round(float(np.nanmean(ref[:, 3] - ref[:, 1])), 1),
        }
        for key, (wall, cpu) in t.items():
            row[f"{key}_fps_cpu"] = round(n / cpu, 1)
            row[f"{key}_fps_wall"] = round(n / wall, 1)
        row["ratio_cpu"] = round(row["ours_fps_cpu"] / row["mtcnn_fps_cpu"], 2)
        row["ratio_wall"] = round(row["ours_fps_wall"] / row["mtcnn_fps_wall"], 2)
        row.update(box_errors(ours, ref))
        row["mtcnn_vs_itself_1px_box_px"] = box_errors(floor, ref)["box_px"]
        row["stage_cpu_ms_per_frame"] = stage_ms_per_frame(clip, cfg, work)
        rows.append(row)
    return rows


def measure_batch(cfg, work: Path, videos: int, workers: int = 2) -> dict:
    """Frames/s of ``umcl preprocess --manifest ... --workers 2`` over ``videos`` 256 px clips.

    Run as the pipeline runs it: a fresh ``umcl`` process (its imports, model loading and worker
    start-up included); wall time and the CPU time of that process and all its children.
    """
    import subprocess
    import sys

    import yaml

    from umcl.data.manifest import VideoRecord, write_manifest

    rows = []
    for i in range(videos):
        path = synth_clip(256, 256, cfg.num_frames, work / f"batch_{i:03d}.mp4", identity=i)
        rows.append(
            VideoRecord(
                id=f"{i:03d}",
                path=str(path),
                label=0,
                method="original",
                compression="c23",
                split="test",
                dataset="synthff",
            )
        )
    manifest = work / "batch.csv"
    write_manifest(rows, manifest)
    config = work / "batch.yaml"
    config.write_text(yaml.safe_dump({"preprocess": cfg.to_dict()}))
    umcl = Path(sys.executable).with_name("umcl")
    cmd = [
        str(umcl),
        "preprocess",
        "--config",
        str(config),
        "--manifest",
        str(manifest),
        "--out",
        str(work / "cache"),
        "--out-manifest",
        str(work / "pre.csv"),
        "--workers",
        str(workers),
        "--no-progress",
    ]
    t: dict = {}
    with clock(t, "batch"):
        subprocess.run(cmd, check=True, capture_output=True)
    wall, cpu = t["batch"]
    from umcl.data.manifest import read_manifest

    frames = cfg.num_frames * sum(r.status == "ok" for r in read_manifest(work / "pre.csv"))
    return {
        "videos": videos,
        "workers": workers,
        "frames": frames,
        "fps_wall": round(frames / wall, 1),
        "cpu_s_per_frame_ms": round(1000 * cpu / max(frames, 1), 2),
        "fps_2_free_cores": round(frames / max(cpu / 2, 1e-9), 1),
    }


def stage_ms_per_frame(clip: Path, cfg, work: Path) -> dict[str, float]:
    """CPU ms per frame of each stage of :func:`preprocess_video` (models loaded; best of 2 runs)."""
    from umcl.data.preprocess.cache import write_cache
    from umcl.data.preprocess.calibration import calibrate_landmarks
    from umcl.data.preprocess.faces import crop_faces, evenly_spaced, track_faces
    from umcl.data.preprocess.landmarks import detect_landmarks
    from umcl.data.preprocess.pipeline import _landmarker, load_clip

    best: dict[str, float] = {}
    for _ in range(2):
        t: dict = {}
        with clock(t, "decode"):
            frames, _ = load_clip(clip, cfg.num_frames)
        with clock(t, "face boxes"):
            track = track_faces(frames, cfg)
        with clock(t, "dlib"):
            raw = detect_landmarks(frames, track.boxes, _landmarker(cfg))
        with clock(t, "calibration"):
            calib = calibrate_landmarks(frames, raw)
        with clock(t, "crops"):
            idx = evenly_spaced(len(frames), cfg.xception_frames)
            faces = crop_faces(frames, track.boxes, cfg.face_scale, cfg.crop_size)
            xfaces = crop_faces(frames[idx], track.boxes[idx], cfg.xception_scale, cfg.xception_size)
        with clock(t, "write"):
            write_cache(
                work / "stages.npz",
                faces=faces,
                xception_faces=xfaces,
                landmarks=calib.normalised,
                landmarks_raw=raw,
                boxes=track.boxes,
                detected=track.detected,
                fps=25.0,
                detection_rate=track.detection_rate,
                meta={},
            )
        for k, (_, cpu) in t.items():
            best[k] = min(best.get(k, np.inf), 1000 * cpu / len(frames))
    return {k: round(v, 2) for k, v in best.items()}


def markdown(rows: list[dict]) -> str:
    """The side-by-side table."""
    head = (
        "| frames (face px) | settings | per-frame MTCNN fps (CPU / wall) | ours end to end fps (CPU / wall) "
        "| ratio (CPU / wall) | box error px | centre px | IoU | MTCNN vs itself, 1 px shift |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    lines = [
        f"| {r['size']} × {r['frames']} ({r['face_px']}) | {r['variant']} "
        f"| {r['mtcnn_fps_cpu']} / {r['mtcnn_fps_wall']} "
        f"| {r['ours_fps_cpu']} / {r['ours_fps_wall']} | {r['ratio_cpu']}× / {r['ratio_wall']}× "
        f"| {r['box_px']} | {r['centre_px']} | {r['iou']} | {r['mtcnn_vs_itself_1px_box_px']} |"
        for r in rows
    ]
    return "\n".join([head, *lines])


def run(
    frames: int = 32, batch: int = 8, sizes=SIZES, variants: dict[str, dict] | None = None, repeats: int = 3
) -> dict:
    """Measure every size (per-frame MTCNN and each variant of the settings) and the 2-worker batch
    (with the first variant); returns the numbers (and prints the table).

    ``variants``: name -> overrides of the default preprocess settings (e.g.
    ``{"default": {}, "region": {"region_margin": 0.5}}``); default: the default settings alone.
    """
    import os

    import torch

    torch.set_num_threads(1)
    base = default_preprocess(frames)
    configs = {name: base.replace(**changes) for name, changes in (variants or {"default": {}}).items()}
    with tempfile.TemporaryDirectory() as tmp:
        rows = [row for w, h in sizes for row in measure_size(w, h, configs, Path(tmp), repeats)]
        batch_row = measure_batch(next(iter(configs.values())), Path(tmp), batch) if batch else None
    result = {
        "preprocess": {name: cfg.to_dict() for name, cfg in configs.items()},
        "rows": rows,
        "repeats": repeats,
        "batch_256": batch_row,
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    print(markdown(rows))
    for r in rows:
        print(f"{r['size']} {r['variant']}: CPU ms per frame by stage {r['stage_cpu_ms_per_frame']}")
    if batch_row:
        print(
            f"\nbatch of {batch_row['videos']} x {frames}-frame 256 px clips, {batch_row['workers']} worker processes "
            f"({next(iter(configs))} settings): {batch_row['fps_wall']} frames/s wall (a fresh `umcl preprocess`: "
            f"start-up included), {batch_row['cpu_s_per_frame_ms']} ms CPU per frame (the process and its children)"
        )
    print(f"load average {os.getloadavg()} on {os.cpu_count()} CPUs")
    print(targets(result))
    return result


def targets(result: dict) -> str:
    """Issue 9 §4's targets against this run (CPU-time figures: what free cores would give)."""
    lines = []
    b = result.get("batch_256")
    if b:
        lines.append(
            f"end to end on 2 cores (256 px, batch, start-up included): {b['fps_wall']} fps wall, "
            f"{b['fps_2_free_cores']} fps on 2 free cores (CPU time) -- target >= 200"
        )
    for r in result["rows"]:
        if r["size"] != "256x256":
            lines.append(
                f"{r['size']} {r['variant']}: {r['ratio_cpu']}x per-frame MTCNN (CPU; wall {r['ratio_wall']}x) "
                "-- target >= 5; "
                f"box error {r['box_px']} px -- target <= 2 (MTCNN vs itself {r['mtcnn_vs_itself_1px_box_px']})"
            )
    return "\n".join(lines)


def _overrides(text: str) -> dict:
    """``KEY=VALUE,KEY=VALUE`` -> {key: YAML value}."""
    import yaml

    return {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in text.split(",") if item)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8, help="clips in the 2-worker batch run (0 = skip)")
    parser.add_argument("--sizes", nargs="+", default=[f"{w}x{h}" for w, h in SIZES], help="e.g. 256x256 640x480")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE,...",
        help="settings measured side by side on the same clips (repeatable; the first also "
        "runs the batch); none: config/default.yaml's, named 'default'",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per side (medians), after one untimed")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes]
    variants = {name: _overrides(text) for name, text in (v.partition(":")[::2] for v in args.variant)} or None
    result = run(args.frames, args.batch, sizes, variants, args.repeats)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
