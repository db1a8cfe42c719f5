"""reports/pulse: is SynthFF's pulse a pulse? Zero-shot, models that have seen real faces read it.

A SynthFF set of its own is generated from the profile's ``synthff`` section (seed, variant,
difficulty, pulse model) with ``n_frames`` long enough for one 160-frame window at 30 fps (the
pipeline's own clips are 32 frames, 1.3 s: no heart rate can be read from those), compressed to
c23/c40 exactly as the pipeline's data. On it:

* **originals** at raw, c23, c40: open-rppg's PURE and RLAP PhysFormers (:mod:`umcl.pulse`, on
  128 px crops of the ground-truth landmark box widened to the forehead) beside POS, CHROM and GREEN
  (:mod:`umcl.rppg`, on the mean RGB of the landmark skin mask): heart-rate MAE and RMSE against the
  ground truth's mean HR, and Pearson of the band-passed (0.7-3.5 Hz) signal with the band-passed
  ground-truth BVP;
* **fakes** at ``fake_levels``: per manipulation and method, how often the rate read inside the
  mask (PhysFormer: the whole crop, which the mask covers; POS/CHROM/GREEN: skin AND mask) is within
  5 bpm of the ground truth's rate inside the mask (``hr_inside``; Deepfakes has none), of the
  target's and of the source's.

Ground-truth landmarks place the crops so that the question is the pulse, not face detection.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from umcl.logs import get_logger
from umcl.specs.workflow import PulseStudyConfig

log = get_logger("pulse_study")
FOUND_BPM = 5.0
CLASSIC = ("POS", "CHROM", "GREEN")


def study_synthff(synth, study: PulseStudyConfig):
    """The profile's SynthFF settings with the study's size and length."""
    return dataclasses.replace(
        synth,
        n_identities=study.n_identities,
        n_frames=study.n_frames,
        resolution=study.resolution or synth.resolution,
        lookalike_identities=None,
        workers=1,
    )


def landmark_boxes(landmarks: np.ndarray) -> np.ndarray:
    """[T, 4] boxes of 68 landmarks [T, 68, 2], widened up by 30 % of their height for the forehead."""
    lo, hi = landmarks.min(axis=1), landmarks.max(axis=1)
    lo[:, 1] -= 0.3 * (hi[:, 1] - lo[:, 1])
    return np.concatenate([lo, hi], axis=1)


def bandpassed_pearson(x: np.ndarray, y: np.ndarray, fps: float) -> float:
    """Pearson of ``x`` and ``y`` after the heart-rate band-pass (0.7-3.5 Hz) of umcl.rppg."""
    from scipy import signal as sps

    from umcl.rppg import HR_BAND_HZ, _butter

    b, a = _butter(fps, HR_BAND_HZ)
    fx, fy = sps.filtfilt(b, a, sps.detrend(x)), sps.filtfilt(b, a, sps.detrend(y))
    return float(np.corrcoef(fx, fy)[0, 1])


def read_methods(frames: np.ndarray, fps: float, gt, models: dict, region: np.ndarray | None = None) -> dict:
    """Every method's BVP of one video: PhysFormers on landmark crops, classic ones on the skin trace."""
    from umcl.data.preprocess.faces import crop_faces
    from umcl.pulse import CROP, estimate_pulse
    from umcl.rppg import chrom, green, pos, skin_trace

    out = {}
    crops = crop_faces(frames, landmark_boxes(gt["landmarks"]), 1.1, CROP)
    for name, fn in models.items():
        out[name] = estimate_pulse(crops, fps, fn).bvp
    trace = skin_trace(frames, gt["landmarks"], region)
    for name, method in (("POS", lambda t: pos(t, fps)), ("CHROM", lambda t: chrom(t, fps)), ("GREEN", green)):
        out[name] = method(trace)
    return out


def _mask_region(gt, shape: tuple[int, int]) -> np.ndarray:
    import cv2

    return np.stack([cv2.resize(m, (shape[1], shape[0])) > 128 for m in gt["mask"]])


def measure(root: Path, synth, study: PulseStudyConfig, models: dict) -> dict:
    """Per-video readings of the originals (every level) and fakes (``fake_levels``) of ``root``."""
    from umcl.data.compression import read_video
    from umcl.data.synthff.generate import id_width, plan, video_paths
    from umcl.rppg import estimate_hr

    width = id_width(synth.n_identities)
    videos = []
    for job in plan(synth):
        levels = ("raw", "c23", "c40") if job.source is None else tuple(study.fake_levels)
        raw, gt_path = video_paths(root, job, width)
        with np.load(gt_path) as g:
            gt = {k: g[k] for k in g.files if k != "meta"}
        for level in levels:
            frames, fps = read_video(Path(str(raw).replace("/raw/videos/", f"/{level}/videos/")))
            region = None if job.source is None else _mask_region(gt, frames.shape[1:3])
            bvps = read_methods(frames, fps, gt, models, region)
            row = {
                "method": job.method,
                "video": job.name(width),
                "level": level,
                "fps": fps,
                "hr_gt": float(gt["hr"]),
                "readings": {},
            }
            if job.source is not None:
                row.update(hr_inside=float(gt["hr_inside"]), source_hr=float(gt["source_hr"]))
            for name, bvp in bvps.items():
                reading = {"hr": estimate_hr(bvp, fps)}
                if job.source is None:
                    reading["pearson"] = bandpassed_pearson(bvp, gt["pulse"].astype(np.float64), fps)
                row["readings"][name] = reading
            videos.append(row)
            log.info(
                "%s %s %s: %s",
                job.method,
                row["video"],
                level,
                {k: round(v["hr"], 1) for k, v in row["readings"].items()},
            )
    return {"videos": videos}


def summarise(videos: list[dict], names: list[str]) -> dict:
    """Originals: MAE, RMSE, mean Pearson per method and level; fakes: found-rates per manipulation."""
    originals, fakes = {}, {}
    for level in ("raw", "c23", "c40"):
        rows = [v for v in videos if v["method"] == "original" and v["level"] == level]
        if not rows:
            continue
        originals[level] = {}
        for name in names:
            err = np.array([r["readings"][name]["hr"] - r["hr_gt"] for r in rows])
            originals[level][name] = {
                "mae_bpm": float(np.abs(err).mean()),
                "rmse_bpm": float(np.sqrt((err**2).mean())),
                "pearson": float(np.mean([r["readings"][name]["pearson"] for r in rows])),
                "within_5bpm": float(np.mean(np.abs(err) <= FOUND_BPM)),
                "n": len(rows),
            }
    for row in (v for v in videos if v["method"] != "original"):
        cell = fakes.setdefault(row["method"], {}).setdefault(row["level"], {})
        for name in names:
            hr = row["readings"][name]["hr"]
            c = cell.setdefault(name, {"inside": [], "target": [], "source": []})
            c["inside"].append(None if math.isnan(row["hr_inside"]) else abs(hr - row["hr_inside"]) <= FOUND_BPM)
            c["target"].append(abs(hr - row["hr_gt"]) <= FOUND_BPM)
            c["source"].append(abs(hr - row["source_hr"]) <= FOUND_BPM)
    for per_level in fakes.values():
        for cell in per_level.values():
            for name, c in cell.items():
                inside = [x for x in c["inside"] if x is not None]
                cell[name] = {
                    "inside_found": float(np.mean(inside)) if inside else None,
                    "reads_target": float(np.mean(c["target"])),
                    "reads_source": float(np.mean(c["source"])),
                    "n": len(c["target"]),
                }
    return {"originals": originals, "fakes": fakes}


def markdown(result: dict) -> str:
    """reports/pulse.md."""
    names = result["methods"]
    lines = [
        "# Is SynthFF's pulse a pulse? (zero-shot)",
        "",
        f"SynthFF set of the profile's generator: {result['synthff']['n_identities']} identities, "
        f"{result['synthff']['n_frames']} frames at {result['fps']:g} fps, {result['resolution']} px, "
        f"seed {result['synthff']['seed']}, pulse amplitude {result['synthff']['pulse_amplitude']}. "
        "PhysFormer-PURE/-RLAP: open-rppg 0.1.1's weights (never trained on SynthFF) on 128 px "
        "ground-truth-landmark crops; POS/CHROM/GREEN on the landmark skin mask (umcl.pulse_study).",
        "",
        "## Originals: heart rate against the ground truth",
        "",
        "| level | method | HR MAE (bpm) | HR RMSE (bpm) | within 5 bpm | Pearson with GT BVP |",
        "|---|---|---|---|---|---|",
    ]
    for level, per in result["summary"]["originals"].items():
        for name in names:
            m = per[name]
            lines.append(
                f"| {level} | {name} | {m['mae_bpm']:.1f} | {m['rmse_bpm']:.1f} | "
                f"{m['within_5bpm']:.0%} ({m['n']}) | {m['pearson']:.2f} |"
            )
    lines += [
        "",
        "## Fakes: which pulse is read inside the mask (share of fakes within 5 bpm)",
        "",
        "Deepfakes has no pulse inside its mask (`hr_inside` is NaN); FaceSwap carries the source's; "
        "Face2Face and NeuralTextures the target's, attenuated (docs/synthff.md).",
        "",
        "| manipulation | level | method | inside rate found | reads target | reads source |",
        "|---|---|---|---|---|---|",
    ]
    for method, per_level in result["summary"]["fakes"].items():
        for level, cell in per_level.items():
            for name in names:
                c = cell[name]
                inside = "n/a" if c["inside_found"] is None else f"{c['inside_found']:.0%}"
                lines.append(
                    f"| {method} | {level} | {name} | {inside} | {c['reads_target']:.0%} | {c['reads_source']:.0%} |"
                )
    return "\n".join(lines) + "\n"


def figure(result: dict, path: Path) -> None:
    """HR MAE and Pearson per method and level (originals)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names, per = result["methods"], result["summary"]["originals"]
    levels = list(per)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        x = np.arange(len(levels)) + i * width
        axes[0].bar(x, [per[lv][name]["mae_bpm"] for lv in levels], width, label=name)
        axes[1].bar(x, [per[lv][name]["pearson"] for lv in levels], width, label=name)
    for ax, title in zip(axes, ("HR MAE (bpm), originals", "Pearson with GT BVP, originals"), strict=True):
        ax.set_xticks(np.arange(len(levels)) + 0.4 - width / 2, levels)
        ax.set_title(title)
    axes[0].legend(fontsize=8)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run_study(synth, study: PulseStudyConfig, work: Path, prefix: Path, workers: int = 1) -> dict:
    """Generate (or reuse) the study's set under ``work``, read it, write ``prefix``.{md,json,png}."""
    from umcl.data.compression import compress_tree
    from umcl.data.synthff import generate
    from umcl.data.synthff.render import resolved
    from umcl.io_utils import atomic_path
    from umcl.models.open_rppg import build_physformer
    from umcl.pulse import physformer_fn

    cfg = study_synthff(synth, study)
    generate(cfg, work, workers=workers)
    compress_tree(work, ("c23", "c40"), workers)
    models, sources = {}, {}
    for w in study.weights:
        model, source = build_physformer(w)
        models[f"PhysFormer-{w.upper()}"] = physformer_fn(model)
        sources[w] = source.identity()
    result = {
        "synthff": dataclasses.asdict(cfg),
        "study": dataclasses.asdict(study),
        "weights": sources,
        "methods": [*models, *CLASSIC],
    }
    res, fps, _ = resolved(cfg)
    result.update(resolution=res, fps=fps)
    result.update(measure(work, cfg, study, models))
    result["summary"] = summarise(result["videos"], result["methods"])
    prefix.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(prefix.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(result, indent=1) + "\n")
    with atomic_path(prefix.with_suffix(".md")) as tmp:
        tmp.write_text(markdown(result))
    with atomic_path(prefix.with_suffix(".png")) as tmp:
        figure(result, tmp)
    return result
