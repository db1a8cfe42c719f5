"""Write a SynthFF dataset in the FaceForensics++ layout: raw videos, ground truth, splits.

Identities are paired (FF++ pairs): pair ``[a, b]`` gives originals ``a``, ``b`` and the fakes
``a_b`` (target a, source b) and ``b_a`` for every method. Pairs are split 72/14/14 % into
train/val/test like FF++'s 720/140/140 (at least one val and one test pair when there are >= 3
pairs). Each video is one job, seeded by its own key, so the output does not depend on the
number of workers or the order of the jobs; each video and its ground truth are written
atomically and finished videos are skipped on re-runs.
"""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from umcl.data.compression import encode_frames, write_encoder_json
from umcl.data.synthff.config import SynthFFConfig
from umcl.data.synthff.manipulations import artefact_level, render_fake
from umcl.data.synthff.render import TargetLayers, make_actor, render_original, resolved
from umcl.errors import UmclError
from umcl.io_utils import atomic_path, write_json
from umcl.logs import get_logger
from umcl.seeding import numpy_rng
from umcl.specs.splits import split_pairs
from umcl.specs.vocab import REAL_METHOD

log = get_logger("synthff")
ORIGINAL = REAL_METHOD


@dataclass(frozen=True)
class Job:
    """One video to write: an original (``source`` is None) or a fake ``target_source``."""

    method: str
    target: int
    source: int | None

    def name(self, width: int) -> str:
        a = f"{self.target:0{width}d}"
        return a if self.source is None else f"{a}_{self.source:0{width}d}"


def id_width(n: int) -> int:
    """Digits of a video id (FF++ uses 3: 000-999)."""
    return max(3, len(str(n - 1)))


def make_pairs(cfg: SynthFFConfig) -> list[tuple[int, int]]:
    """Disjoint identity pairs, shuffled deterministically from the seed."""
    order = numpy_rng(cfg.seed, "pairs").permutation(cfg.n_identities)
    return [(int(order[i]), int(order[i + 1])) for i in range(0, len(order), 2)]


def video_paths(root: Path, job: Job, width: int) -> tuple[Path, Path]:
    """(raw video path, ground-truth path) of a job in the FF++ layout."""
    name = job.name(width)
    if job.method == ORIGINAL:
        video = root / "original_sequences" / "youtube" / "raw" / "videos" / f"{name}.mp4"
    else:
        video = root / "manipulated_sequences" / job.method / "raw" / "videos" / f"{name}.mp4"
    return video, root / "ground_truth" / job.method / f"{name}.npz"


def plan(cfg: SynthFFConfig) -> list[Job]:
    """All videos of the dataset: originals first, then each method's fakes."""
    jobs = [Job(ORIGINAL, i, None) for i in range(cfg.n_identities)]
    for method in cfg.methods:
        for a, b in make_pairs(cfg):
            jobs += [Job(method, a, b), Job(method, b, a)]
    return jobs


def render_job(cfg: SynthFFConfig, job: Job, layers: TargetLayers | None = None) -> tuple[np.ndarray, dict]:
    """Frames and ground truth of one video (deterministic for (cfg, job)); ``layers``: the target's
    own frames, shared by the jobs with that target (:func:`by_target`)."""
    width = id_width(cfg.n_identities)
    noise_rng = numpy_rng(cfg.seed, "noise", cfg.variant, job.method, job.name(width))
    if layers is None:
        layers = TargetLayers(make_actor(cfg, job.target))
    elif layers.actor.index != job.target:
        raise ValueError(f"layers of actor {layers.actor.index} given for a job on target {job.target}")
    target = layers.actor
    if job.source is None:
        return render_original(target, cfg.pulse_amplitude, noise_rng, layers=layers)
    source = make_actor(cfg, job.source)
    art = artefact_level(cfg.difficulty, target.spec.artefact_scale)
    jitter_rng = numpy_rng(cfg.seed, "jitter", cfg.variant, job.method, job.name(width))
    return render_fake(job.method, target, source, cfg.pulse_amplitude, art, noise_rng, jitter_rng, layers=layers)


def by_target(jobs: list[Job]) -> list[list[Job]]:
    """The jobs grouped by target, each group in plan order: one worker renders a target's head once
    for its original and every fake made on it."""
    groups: dict[int, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.target, []).append(job)
    return list(groups.values())


def write_job(cfg: SynthFFConfig, root: Path, job: Job, layers: TargetLayers | None = None) -> str:
    """Render and write one video + ground truth atomically; skip if both already exist."""
    width = id_width(cfg.n_identities)
    video, gt_path = video_paths(root, job, width)
    if video.is_file() and gt_path.is_file():
        return "skipped"
    frames, gt = render_job(cfg, job, layers)
    _, fps, _ = resolved(cfg)
    meta = {
        "method": job.method,
        "target": f"{job.target:0{width}d}",
        "source": None if job.source is None else f"{job.source:0{width}d}",
        "config": dataclasses.asdict(cfg),
        "generator": "umcl.data.synthff",
    }
    with atomic_path(gt_path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, meta=np.array(json.dumps(meta, sort_keys=True)), **gt)
    encode_frames(frames, video, "raw", fps)
    return "written"


def write_group(args: tuple[SynthFFConfig, Path, list[Job]]) -> list[str]:
    """Write the jobs of one target (:func:`by_target`), sharing its rendered head."""
    cfg, root, group = args
    layers = TargetLayers(make_actor(cfg, group[0].target))
    return [write_job(cfg, root, job, layers) for job in group]


def write_splits(cfg: SynthFFConfig, root: Path) -> None:
    """ROOT/splits/{train,val,test}.json in the official format (lists of [a, b] id strings)."""
    width = id_width(cfg.n_identities)
    for name, pairs in split_pairs(make_pairs(cfg), cfg.val_fraction, cfg.test_fraction).items():
        write_json(root / "splits" / f"{name}.json", [[f"{a:0{width}d}", f"{b:0{width}d}"] for a, b in pairs])


def check_root(root: Path, settings: dict) -> None:
    """Refuse a ROOT that is a file or holds a SynthFF made with other settings; record ours."""
    if root.exists() and not root.is_dir():
        raise UmclError("output root exists and is not a folder", root, "pass a folder with --out")
    stamp = root / "synthff.json"
    if stamp.is_file():
        old = json.loads(stamp.read_text())
        if old != json.loads(json.dumps(settings)):
            diff = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
            raise UmclError(
                f"folder holds a SynthFF made with other settings ({', '.join(diff)})",
                root,
                "use another --out folder or delete this one",
            )
    elif any((root / d).exists() for d in ("original_sequences", "manipulated_sequences")):
        raise UmclError(
            "folder already holds a dataset that is not this SynthFF", root, "use a new or empty --out folder"
        )
    else:
        write_json(stamp, settings)


def generate(cfg: SynthFFConfig, root: str | Path, workers: int | None = None) -> dict[str, int]:
    """Generate the whole dataset under ``root``; returns counts of written/skipped videos."""
    from tqdm import tqdm

    root = Path(root)
    res, fps, _ = resolved(cfg)
    settings = {**dataclasses.asdict(cfg), "resolution": res, "fps": fps, "workers": None}
    check_root(root, settings)
    workers = workers or cfg.workers
    jobs = plan(cfg)
    log.info(
        "SynthFF %s: %d identities, %d videos, %d frames @ %g fps, %d px, seed %d, %d worker(s)",
        cfg.variant,
        cfg.n_identities,
        len(jobs),
        cfg.n_frames,
        fps,
        res,
        cfg.seed,
        workers,
    )
    write_splits(cfg, root)
    counts = {"written": 0, "skipped": 0}
    args = [(cfg, root, group) for group in by_target(jobs)]
    pool = ProcessPoolExecutor(workers) if workers > 1 and len(args) > 1 else None
    try:
        groups = pool.map(write_group, args, chunksize=1) if pool else map(write_group, args)
        with tqdm(total=len(jobs), desc="generate", unit="video") as bar:
            for results in groups:
                for r in results:
                    counts[r] += 1
                bar.update(len(results))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    write_encoder_json(root, {"synthff": settings})
    log.info("SynthFF done: %(written)d written, %(skipped)d skipped", counts)
    return counts
