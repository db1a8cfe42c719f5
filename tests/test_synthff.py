"""SynthFF: layout, splits, determinism, ground truth, detectability (MTCNN, dlib), real pulse."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from umcl.cli import main as umcl_main
from umcl.data.compression import compress_video, read_video
from umcl.data.synthff import SynthFFConfig, generate, make_pairs, plan, split_pairs, video_paths
from umcl.data.synthff.camera import Pose, to_frame
from umcl.data.synthff.config import VARIANTS
from umcl.data.synthff.generate import Job, id_width, render_job, write_job
from umcl.data.synthff.render import make_actor
from umcl.errors import ConfigError, UmclError
from umcl.rppg import chrom, estimate_hr, pos, skin_trace

METHODS = ["Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures"]


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[SynthFFConfig, Path]:
    """4 identities, 12 frames, 128 px, all four methods (20 raw videos), made through the CLI."""
    root = tmp_path_factory.mktemp("synthff")
    cfg_file = root.parent / "synthff_small.yaml"
    cfg_file.write_text("synthff:\n  n_identities: 4\n  n_frames: 12\n  resolution: 128\n  seed: 3\n")
    assert umcl_main(["generate", "--config", str(cfg_file), "--out", str(root), "--log", str(root / "gen.log")]) == 0
    return SynthFFConfig(n_identities=4, n_frames=12, resolution=128, seed=3), root


def test_layout_and_splits(small):
    cfg, root = small
    assert (root / "gen.log").read_text().count("SynthFF done") == 1
    vids = sorted((root / "original_sequences/youtube/raw/videos").glob("*.mp4"))
    assert [v.stem for v in vids] == ["000", "001", "002", "003"]
    splits = {s: json.loads((root / "splits" / f"{s}.json").read_text()) for s in ("train", "val", "test")}
    pairs = [p for s in splits.values() for p in s]
    assert all(isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in pairs)
    assert sorted(x for p in pairs for x in p) == ["000", "001", "002", "003"]
    for a, b in pairs:
        for m in METHODS:
            for name in (f"{a}_{b}", f"{b}_{a}"):
                assert (root / "manipulated_sequences" / m / "raw" / "videos" / f"{name}.mp4").is_file()
                assert (root / "ground_truth" / m / f"{name}.npz").is_file()
    enc = json.loads((root / "encoder.json").read_text())
    assert enc["levels"]["raw"] == "-c:v libx264rgb -crf 0 -preset ultrafast" and enc["synthff"]["seed"] == 3
    # FF++ proportions at FF++ size: 1000 ids -> 720/140/140 videos.
    big = split_pairs(make_pairs(SynthFFConfig(n_identities=1000)))
    assert [2 * len(big[s]) for s in ("train", "val", "test")] == [720, 140, 140]


def test_rerun_skips_finished_videos(small, tmp_path):
    cfg, root = small
    video = root / "original_sequences/youtube/raw/videos/000.mp4"
    before = video.stat().st_mtime_ns
    assert generate(cfg, root) == {"written": 0, "skipped": 20}
    assert video.stat().st_mtime_ns == before


def test_bad_config_is_one_line_error(tmp_path, capsys):
    with pytest.raises(ConfigError, match="even"):
        SynthFFConfig(n_identities=3)
    for difficulty in (-0.6, 1.1):
        with pytest.raises(ConfigError, match=r"difficulty must be in \[-0.5, 1\]"):
            SynthFFConfig(difficulty=difficulty)
    assert SynthFFConfig(difficulty=-0.5).difficulty == -0.5
    bad = tmp_path / "bad.yaml"
    bad.write_text("synthff:\n  variant: nope\n")
    assert umcl_main(["generate", "--config", str(bad), "--out", str(tmp_path / "out")]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "variant" in err
    assert not (tmp_path / "out").exists()


def test_deterministic_for_a_seed(small, tmp_path):
    cfg, root = small
    fake = next(j for j in plan(cfg) if j.method == "FaceSwap")
    for job in (Job("original", 1, None), fake):
        write_job(cfg, tmp_path, job)
        a, ga = video_paths(root, job, 3)
        b, gb = video_paths(tmp_path, job, 3)
        assert a.read_bytes() == b.read_bytes()
        with np.load(ga) as x, np.load(gb) as y:
            assert all(np.array_equal(x[k], y[k], equal_nan=x[k].dtype.kind == "f") for k in x.files)
    other = dataclasses.replace(cfg, seed=4)
    f3, _ = render_job(other, Job("original", 1, None))
    f1, _ = read_video(video_paths(root, Job("original", 1, None), 3)[0])
    assert not np.array_equal(f1, f3)


def test_ground_truth_shapes_and_raw_is_lossless(small):
    cfg, root = small
    frames, fps = read_video(root / "original_sequences/youtube/raw/videos/002.mp4")
    rendered, _ = render_job(cfg, Job("original", 2, None))
    assert frames.shape == (12, 128, 128, 3) and fps == 25.0
    assert np.array_equal(frames, rendered)  # libx264rgb crf 0 is lossless
    with np.load(root / "ground_truth/original/002.npz") as g:
        assert g["landmarks"].shape == (12, 68, 2) and g["pulse"].shape == (12,)
        assert 50 <= float(g["hr"]) <= 110 and g["mask"].max() == 0
        assert json.loads(str(g["meta"]))["method"] == "original"
    for m in METHODS:
        with np.load(next((root / "ground_truth" / m).glob("*.npz"))) as g:
            assert g["mask"].shape == (12, 64, 64) and g["mask"].max() > 200
            frac = (g["mask"] > 128).mean()
            assert (0.005 < frac < 0.1) if m == "NeuralTextures" else (0.05 < frac < 0.5)


def test_mtcnn_finds_faces_raw_and_c23(small, tmp_path):
    import torch
    from facenet_pytorch import MTCNN

    cfg, root = small
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # far faster than oversubscribing a shared CPU
    detector = MTCNN(keep_all=False, device="cpu")
    videos = [
        root / "original_sequences/youtube/raw/videos/000.mp4",
        root / "original_sequences/youtube/raw/videos/003.mp4",
    ]
    videos += [next((root / "manipulated_sequences" / m / "raw/videos").glob("*.mp4")) for m in METHODS]
    rates = {}
    for level in ("raw", "c23"):
        found = total = 0
        for v in videos:
            src = (
                v if level == "raw" else compress_video(v, tmp_path / f"{v.parent.parent.parent.name}_{v.name}", "c23")
            )
            frames, _ = read_video(src)
            boxes, _ = detector.detect(frames[::2])
            found += sum(b is not None for b in boxes)
            total += len(boxes)
        rates[level] = found / total
    torch.set_num_threads(threads)
    assert rates["raw"] >= 0.95 and rates["c23"] >= 0.95, rates


def _dlib_predictor():
    import dlib

    loc = importlib.util.find_spec("face_recognition_models").submodule_search_locations[0]
    path = Path(loc) / "models" / "shape_predictor_68_face_landmarks.dat"
    return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(path))


def test_dlib_landmarks_match_ground_truth_at_256(tmp_path):
    detector, predictor = _dlib_predictor()
    cfg = SynthFFConfig(n_identities=2, n_frames=12, resolution=256, seed=11, methods=[])
    generate(cfg, tmp_path)
    errors = []
    for i in range(2):
        frames, _ = read_video(tmp_path / f"original_sequences/youtube/raw/videos/{i:03d}.mp4")
        with np.load(tmp_path / f"ground_truth/original/{i:03d}.npz") as g:
            gt = g["landmarks"]
        for t in range(0, 12, 2):
            gray = cv2.cvtColor(frames[t], cv2.COLOR_RGB2GRAY)
            dets = detector(gray, 1)
            assert len(dets) == 1
            shape = predictor(gray, dets[0])
            pred = np.array([[shape.part(k).x, shape.part(k).y] for k in range(68)], float)
            errors.append(np.linalg.norm(pred - gt[t], axis=1).mean())
    assert np.mean(errors) < 4.0, errors


NECK = np.array([[0.32, 1.07], [0.68, 1.07], [0.68, 1.28], [0.32, 1.28]])  # face units, below the chin


@pytest.fixture(scope="module")
def pulse_set(tmp_path_factory) -> tuple[SynthFFConfig, Path]:
    """5 originals; 2 FaceSwap, 1 Deepfakes, 2 Face2Face and 2 NeuralTextures fakes; 10 s at 10 fps,
    96 px (small frames, long clips)."""
    root = tmp_path_factory.mktemp("pulse")
    cfg = SynthFFConfig(n_identities=6, n_frames=100, fps=10, resolution=96, seed=5, methods=[])
    for i in range(5):
        write_job(cfg, root, Job("original", i, None))
    # FaceSwap fakes between people whose heart rates differ by > 10 bpm.
    hr = [make_actor(cfg, i).pulse.hr_mean for i in range(5)]
    pairs = [(a, b) for a in range(5) for b in range(5) if a != b and abs(hr[a] - hr[b]) > 10]
    for a, b in (pairs[0], pairs[-1]):
        write_job(cfg, root, Job("FaceSwap", a, b))
    write_job(cfg, root, Job("Deepfakes", *pairs[0]))
    for method in ("Face2Face", "NeuralTextures"):
        for a, b in (pairs[0], pairs[-1]):
            write_job(cfg, root, Job(method, a, b))
    return cfg, root


def test_pulse_recovered_from_raw_originals(pulse_set):
    cfg, root = pulse_set
    good = {"pos": 0, "chrom": 0}
    for i in range(5):
        frames, fps = read_video(root / f"original_sequences/youtube/raw/videos/{i:03d}.mp4")
        with np.load(root / f"ground_truth/original/{i:03d}.npz") as g:
            trace, hr = skin_trace(frames, g["landmarks"]), float(g["hr"])
        good["pos"] += abs(estimate_hr(pos(trace, fps), fps) - hr) <= 5
        good["chrom"] += abs(estimate_hr(chrom(trace, fps), fps) - hr) <= 5
    assert good["pos"] >= 4 and good["chrom"] >= 4, good


def test_faceswap_has_source_pulse_inside_target_pulse_outside(pulse_set):
    cfg, root = pulse_set
    names = sorted(p.stem for p in (root / "manipulated_sequences/FaceSwap/raw/videos").glob("*.mp4"))
    assert len(names) == 2
    for name in names:
        frames, fps = read_video(root / f"manipulated_sequences/FaceSwap/raw/videos/{name}.mp4")
        with np.load(root / f"ground_truth/FaceSwap/{name}.npz") as g:
            lm, pose, hr_t, hr_s = g["landmarks"], g["pose"], float(g["hr"]), float(g["source_hr"])
            res = frames.shape[1]
            inside = np.stack([cv2.resize(m, (res, res)) > 128 for m in g["mask"]])
        neck = np.zeros((len(frames), res, res), bool)
        for t, p in enumerate(pose):
            poly = np.round(to_frame(NECK, Pose(*map(float, p)))).astype(np.int32)
            m = np.zeros((res, res), np.uint8)
            cv2.fillPoly(m, [poly], 1)
            neck[t] = m.astype(bool) & ~inside[t]
        hr_in = estimate_hr(pos(skin_trace(frames, lm, inside), fps), fps)
        hr_out = estimate_hr(pos(np.stack([f[m].mean(axis=0) for f, m in zip(frames, neck, strict=True)]), fps), fps)
        assert abs(hr_in - hr_s) <= 5 and abs(hr_out - hr_t) <= 5, (name, hr_in, hr_s, hr_out, hr_t)


VARIANT_CAPTURE = {"ff": (256, 25.0), "celebdf": (320, 30.0), "dfd": (256, 24.0), "dfdc": (192, 30.0)}
"""Default frame side (px) and frame rate of each variant, as documented in docs/synthff.md."""


def test_variants_have_their_documented_size_and_fps():
    assert set(VARIANT_CAPTURE) == set(VARIANTS)
    for variant, (side, fps) in VARIANT_CAPTURE.items():
        cfg = SynthFFConfig(n_identities=2, n_frames=8, variant=variant, methods=["Deepfakes"])
        frames, gt = render_job(cfg, Job("Deepfakes", 0, 1))
        assert frames.shape == (8, side, side, 3), (variant, frames.shape)
        assert float(gt["fps"]) == fps, (variant, float(gt["fps"]))
    # an explicit resolution/fps overrides the variant's default
    cfg = SynthFFConfig(n_identities=2, n_frames=8, variant="celebdf", methods=["Deepfakes"], resolution=64, fps=20.0)
    frames, gt = render_job(cfg, Job("Deepfakes", 0, 1))
    assert frames.shape == (8, 64, 64, 3) and float(gt["fps"]) == 20.0


def test_plan_covers_every_pair_and_method():
    cfg = SynthFFConfig(n_identities=6, methods=["FaceSwap", "NeuralTextures"])
    jobs = plan(cfg)
    assert len(jobs) == 6 + 2 * 6
    names = {j.name(id_width(6)) for j in jobs if j.method == "FaceSwap"}
    assert names == {f"{a:03d}_{b:03d}" for p in make_pairs(cfg) for a, b in (p, p[::-1])}


def test_workers_do_not_change_output_and_root_is_checked(tmp_path):
    cfg = SynthFFConfig(n_identities=2, n_frames=8, resolution=64, methods=["NeuralTextures"])
    generate(cfg, tmp_path / "one")
    generate(cfg, tmp_path / "two", workers=2)
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.mp4"))
    assert len(files) == 4
    assert all((tmp_path / "one" / f).read_bytes() == (tmp_path / "two" / f).read_bytes() for f in files)
    with pytest.raises(UmclError, match="other settings"):
        generate(dataclasses.replace(cfg, seed=1), tmp_path / "one")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UmclError, match="not a folder"):
        generate(cfg, tmp_path / "file")


def _hr_power_fraction(trace: np.ndarray, fps: float, hr: float) -> float:
    """Share of the 0.7-3.5 Hz POS power within +-6 bpm of ``hr``."""
    x = pos(trace, fps)
    freqs = np.fft.rfftfreq(8 * len(x), 1 / fps) * 60
    power = np.abs(np.fft.rfft(x - x.mean(), 8 * len(x))) ** 2
    band = (freqs >= 42) & (freqs <= 210)
    return float(power[band & (np.abs(freqs - hr) <= 6)].sum() / power[band].sum())


def test_deepfakes_region_has_no_pulse(pulse_set):
    """Inside the Deepfakes mask the target's pulse is gone; the same region of the original has it."""
    _, root = pulse_set
    name = next((root / "manipulated_sequences/Deepfakes/raw/videos").glob("*.mp4")).stem
    in_real, in_fake = _mask_hr_power_fractions(root, "Deepfakes", name)
    print(f"HR power fraction inside the mask: original {in_real:.2f}, Deepfakes {in_fake:.2f}")
    assert in_real > 0.5 and in_fake < 0.5 * in_real, (in_real, in_fake)


def _fake_and_original(root: Path, method: str, name: str):
    """Frames, fps and ground truth of the fake ``name`` and of its target's and source's originals."""
    fake, fps = read_video(root / f"manipulated_sequences/{method}/raw/videos/{name}.mp4")
    real, _ = read_video(root / f"original_sequences/youtube/raw/videos/{name[:3]}.mp4")
    with np.load(root / f"ground_truth/{method}/{name}.npz") as g:
        gt_fake = dict(g)
    with np.load(root / f"ground_truth/original/{name[:3]}.npz") as g:
        gt_target = dict(g)
    with np.load(root / f"ground_truth/original/{name[4:]}.npz") as g:
        gt_source = dict(g)
    res = fake.shape[1]
    inside = np.stack([cv2.resize(m, (res, res)) > 128 for m in gt_fake["mask"]])
    return fake, real, fps, inside, gt_fake, gt_target, gt_source


def _mask_hr_power_fractions(root: Path, method: str, name: str) -> tuple[float, float]:
    """Share of POS power at the target's HR inside the fake's mask: (original, fake), same region."""
    fake, real, fps, inside, g, g_real, _ = _fake_and_original(root, method, name)
    hr = float(g["hr"])
    return (
        _hr_power_fraction(skin_trace(real, g_real["landmarks"], inside), fps, hr),
        _hr_power_fraction(skin_trace(fake, g["landmarks"], inside), fps, hr),
    )


def _mouth_darkness(frames: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Per frame, minus the mean luma inside the outer-lip hull: rises as the mouth opens."""
    out = np.empty(len(frames))
    for t, (f, lm) in enumerate(zip(frames, landmarks, strict=True)):
        m = np.zeros(f.shape[:2], np.uint8)
        cv2.fillConvexPoly(m, cv2.convexHull(np.round(lm[48:60]).astype(np.int32)), 1)
        out[t] = -(f.astype(float) @ [0.299, 0.587, 0.114])[m.astype(bool)].mean()
    return out


@pytest.mark.parametrize(("method", "cap"), [("Face2Face", 1.0), ("NeuralTextures", 0.1)])
def test_reenactment_pulse_is_attenuated_inside_the_mask(pulse_set, method, cap):
    """Face2Face (whole inner face) and NeuralTextures (mouth only) re-render a region whose pulse is
    weak: measured from pixels by POS, the target's heart rate holds far less of the power there
    than in the same region of the original.

    The mouth region is small and moves with the source's speech, which alone lowers the fraction
    somewhat; the cap separates NeuralTextures' 10 % pulse gain (measured 0.01-0.07 over 5 pairs and
    two difficulties) from an unattenuated pulse (0.03-0.27)."""
    _, root = pulse_set
    for video in sorted((root / f"manipulated_sequences/{method}/raw/videos").glob("*.mp4")):
        in_real, in_fake = _mask_hr_power_fractions(root, method, video.stem)
        print(f"{method} {video.stem}: HR power fraction inside the mask, original {in_real:.2f}, fake {in_fake:.2f}")
        assert in_real > 0.15 and in_fake < min(0.5 * in_real, cap), (video.stem, in_real, in_fake)


def test_face2face_mouth_follows_the_source_video(pulse_set):
    """Face2Face drives the target's mouth with the source video's: in the pixels, the fake's mouth
    opening tracks the source's ground-truth mouth motion and not the target's, which the
    original's mouth does track (the target's head motion is unchanged, so one region fits both)."""
    _, root = pulse_set
    for video in sorted((root / "manipulated_sequences/Face2Face/raw/videos").glob("*.mp4")):
        fake, real, _, _, _, g_target, g_source = _fake_and_original(root, "Face2Face", video.stem)
        lm = g_target["landmarks"]
        fake_open, real_open = _mouth_darkness(fake, lm), _mouth_darkness(real, lm)
        corr = {
            "fake~source": np.corrcoef(fake_open, g_source["mouth"])[0, 1],
            "fake~target": np.corrcoef(fake_open, g_target["mouth"])[0, 1],
            "original~target": np.corrcoef(real_open, g_target["mouth"])[0, 1],
        }
        print(video.stem, {k: round(float(v), 2) for k, v in corr.items()})
        assert corr["original~target"] > 0.4 and corr["fake~source"] > 0.4, corr
        assert corr["fake~target"] < corr["fake~source"] - 0.25, corr


def test_split_fractions_give_larger_test_split():
    """synthff.test_fraction moves pairs from train to test (a small dataset's test set is not a handful)."""
    pairs = make_pairs(SynthFFConfig(n_identities=60))
    default = split_pairs(pairs)
    assert [len(default[s]) for s in ("train", "val", "test")] == [22, 4, 4]
    wide = split_pairs(pairs, 0.14, 0.34)
    assert [len(wide[s]) for s in ("train", "val", "test")] == [16, 4, 10]
    assert sorted(p for s in wide.values() for p in s) == sorted(pairs)
    with pytest.raises(ConfigError, match="val_fraction"):
        SynthFFConfig(val_fraction=0.5, test_fraction=0.5)


def test_lookalike_identities_size_the_cross_dataset_parts(tmp_path):
    """`umcl generate --variant dfd` writes synthff.lookalike_identities people; the main look keeps n_identities."""
    from umcl.cli import main as cli_main
    from umcl.data.synthff.config import lookalike

    cfg = SynthFFConfig(n_identities=8, lookalike_identities=4)
    assert lookalike(cfg, "dfd").n_identities == 4 and lookalike(cfg, "dfd").variant == "dfd"
    assert lookalike(cfg, "ff").n_identities == 8
    assert lookalike(SynthFFConfig(n_identities=8), "dfd").n_identities == 8
    with pytest.raises(ConfigError, match="lookalike_identities"):
        SynthFFConfig(lookalike_identities=3)
    config = tmp_path / "c.yaml"
    config.write_text(
        "synthff: {n_identities: 8, lookalike_identities: 2, n_frames: 8, resolution: 64, methods: [Deepfakes]}\n"
    )
    assert cli_main(["generate", "--config", str(config), "--out", str(tmp_path / "d"), "--variant", "dfd"]) == 0
    assert len(list((tmp_path / "d/original_sequences/youtube/raw/videos").glob("*.mp4"))) == 2


def test_a_targets_head_rendered_once_gives_the_same_videos_as_rendering_it_per_video():
    """Generation renders a target's own head once for its original and every fake made on it
    (``by_target``); each video must equal the one rendered on its own, array for array."""
    from umcl.data.synthff.generate import by_target
    from umcl.data.synthff.render import TargetLayers

    cfg = SynthFFConfig(n_identities=2, n_frames=8, resolution=128, seed=7)
    groups = by_target(plan(cfg))
    assert sorted(len(g) for g in groups) == [5, 5] and all(len({j.target for j in g}) == 1 for g in groups)
    group = groups[0]
    layers = TargetLayers(make_actor(cfg, group[0].target))
    for job in group:
        shared, shared_gt = render_job(cfg, job, layers)
        alone, alone_gt = render_job(cfg, job)
        assert np.array_equal(shared, alone), job
        assert shared_gt.keys() == alone_gt.keys()
        assert all(np.array_equal(shared_gt[k], alone_gt[k], equal_nan=True) for k in shared_gt), job
    other = by_target(plan(cfg))[1][0]
    with pytest.raises(ValueError, match="layers of actor"):
        render_job(cfg, other, layers)
