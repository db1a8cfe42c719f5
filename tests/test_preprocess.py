"""Tests of umcl.data.preprocess: geometry, calibration, cache, landmarks, and (on SynthFF videos)
MTCNN detection, the whole pipeline, bad inputs, the CLI and batch mode."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from umcl.data.preprocess.cache import CACHE_KEYS, read_cache, validate_cache, write_cache
from umcl.data.preprocess.calibration import calibrate_landmarks, normalise_only
from umcl.data.preprocess.config import PreprocessConfig
from umcl.data.preprocess.faces import evenly_spaced, interpolate_boxes, keyframe_indices, smooth_boxes
from umcl.data.preprocess.geometry import box_iou, crop_square, square_boxes
from umcl.data.preprocess.landmarks import FanLandmarks, find_dlib_predictor, find_fan_weights
from umcl.errors import ConfigError, MissingWeightsError, UmclError


# ---------------------------------------------------------------- config and geometry
def test_config_defaults_are_the_papers_and_bad_values_fail():
    cfg = PreprocessConfig()
    assert (cfg.num_frames, cfg.crop_size, cfg.xception_size, cfg.xception_scale) == (160, 128, 299, 1.3)
    with pytest.raises(ConfigError, match="box_smoothing"):
        PreprocessConfig(box_smoothing=2)
    with pytest.raises(ConfigError, match="keyframe_interval"):
        PreprocessConfig(keyframe_interval=0)


def test_square_boxes_and_crop_pad_outside_the_frame():
    sq = square_boxes(np.array([[10, 20, 30, 60]]), 1.0)[0]
    np.testing.assert_allclose(sq, [0, 20, 40, 60])
    frame = np.full((50, 50, 3), 200, np.uint8)
    crop, ibox = crop_square(frame, np.array([-25, -25, 25, 25.0]), 10)
    assert crop.shape == (10, 10, 3) and list(ibox) == [-25, -25, 25, 25]
    assert crop[:4, :4].max() == 0 and crop[6:, 6:].min() == 200  # black outside, image inside
    assert box_iou(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 15, 10]]))[0] == pytest.approx(1 / 3)


def test_keyframes_interpolation_and_smoothing():
    assert keyframe_indices(10, 4).tolist() == [0, 4, 8, 9]
    assert keyframe_indices(10, 1).tolist() == list(range(10))
    assert evenly_spaced(160, 8).tolist() == [10, 30, 50, 70, 90, 110, 130, 150]
    boxes = interpolate_boxes(np.array([0, 4]), np.array([[0, 0, 10, 10], [40, 0, 50, 10.0]]), 6)
    np.testing.assert_allclose(boxes[2], [20, 0, 30, 10])  # halfway
    np.testing.assert_allclose(boxes[5], [40, 0, 50, 10])  # held after the last detection
    jitter = np.array([[0, 0, 10, 10], [2, 0, 12, 10], [0, 0, 10, 10], [2, 0, 12, 10], [0, 0, 10, 10.0]])
    smooth = smooth_boxes(jitter, 3)
    assert np.ptp(smooth[1:-1, 0]) < np.ptp(jitter[1:-1, 0])


# ---------------------------------------------------------------- calibration (LRNet)
def _textured_motion(num: int, seed: int = 0, still: bool = False):
    """A textured plane moving sub-pixel over ``num`` frames and 68 points glued to it."""
    rng = np.random.default_rng(seed)
    texture = cv2.GaussianBlur(rng.random((400, 400, 3)).astype(np.float32), (0, 0), 1.5)
    texture = (255 * (texture - texture.min()) / np.ptp(texture)).astype(np.uint8)
    grid = np.stack(np.meshgrid(np.linspace(90, 166, 17), np.linspace(90, 166, 4)), -1).reshape(-1, 2)
    frames, truth = [], []
    for t in range(num):
        d = np.zeros(2) if still else np.array([6 * np.sin(t / 6), 4 * np.sin(t / 9)])
        m = np.float32([[1, 0, d[0] - 72], [0, 1, d[1] - 72]])
        frames.append(cv2.warpAffine(texture, m, (256, 256), flags=cv2.INTER_LINEAR))
        truth.append(grid + d)
    return np.stack(frames), np.stack(truth), rng


def _rms(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(((a - b) ** 2).sum(-1).mean()))


def test_calibration_pulls_jittery_landmarks_towards_the_truth():
    frames, truth, rng = _textured_motion(40)
    noisy = truth + rng.normal(0, 1.5, truth.shape)
    cal = calibrate_landmarks(frames, noisy)
    assert cal.normalised.shape == (40, 136) and cal.normalised.dtype == np.float32
    assert _rms(cal.pixels, truth) < 0.7 * _rms(noisy, truth)  # measured 1.14 vs 2.11 px
    assert cal.tracked_fraction > 0.9
    # normalisation: (p - 200) / 200 in each frame's 400 px crop, x/y interleaved
    side = cal.crop_boxes[:, 2] - cal.crop_boxes[:, 0]
    local = (cal.pixels - cal.crop_boxes[:, None, :2]) * (400 / side)[:, None, None]
    np.testing.assert_allclose(cal.normalised.reshape(40, 68, 2), (local - 200) / 200, atol=1e-4)


def test_calibration_keeps_a_static_point_fixed_and_is_deterministic():
    frames, truth, _ = _textured_motion(20, still=True)
    cal = calibrate_landmarks(frames, truth)
    assert np.abs(cal.pixels - truth).max() < 1e-3
    assert np.ptp(cal.normalised, axis=0).max() < 1e-6
    again = calibrate_landmarks(frames, truth)
    assert np.array_equal(cal.normalised, again.normalised)
    plain = normalise_only(frames, truth)
    np.testing.assert_allclose(plain.normalised, cal.normalised, atol=1e-5)


# ---------------------------------------------------------------- cache
def _fake_arrays(t: int = 6, s: int = 16, x: int = 20, f: int = 2) -> dict:
    rng = np.random.default_rng(1)
    return dict(
        faces=rng.integers(0, 255, (t, s, s, 3), dtype=np.uint8),
        xception_faces=rng.integers(0, 255, (f, x, x, 3), dtype=np.uint8),
        landmarks=rng.normal(size=(t, 136)).astype(np.float32),
        landmarks_raw=rng.normal(size=(t, 68, 2)).astype(np.float32),
        boxes=rng.normal(size=(t, 4)).astype(np.float32),
        detected=np.ones(t, bool),
        fps=25.0,
        detection_rate=1.0,
        meta={"source": "x.mp4"},
    )


def test_cache_round_trip_has_exactly_the_contract(tmp_path):
    path = write_cache(tmp_path / "a" / "v.npz", **_fake_arrays())
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(CACHE_KEYS)
        assert npz["meta"].dtype.kind == "U" and npz["fps"].dtype == np.float32 and npz["fps"].shape == ()
    data = read_cache(path)
    assert data["meta"] == {"source": "x.mp4"} and data["fps"] == 25.0
    assert [p.name for p in path.parent.iterdir()] == ["v.npz"]  # no temporary left


def test_cache_rejects_wrong_shapes_and_leaves_nothing(tmp_path):
    bad = _fake_arrays()
    bad["landmarks"] = bad["landmarks"][:, :100]
    with pytest.raises(UmclError, match="landmarks"):
        write_cache(tmp_path / "v.npz", **bad)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(UmclError, match="junk.npz"):
        read_cache(tmp_path / "junk.npz")
    data = {k: np.asarray(v) for k, v in _fake_arrays().items() if k != "meta"}
    with pytest.raises(UmclError, match="differ from the contract"):
        validate_cache(data)


# ---------------------------------------------------------------- landmark backends
def test_dlib_model_is_found_and_missing_files_say_how_to_fix(tmp_path, monkeypatch):
    assert find_dlib_predictor().name == "shape_predictor_68_face_landmarks.dat"
    with pytest.raises(MissingWeightsError, match="dlib_predictor_path"):
        find_dlib_predictor(tmp_path / "nope.dat")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # empty hub: FAN must not download
    with pytest.raises(MissingWeightsError, match="never downloaded"):
        find_fan_weights()
    with pytest.raises(MissingWeightsError, match="2DFAN4"):
        FanLandmarks(tmp_path / "2DFAN4.pth.tar")
    assert not any(tmp_path.rglob("*.tar"))


# ---------------------------------------------------------------- bad inputs (one-line errors, nothing written)
SMALL = dict(num_frames=16, crop_size=64, xception_size=64, xception_frames=2)


@pytest.fixture(scope="session")
def bad_videos(tmp_path_factory) -> dict[str, Path]:
    """A corrupt (truncated) mp4, an empty file, a face-less gradient video and a too-short video."""
    from umcl.data.compression import encode_frames

    root = tmp_path_factory.mktemp("bad")
    y, x = np.mgrid[0:96, 0:96]
    frames = np.stack([np.stack([(x + 3 * t) % 256, y * 2, (x + y) // 2], -1) for t in range(20)]).astype(np.uint8)
    noface = encode_frames(frames, root / "noface.mp4", "c23", 25)
    short = encode_frames(frames[:5], root / "short.mp4", "c23", 25)
    corrupt = root / "corrupt.mp4"
    corrupt.write_bytes(noface.read_bytes()[: noface.stat().st_size // 3])
    empty = root / "empty.mp4"
    empty.write_bytes(b"")
    return {"corrupt": corrupt, "empty": empty, "noface": noface, "short": short}


@pytest.mark.parametrize(
    "kind,message",
    [
        ("corrupt", "corrupt"),
        ("empty", "empty"),
        ("noface", "face found in 0%"),
        ("short", "has 5 frames but 16 are needed"),
    ],
)
def test_bad_videos_raise_one_line_errors_and_write_nothing(bad_videos, tmp_path, kind, message):
    from umcl.data.preprocess.pipeline import preprocess_video
    from umcl.errors import BadVideoError

    with pytest.raises(BadVideoError) as err:
        preprocess_video(bad_videos[kind], tmp_path / "out.npz", PreprocessConfig(**SMALL))
    text = str(err.value)
    assert message in text and str(bad_videos[kind]) in text and "fix:" in text and "\n" not in text
    assert list(tmp_path.iterdir()) == []


def test_cli_exits_nonzero_with_one_line_and_no_output(bad_videos, tmp_path, capsys):
    from umcl.cli import main

    out = tmp_path / "caches"
    code = main(["preprocess", str(bad_videos["short"]), "--out", str(out), "--num-frames", "16"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "has 5 frames but 16 are needed" in err[0]
    assert not out.exists() or not any(out.rglob("*"))
    assert main(["preprocess", "--out", str(out)]) != 0  # neither VIDEO nor --manifest


def test_device_auto_resolves_and_missing_cuda_is_one_error():
    import torch

    from umcl.data.preprocess.pipeline import resolve_device

    assert resolve_device(PreprocessConfig(device="auto")).device == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(UmclError, match="CUDA is not available"):
            resolve_device(PreprocessConfig(device="cuda"))


# ---------------------------------------------------------------- SynthFF videos: detection, cache, batch
N = 24  # frames per SynthFF test video
SYNTH_CFG = dict(num_frames=N, xception_frames=4)  # paper crop sizes (128 / 299)


@pytest.fixture(scope="session")
def synthff(tmp_path_factory) -> dict:
    """Two SynthFF originals (24 frames, 256 px) encoded raw and c23, their ground-truth
    landmarks, and a manifest of the four videos plus two corrupt files."""
    from umcl.data.compression import encode_frames
    from umcl.data.manifest import VideoRecord, write_manifest
    from umcl.data.synthff.config import SynthFFConfig
    from umcl.data.synthff.render import make_actor, render_original
    from umcl.seeding import numpy_rng

    root = tmp_path_factory.mktemp("synthff")
    gen = SynthFFConfig(n_identities=2, n_frames=N, resolution=256)
    rows, frames, truth = [], {}, {}
    for i in range(2):
        actor = make_actor(gen, i)
        frames[i], gt = render_original(actor, gen.pulse_amplitude, numpy_rng(gen.seed, "test-noise", i))
        truth[i] = gt["landmarks"]
        for level in ("raw", "c23"):
            rel = f"original_sequences/youtube/{level}/videos/{i:03d}.mp4"
            encode_frames(frames[i], root / rel, level, actor.fps)
            rows.append(VideoRecord("synthff", "original", level, "train", 0, rel, f"{i:03d}"))
    corrupt = root / "original_sequences/youtube/raw/videos/999.mp4"
    corrupt.write_bytes((root / rows[0].path).read_bytes()[:2000])  # truncated mp4
    junk = corrupt.with_name("998.mp4")
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    for bad in (corrupt, junk):
        rows.append(VideoRecord("synthff", "original", "raw", "test", 0, str(bad.relative_to(root)), bad.stem))
    write_manifest(rows, root / "manifest.csv")
    return {"root": root, "manifest": root / "manifest.csv", "frames": frames, "truth": truth, "corrupt": corrupt}


@pytest.fixture(scope="session")
def batch(synthff, tmp_path_factory) -> dict:
    """``preprocess_manifest`` over the SynthFF manifest (one process, every frame detected)."""
    from umcl.data.preprocess.pipeline import preprocess_manifest

    out = tmp_path_factory.mktemp("caches")
    cfg = PreprocessConfig(**SYNTH_CFG)
    rows = preprocess_manifest(synthff["manifest"], out / "cache", out / "preprocessed.csv", cfg, progress=False)
    return {"rows": rows, "out": out, "cfg": cfg}


def test_batch_records_the_bad_video_and_continues(batch, synthff):
    from umcl.data.manifest import read_manifest

    rows = read_manifest(batch["out"] / "preprocessed.csv")
    assert [r.status for r in rows] == ["ok"] * 4 + ["failed"] * 2
    bad = rows[4]
    assert bad.cache is None and str(synthff["corrupt"]) in bad.reason and "\n" not in bad.reason
    for r in rows[:4]:
        assert Path(r.cache) == (batch["out"] / "cache" / r.dataset / r.method / r.compression / f"{r.id}.npz")
        assert r.n_frames == N
    assert not [p for p in (batch["out"] / "cache").rglob("*") if p.is_file() and ".tmp" in p.name]
    written = (batch["out"] / "preprocessed.csv").read_text()
    assert "cache/synthff/original/c23/001.npz" in written and str(batch["out"]) not in written  # relative


def test_mtcnn_finds_the_face_in_raw_and_c23(batch):
    ok = [r for r in batch["rows"] if r.status == "ok"]
    assert {r.compression for r in ok} == {"raw", "c23"}
    for r in ok:
        detected = read_cache(r.cache, keys=("detected",))["detected"]
        assert detected.mean() >= 0.95 and r.detection_rate >= 0.95, r.key


def test_cache_on_synthff_has_the_contract_and_follows_the_face(batch, synthff):
    row = batch["rows"][0]  # identity 0, raw
    data = read_cache(row.cache)
    shapes = {k: (v.dtype.name, v.shape) for k, v in data.items() if isinstance(v, np.ndarray)}
    assert shapes == {
        "faces": ("uint8", (N, 128, 128, 3)),
        "xception_faces": ("uint8", (4, 299, 299, 3)),
        "landmarks": ("float32", (N, 136)),
        "landmarks_raw": ("float32", (N, 68, 2)),
        "boxes": ("float32", (N, 4)),
        "detected": ("bool", (N,)),
    }
    assert data["fps"] == pytest.approx(25.0) and data["detection_rate"] >= 0.95
    assert data["meta"]["landmark_backend"] == "dlib" and data["meta"]["preprocess"]["num_frames"] == N
    assert np.abs(data["landmarks"]).max() < 1.0
    truth = synthff["truth"][0]
    iod = np.linalg.norm(truth[:, 36:42].mean(1) - truth[:, 42:48].mean(1), axis=1).mean()
    err = np.linalg.norm(data["landmarks_raw"] - truth, axis=-1).mean()
    assert err < 0.15 * iod  # dlib on MTCNN boxes: measured 3.1 px at an inter-ocular 48 px
    box = data["boxes"]
    inside = (
        (truth[..., 0] >= box[:, None, 0])
        & (truth[..., 0] <= box[:, None, 2])
        & (truth[..., 1] >= box[:, None, 1])
        & (truth[..., 1] <= box[:, None, 3])
    )
    assert inside.mean() > 0.93  # MTCNN boxes end near the chin: a few jaw points fall just outside


def test_calibration_smooths_noisy_ground_truth_on_synthff(synthff):
    truth = synthff["truth"][0].astype(np.float64)
    noisy = truth + np.random.default_rng(0).normal(0, 2.0, truth.shape)
    cal = calibrate_landmarks(synthff["frames"][0], noisy)
    assert _rms(cal.pixels, truth) < 0.8 * _rms(noisy, truth)  # measured 1.87 vs 2.82 px
    jitter = lambda p: np.abs(np.diff(p - truth, axis=0)).mean()  # noqa: E731
    assert jitter(cal.pixels) < 0.5 * jitter(noisy)  # measured 0.79 vs 2.25 px


def test_keyframe_boxes_stay_close_to_per_frame_boxes(batch, synthff):
    from umcl.data.preprocess.faces import track_faces

    per_frame = read_cache(batch["rows"][0].cache, keys=("boxes",))["boxes"]
    track = track_faces(synthff["frames"][0], batch["cfg"].replace(keyframe_interval=4, refine_boxes=False))
    assert track.tried.sum() == 7 and track.detection_rate == 1.0  # frames 0, 4, ..., 20 and 23
    between = ~track.tried
    iou = box_iou(track.boxes[between], per_frame[between])
    centre = np.linalg.norm(
        (track.boxes[between, :2] + track.boxes[between, 2:]) / 2
        - (per_frame[between, :2] + per_frame[between, 2:]) / 2,
        axis=1,
    )
    assert iou.mean() > 0.9 and centre.mean() < 3.0, (iou.mean(), centre.mean())
    again = track_faces(synthff["frames"][0], batch["cfg"].replace(keyframe_interval=4, refine_boxes=False))
    assert np.array_equal(again.boxes, track.boxes)  # deterministic


def test_batch_resumes_and_runs_in_worker_processes(batch, synthff):
    from umcl.data.preprocess.pipeline import preprocess_manifest

    caches = [Path(r.cache) for r in batch["rows"] if r.status == "ok"]
    before = [p.stat().st_mtime_ns for p in caches]
    rows = preprocess_manifest(
        synthff["manifest"], batch["out"] / "cache", batch["out"] / "again.csv", batch["cfg"], workers=2, progress=False
    )
    assert [p.stat().st_mtime_ns for p in caches] == before  # same settings: caches reused
    assert [r.status for r in rows] == ["ok"] * 4 + ["failed"] * 2  # bad ones retried in 2 workers
    assert all("corrupt" in r.reason for r in rows[4:])


def test_cli_batch_exit_codes_and_log(batch, synthff, tmp_path):
    from umcl.cli import main

    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(f"preprocess:\n  num_frames: {N}\n  xception_frames: 4\n")
    log = tmp_path / "pre.log"
    args = [
        "preprocess",
        "--manifest",
        str(synthff["manifest"]),
        "--out",
        str(batch["out"] / "cache"),
        "--out-manifest",
        str(tmp_path / "p.csv"),
        "--config",
        str(cfg_file),
        "--log",
        str(log),
        "--no-progress",
    ]
    assert main(args) == 0  # four reused, two failed: not fatal
    assert "failed" in log.read_text() and (tmp_path / "p.csv").is_file()
    from umcl.data.manifest import VideoRecord, write_manifest

    write_manifest(
        [VideoRecord("synthff", "original", "raw", "test", 0, str(synthff["corrupt"]), "999")], tmp_path / "bad.csv"
    )
    bad_args = [
        "preprocess",
        "--manifest",
        str(tmp_path / "bad.csv"),
        "--out",
        str(tmp_path / "c2"),
        "--out-manifest",
        str(tmp_path / "p2.csv"),
        "--no-progress",
    ]
    assert main(bad_args) == 1  # nothing succeeded
    assert not list((tmp_path).glob("c2/**/*.npz"))


# ---------------------------------------------------------------- key frames + O-net refinement (issue 9 §4)
def _box_l1(a: np.ndarray, b: np.ndarray) -> float:
    """Mean |difference| of the square boxes' four coordinates (px): the benchmark's box error."""
    return float(np.abs(square_boxes(a) - square_boxes(b)).mean())


def test_onet_refine_matches_facenet_stage_three(synthff):
    """Our O-net step against facenet-pytorch's own stage-3 code path (torch area resize, float)."""
    import torch
    from facenet_pytorch.models.utils.detect_face import bbreg, imresample, pad, rerec

    from umcl.data.preprocess.faces import detect_boxes, load_mtcnn, onet_refine

    frames = synthff["frames"][1][:8]
    mtcnn = load_mtcnn("cpu", 40)
    prior = detect_boxes(frames, mtcnn, 8, 0.9) + np.array([3.0, -2.0, 4.0, 1.0])  # a little off
    ours, prob = onet_refine(frames, prior, mtcnn)
    b = rerec(torch.as_tensor(prior, dtype=torch.float32).clone())
    y, ey, x, ex = pad(b.clone(), 256, 256)
    imgs = torch.as_tensor(frames).permute(0, 3, 1, 2).float()
    data = torch.cat([imresample(imgs[k : k + 1, :, y[k] - 1 : ey[k], x[k] - 1 : ex[k]], (48, 48)) for k in range(8)])
    with torch.no_grad():
        reg, _, p_ref = mtcnn.onet((data - 127.5) * 0.0078125)
    ref = bbreg(b, reg).numpy()
    assert np.abs(ours - ref).mean() < 0.6 and np.abs(ours - ref).max() < 2.5  # OpenCV vs torch area resize
    assert np.abs(prob - p_ref[:, 1].numpy()).max() < 0.05 and prob.min() > 0.9


def test_refined_key_frames_follow_per_frame_mtcnn(batch, synthff):
    """Key frames every 8 (and every 23) + O-net: within 2 px of per-frame MTCNN, every frame checked."""
    from umcl.data.preprocess.faces import track_faces

    frames = synthff["frames"][0]
    per_frame = read_cache(batch["rows"][0].cache, keys=("boxes",))["boxes"]  # keyframe_interval 1
    fast = track_faces(frames, batch["cfg"].replace(keyframe_interval=8))
    assert fast.tried.all() and fast.detected.all() and fast.detection_rate == 1.0
    assert _box_l1(fast.boxes, per_frame) < 2.0
    far = {
        refine: track_faces(frames, batch["cfg"].replace(keyframe_interval=23, refine_boxes=refine))
        for refine in (True, False)
    }  # key frames 0 and 23 only
    assert _box_l1(far[True].boxes, per_frame) < 2.0
    assert _box_l1(far[True].boxes, per_frame) < 0.7 * _box_l1(far[False].boxes, per_frame)


def test_refinement_rejects_frames_without_a_face(synthff):
    """Frames whose face is gone are not counted as found: O-net rejects the interpolated box."""
    from umcl.data.preprocess.faces import track_faces

    frames = synthff["frames"][0].copy()
    frames[6:14] = frames[6:14].mean(axis=(1, 2), keepdims=True).astype(np.uint8)  # flat grey frames
    track = track_faces(frames, PreprocessConfig(num_frames=N, keyframe_interval=8))
    assert not track.detected[6:14].any() and track.detected[:6].all() and track.detected[14:].all()
    assert track.detection_rate == pytest.approx(16 / 24) and np.isfinite(track.boxes).all()


def test_fast_settings_keep_landmark_quality(batch, synthff, tmp_path):
    """dlib error against SynthFF's ground truth with key frames + O-net is that of per-frame MTCNN."""
    from umcl.data.preprocess.pipeline import preprocess_video

    row = batch["rows"][0]
    truth = synthff["truth"][0]
    fast_cfg = batch["cfg"].replace(keyframe_interval=8)
    preprocess_video(row.path, tmp_path / "fast.npz", fast_cfg)
    err = {
        name: float(np.linalg.norm(read_cache(p, keys=("landmarks_raw",))["landmarks_raw"] - truth, axis=-1).mean())
        for name, p in (("per_frame", row.cache), ("fast", tmp_path / "fast.npz"))
    }
    assert err["fast"] < err["per_frame"] + 0.25, err  # measured: 2.01 vs 1.98 px (docs/preprocessing.md)


def test_landmark_model_is_loaded_once_for_any_clip_settings():
    """Settings that do not choose the landmark model (frames, crop sizes) reuse the loaded model."""
    from umcl.data.preprocess.pipeline import _landmarker

    a = _landmarker(PreprocessConfig(num_frames=16, xception_frames=2))
    b = _landmarker(PreprocessConfig(num_frames=32, crop_size=64, keyframe_interval=16))
    assert a is b


# ---------------------------------------------------------------- speed (issue 9 §4): in-process decoding, R-net
@pytest.mark.parametrize("level", ["raw", "c23", "c40"])
def test_in_process_decoding_matches_ffmpeg(level, tmp_path):
    """OpenCV's in-process decoding gives ffmpeg's frames and fps exactly (the cache stays the same)."""
    from umcl.data.compression import decode_video, encode_frames
    from umcl.data.preprocess.video import _opencv_frames, read_first_frames

    frames = np.random.default_rng(1).integers(0, 256, (12, 64, 96, 3), dtype=np.uint8)
    frames[:, 20:40, 30:60] = 200  # some structure for the codec
    path = encode_frames(frames, tmp_path / f"{level}.mp4", level, 29.97)
    ref, info = decode_video(path, max_frames=10)
    fast = _opencv_frames(path, 10)
    assert fast is not None  # the in-process path is taken
    got, got_info = read_first_frames(path, 10)
    assert got.shape == ref.shape and np.array_equal(got, ref)
    assert got_info.fps == info.fps and got_info.size == info.size and got_info.rotation == 0.0
    short, _ = read_first_frames(path, 40)  # shorter than asked: ffmpeg's path, all 12 frames
    assert len(short) == 12


def test_in_process_decoding_leaves_rotated_videos_to_ffmpeg(tmp_path):
    """A display-rotated clip is not decoded by OpenCV; ffmpeg's upright frames come back."""
    import subprocess

    from umcl.data.compression import decode_video, encode_frames, ffmpeg_exe
    from umcl.data.preprocess.video import _opencv_frames, read_first_frames

    frames = np.random.default_rng(2).integers(0, 256, (6, 32, 48, 3), dtype=np.uint8)
    src = encode_frames(frames, tmp_path / "src.mp4", "c23", 25.0)
    dst = tmp_path / "rot.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-y", "-loglevel", "error", "-display_rotation", "90", "-i", str(src), "-c", "copy", str(dst)],
        check=True,
    )
    assert _opencv_frames(dst, 4) is None
    got, info = read_first_frames(dst, 4)
    ref, _ = decode_video(dst, max_frames=4)
    assert got.shape == (4, 48, 32, 3) and np.array_equal(got, ref) and info.rotation != 0


def test_forked_workers_write_the_single_process_caches(batch, synthff, tmp_path):
    """2 forked workers (models loaded once in the parent) give the caches of one process: the same
    arrays up to float rounding (the parent's and a worker's torch thread counts may differ, which moves
    MTCNN's float boxes by ~1e-5 px; seen in the clean-clone CI with OMP_NUM_THREADS=2)."""
    from umcl.data.preprocess.pipeline import _worker_context, preprocess_manifest

    assert _worker_context(batch["cfg"]).get_start_method() == "fork"
    rows = preprocess_manifest(
        synthff["manifest"], tmp_path / "cache", tmp_path / "pre.csv", batch["cfg"], workers=2, progress=False
    )
    assert [r.status for r in rows] == ["ok"] * 4 + ["failed"] * 2
    for ours, ref in zip(rows[:4], batch["rows"][:4], strict=True):
        a, b = read_cache(ours.cache), read_cache(ref.cache)
        for key in CACHE_KEYS:
            if key == "meta":
                continue
            x, y = np.asarray(a[key]), np.asarray(b[key])
            if np.issubdtype(x.dtype, np.floating):
                assert np.allclose(x, y, rtol=0, atol=1e-3, equal_nan=True), key
            else:  # uint8 crops: a box rounding the other way may move a pixel in rare frames
                assert x.shape == y.shape and np.mean(x != y) < 1e-3, key


def test_detect_scale_never_loses_a_face_size():
    """Key frames shrink to detect_max_side, but never below MTCNN's first pyramid scale 12 / min_face_size."""
    from umcl.data.preprocess.faces import detect_scale

    assert detect_scale(720, 1280, 40, 0) == 1.0  # off
    assert detect_scale(256, 256, 40, 320) == 1.0  # never enlarged
    assert detect_scale(256, 256, 40, 160) == pytest.approx(160 / 256)
    assert detect_scale(720, 1280, 40, 160) == pytest.approx(12 / 40)  # clamped: faces >= 40 px still searched
    assert detect_scale(720, 1280, 20, 160) == pytest.approx(12 / 20)
    assert detect_scale(720, 1280, 40, 640) == pytest.approx(0.5)


def test_scaled_key_frames_find_the_full_frame_boxes(synthff):
    """Detection on key frames shrunk by 0.5, then refined at full resolution: near the full-frame boxes
    (per-frame MTCNN itself moves by 1.6 px when a 256 px frame shifts by one pixel)."""
    from umcl.data.preprocess.faces import detect_boxes, detect_boxes_scaled, load_mtcnn, mtcnn_refine

    frames = synthff["frames"][1][:6]
    mtcnn = load_mtcnn("cpu", 40)
    full = detect_boxes(frames, mtcnn, 8, 0.9)
    small = detect_boxes_scaled(frames, mtcnn, 8, 0.9, 0.5, 40)
    assert np.isfinite(small).all() and _box_l1(small, full) < 4.0
    refined, prob = mtcnn_refine(frames, small, mtcnn)
    assert prob.min() > 0.9 and _box_l1(refined, full) < 3.0  # measured 2.25 px on these 6 frames


def test_default_fast_settings_follow_per_frame_mtcnn(batch, synthff):
    """config/default.yaml's key frames (0 and last, scaled to 160 px) + R-net/O-net: within 2 px."""
    from umcl.data.preprocess.faces import track_faces

    frames = synthff["frames"][0]
    per_frame = read_cache(batch["rows"][0].cache, keys=("boxes",))["boxes"]  # keyframe_interval 1
    fast = track_faces(frames, batch["cfg"].replace(keyframe_interval=N - 1, detect_max_side=160))
    assert fast.tried.all() and fast.detection_rate == 1.0
    assert _box_l1(fast.boxes, per_frame) < 2.0


def test_region_detection_gives_per_frame_mtcnns_boxes(batch, synthff):
    """``region_margin``: key frames 0 and last, then MTCNN's three stages inside a region around the
    interpolated box on every frame: per-frame MTCNN's own boxes (to float rounding), where R-net +
    O-net from the interpolated box (the default) differ by about a pixel."""
    from umcl.data.preprocess.faces import track_faces

    for i in (0, 1):
        frames = synthff["frames"][i]
        per_frame = read_cache(batch["rows"][2 * i].cache, keys=("boxes",))["boxes"]  # keyframe_interval 1
        cfg = batch["cfg"].replace(keyframe_interval=N - 1, detect_max_side=160)
        region = track_faces(frames, cfg.replace(region_margin=0.5))
        assert region.tried.all() and region.detection_rate == 1.0
        assert np.abs(region.boxes - per_frame).max() < 1e-3
        assert _box_l1(track_faces(frames, cfg).boxes, per_frame) > 0.3
        sparse = track_faces(frames, cfg.replace(region_margin=0.5, region_interval=3))
        exact = np.r_[np.arange(0, N, 3), N - 1]
        assert np.array_equal(np.flatnonzero(sparse.tried), exact) and sparse.detection_rate == 1.0
        assert np.abs(sparse.boxes[exact] - per_frame[exact]).max() < 1e-3
        between = np.setdiff1d(np.arange(N), exact)
        assert _box_l1(sparse.boxes[between], per_frame[between]) > 0 and _box_l1(sparse.boxes, per_frame) < 2.0
        small = track_faces(frames, cfg.replace(region_margin=0.5, region_min_side=257))  # 256 px: R-net + O-net
        assert np.array_equal(small.boxes, track_faces(frames, cfg).boxes)


def test_grey_crop_is_the_crop_of_the_grey_frame():
    """Converting only the box's pixels to grey first: exactly the crop of a grey frame; within 2 levels of
    converting the resized RGB crop; black outside the frame."""
    import cv2

    from umcl.data.preprocess.calibration import grey_crop

    noise = np.random.default_rng(3).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    rgb = cv2.GaussianBlur(noise, (0, 0), 2.0)  # image-like; on pure noise bicubic overshoot clips per channel
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    for box in (
        np.array([10.3, 5.6, 70.2, 65.4]),
        np.array([-20.0, -10.0, 60.0, 70.0]),
        np.array([100.0, 60, 160, 120]),
    ):
        crop, ibox = grey_crop(rgb, box, 400)
        ref, ref_box = crop_square(grey, box, 400)
        assert np.array_equal(crop, ref) and np.array_equal(ibox, ref_box)
        old = cv2.cvtColor(crop_square(rgb, box, 400)[0], cv2.COLOR_RGB2GRAY)
        assert np.abs(old.astype(int) - crop).max() <= 2  # SynthFF frames: max 2, mean 0.16-0.19
    outside, _ = grey_crop(rgb, np.array([500.0, 500, 560, 560]), 50)
    assert outside.shape == (50, 50) and outside.max() == 0
