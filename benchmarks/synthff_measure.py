"""Measure SynthFF against real detectors and rPPG: MTCNN detection rate, dlib landmark error,
pulse recovery (originals, per compression level), FaceSwap inside/outside rates, sizes and PSNR.

Usage: ``python benchmarks/synthff_measure.py OUT_DIR [--ids 10] [--frames 32] [--res 256]``.
Writes ``OUT_DIR/measure.json``; the numbers are quoted in docs/synthff.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np

from umcl.data.compression import compress_tree, read_video
from umcl.data.synthff import SynthFFConfig, generate, plan, video_paths
from umcl.data.synthff.camera import Pose, to_frame
from umcl.rppg import chrom, estimate_hr, pos, skin_trace

NECK = np.array([[0.32, 1.07], [0.68, 1.07], [0.68, 1.28], [0.32, 1.28]])


def level_path(path: Path, level: str) -> Path:
    return Path(str(path).replace("/raw/videos/", f"/{level}/videos/"))


def detection(root: Path, cfg: SynthFFConfig) -> dict:
    import dlib
    import torch
    from facenet_pytorch import MTCNN

    torch.set_num_threads(1)
    mtcnn = MTCNN(keep_all=False, device="cpu")
    loc = importlib.util.find_spec("face_recognition_models").submodule_search_locations[0]
    predictor = dlib.shape_predictor(str(Path(loc) / "models/shape_predictor_68_face_landmarks.dat"))
    dlib_det = dlib.get_frontal_face_detector()
    out: dict = {}
    for level in ("raw", "c23", "c40"):
        per_method: dict[str, list[int]] = {}
        errs = []
        for job in plan(cfg):
            video, gt_path = video_paths(root, job, 3)
            frames, _ = read_video(level_path(video, level))
            boxes, _ = mtcnn.detect(frames[::4])
            hit = per_method.setdefault(job.method, [0, 0])
            hit[0] += sum(b is not None for b in boxes)
            hit[1] += len(boxes)
            if job.method == "original":
                with np.load(gt_path) as g:
                    gt = g["landmarks"]
                for t in range(0, len(frames), 4):
                    gray = cv2.cvtColor(frames[t], cv2.COLOR_RGB2GRAY)
                    d = dlib_det(gray, 1)
                    if len(d):
                        s = predictor(gray, d[0])
                        p = np.array([[s.part(k).x, s.part(k).y] for k in range(68)], float)
                        errs.append(float(np.linalg.norm(p - gt[t], axis=1).mean()))
        out[level] = {
            "mtcnn_rate": {m: h[0] / h[1] for m, h in per_method.items()},
            "dlib_mean_px_originals": float(np.mean(errs)) if errs else None,
            "dlib_frames": len(errs),
        }
    return out


def pulse(root: Path, cfg: SynthFFConfig) -> dict:
    out: dict = {}
    for level in ("raw", "c23", "c40"):
        ok = {"pos": [], "chrom": []}
        for i in range(cfg.n_identities):
            video, gt_path = video_paths(root, plan(cfg)[i], 3)
            frames, fps = read_video(level_path(video, level))
            with np.load(gt_path) as g:
                tr, hr = skin_trace(frames, g["landmarks"]), float(g["hr"])
            ok["pos"].append(abs(estimate_hr(pos(tr, fps), fps) - hr))
            ok["chrom"].append(abs(estimate_hr(chrom(tr, fps), fps) - hr))
        out[level] = {
            k: {"within_5bpm": float(np.mean(np.array(v) <= 5)), "mae_bpm": float(np.mean(v))} for k, v in ok.items()
        }
    fs = []
    for job in [j for j in plan(cfg) if j.method == "FaceSwap"]:
        video, gt_path = video_paths(root, job, 3)
        frames, fps = read_video(video)
        res = frames.shape[1]
        with np.load(gt_path) as g:
            inside = np.stack([cv2.resize(m, (res, res)) > 128 for m in g["mask"]])
            hr_in = estimate_hr(pos(skin_trace(frames, g["landmarks"], inside), fps), fps)
            neck = []
            for t, p in enumerate(g["pose"]):
                m = np.zeros((res, res), np.uint8)
                cv2.fillPoly(m, [np.round(to_frame(NECK, Pose(*map(float, p)))).astype(np.int32)], 1)
                neck.append(frames[t][m.astype(bool) & ~inside[t]].mean(axis=0))
            hr_out = estimate_hr(pos(np.array(neck), fps), fps)
            fs.append(
                {"source_hr": float(g["source_hr"]), "target_hr": float(g["hr"]), "inside": hr_in, "outside": hr_out}
            )
    out["faceswap"] = fs
    out["faceswap_inside_is_source"] = float(np.mean([abs(f["inside"] - f["source_hr"]) <= 5 for f in fs]))
    out["faceswap_outside_is_target"] = float(np.mean([abs(f["outside"] - f["target_hr"]) <= 5 for f in fs]))
    return out


def sizes(root: Path) -> dict:
    out = {}
    for level in ("raw", "c23", "c40"):
        files = list(root.glob(f"**/{level}/videos/*.mp4"))
        out[level] = {"files": len(files), "mean_kb": float(np.mean([f.stat().st_size for f in files]) / 1024)}
    psnr = {"c23": [], "c40": []}
    for raw in sorted(root.glob("original_sequences/youtube/raw/videos/*.mp4")):
        a = read_video(raw)[0].astype(np.float64)
        for level in psnr:
            b = read_video(level_path(raw, level))[0].astype(np.float64)
            psnr[level].append(10 * np.log10(255**2 / np.mean((a - b) ** 2)))
    out["psnr_db_vs_raw"] = {k: float(np.mean(v)) for k, v in psnr.items()}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--ids", type=int, default=10)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--res", type=int, default=256)
    ap.add_argument("--pulse-res", type=int, default=128)
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    det_cfg = SynthFFConfig(n_identities=a.ids, n_frames=a.frames, resolution=a.res, seed=100)
    pulse_cfg = SynthFFConfig(
        n_identities=a.ids, n_frames=250, fps=25, resolution=a.pulse_res, seed=200, methods=["FaceSwap"]
    )
    result = {"detection_config": dataclasses.asdict(det_cfg), "pulse_config": dataclasses.asdict(pulse_cfg)}
    for cfg, sub in ((det_cfg, "det"), (pulse_cfg, "pulse")):
        generate(cfg, a.out / sub, workers=a.workers)
        compress_tree(a.out / sub, ("c23", "c40"), a.workers)
    result["detection"] = detection(a.out / "det", det_cfg)
    result["sizes"] = sizes(a.out / "det")
    result["pulse"] = pulse(a.out / "pulse", pulse_cfg)
    (a.out / "measure.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if "config" not in k}, indent=1))


if __name__ == "__main__":
    main()
