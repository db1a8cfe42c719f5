"""Videos with a display-matrix rotation (phone videos) decode upright everywhere (issue 13, defect 2).

Clips are made offline: upright SynthFF frames padded to a 256 x 384 portrait, stored turned by
``np.rot90`` and tagged with ffmpeg's ``-display_rotation`` (counter-clockwise degrees) so that a
player shows them upright again; e.g. a 384 x 256 clip stored with rotation -90 is a 256 x 384
portrait. Without honouring the rotation, the frames were reshaped with the stored size (striped,
squashed images; a face "found" in every frame or in none).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from umcl.data.compression import decode_video, encode_frames, ffmpeg_exe, probe, read_video
from umcl.data.preprocess.config import PreprocessConfig

T = 12
ROTATIONS = (0, 90, -90, 180)
CFG = PreprocessConfig(num_frames=T, crop_size=64, xception_size=64, xception_frames=2)


def _tag_rotation(src: Path, dst: Path, degrees: int) -> Path:
    """Copy ``src`` (no re-encoding) with a display matrix rotating it ``degrees`` counter-clockwise."""
    cmd = [
        ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-y",
        "-display_rotation",
        str(degrees),
        "-i",
        str(src),
        "-c",
        "copy",
        str(dst),
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    return dst


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict:
    """Upright portrait frames [T, 384, 256, 3] and, per rotation and level, a clip that shows them."""
    from umcl.data.synthff.config import SynthFFConfig
    from umcl.data.synthff.render import make_actor, render_original
    from umcl.seeding import numpy_rng

    gen = SynthFFConfig(n_identities=2, n_frames=T, resolution=256)
    actor = make_actor(gen, 0)
    frames, _ = render_original(actor, gen.pulse_amplitude, numpy_rng(gen.seed, "rotation", 0))
    upright = np.pad(frames[:T], ((0, 0), (32, 96), (0, 0), (0, 0)), mode="edge")  # face off-centre
    root = tmp_path_factory.mktemp("rotation")
    paths = {}
    for deg in ROTATIONS:
        stored = np.ascontiguousarray(np.rot90(upright, k=-deg // 90, axes=(1, 2)))  # undone by the tag
        for level in ("raw", "c23"):
            plain = encode_frames(stored, root / f"stored_{deg}_{level}.mp4", level, 25)
            paths[deg, level] = _tag_rotation(plain, root / f"rot_{deg}_{level}.mp4", deg)
    return {"upright": upright, "paths": paths, "root": root}


@pytest.mark.parametrize("deg", ROTATIONS)
def test_rotated_clips_decode_upright_and_exact(clips, deg):
    frames, info = decode_video(clips["paths"][deg, "raw"])
    assert frames.shape == clips["upright"].shape  # (T, 384, 256, 3) whatever the stored size
    np.testing.assert_array_equal(frames, clips["upright"])  # lossless: bit-identical and upright
    assert info.rotation % 360 == deg % 360
    stored = (384, 256) if deg in (90, -90) else (256, 384)
    assert (info.stored_width, info.stored_height) == stored
    assert probe(clips["paths"][deg, "raw"])[:2] == (256, 384)
    assert frames.flags.writeable


def test_phone_clip_384x256_with_rotation_minus_90_decodes_as_256x384(clips):
    path = clips["paths"][-90, "c23"]
    frames, fps = read_video(path, max_frames=5)
    assert frames.shape == (5, 384, 256, 3) and fps == 25.0
    err = np.abs(frames.astype(np.int16) - clips["upright"][:5]).mean()
    assert err < 3.0, f"c23 decode differs from the upright frames by {err:.1f} grey levels"


def test_compressing_a_rotated_clip_keeps_it_upright(clips, tmp_path):
    from umcl.data.compression import compress_video

    out = compress_video(clips["paths"][90, "raw"], tmp_path / "c23.mp4", "c23")
    frames, info = decode_video(out)
    assert frames.shape == clips["upright"].shape
    assert np.abs(frames.astype(np.int16) - clips["upright"]).mean() < 3.0


@pytest.mark.parametrize("deg", [90, -90, 180])
def test_preprocessing_a_rotated_clip_matches_the_upright_one(clips, deg, tmp_path):
    """Boxes, landmarks and crops of a rotated c23 clip match the unrotated c23 clip (not striped)."""
    from umcl.data.preprocess.cache import read_cache
    from umcl.data.preprocess.pipeline import preprocess_video

    ref = preprocess_video(clips["paths"][0, "c23"], tmp_path / "ref.npz", CFG)
    out = preprocess_video(clips["paths"][deg, "c23"], tmp_path / "rot.npz", CFG)
    assert ref["detection_rate"] == 1.0 and out["detection_rate"] == 1.0
    a, b = read_cache(tmp_path / "ref.npz"), read_cache(tmp_path / "rot.npz")
    assert b["meta"]["display_rotation"] % 360 == deg % 360 and a["meta"]["display_rotation"] == 0
    face_side = float((a["boxes"][:, 2] - a["boxes"][:, 0]).mean())
    assert 60 < face_side < 140 and a["boxes"][:, 3].max() < 256 + 32  # the face, in the upright frame
    assert np.abs(a["boxes"] - b["boxes"]).mean() < 2.0  # c23 of a turned image: near, not identical
    assert np.abs(a["landmarks_raw"] - b["landmarks_raw"]).mean() < 2.0
    crop_err = np.abs(a["faces"].astype(np.int16) - b["faces"]).mean()
    assert crop_err < 8.0, f"rotated crops differ from the upright ones by {crop_err:.1f} grey levels"
