"""FF++ compression: real x264 settings, size and quality ordering, bad files, tree mirroring."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from umcl.cli import main as umcl_main
from umcl.data.compression import (
    CompressionConfig,
    compress_tree,
    compress_video,
    encode_frames,
    encoder_info,
    read_video,
    x264_settings,
)
from umcl.data.synthff.config import SynthFFConfig
from umcl.data.synthff.generate import Job, render_job
from umcl.errors import BadVideoError, UmclError


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.fixture(scope="module")
def levels(tmp_path_factory) -> tuple[np.ndarray, dict[str, Path]]:
    """One SynthFF original (24 frames, 128 px) as raw, c23 and c40."""
    d = tmp_path_factory.mktemp("comp")
    frames, _ = render_job(SynthFFConfig(n_identities=2, n_frames=24, resolution=128, seed=1), Job("original", 0, None))
    raw = encode_frames(frames, d / "raw.mp4", "raw", 25)
    return frames, {
        "raw": raw,
        "c23": compress_video(raw, d / "c23.mp4", "c23"),
        "c40": compress_video(raw, d / "c40.mp4", "c40"),
    }


def test_sizes_and_psnr_fall_with_compression(levels):
    frames, paths = levels
    sizes = {k: p.stat().st_size for k, p in paths.items()}
    assert sizes["raw"] > sizes["c23"] > sizes["c40"], sizes
    decoded = {k: read_video(p)[0] for k, p in paths.items()}
    assert all(v.shape == frames.shape for v in decoded.values())
    q = {k: psnr(frames, v) for k, v in decoded.items()}
    assert q["raw"] == float("inf")  # libx264rgb crf 0 is lossless
    assert 30 < q["c23"] and q["c23"] > q["c40"] > 20, q


def test_stream_carries_ff_settings(levels):
    _, paths = levels
    raw, c23, c40 = (x264_settings(paths[k]) for k in ("raw", "c23", "c40"))
    assert "rc=cqp" in raw and " qp=0" in raw  # x264 turns crf 0 into lossless constant QP 0
    assert "crf=23.0" in c23 and "crf=40.0" in c40
    info = encoder_info()
    assert info["pix_fmt_raw"].startswith("gbrp")  # RGB planes: libx264rgb
    assert info["pix_fmt_c23"].startswith("yuv")
    assert info["levels"] == {
        "raw": "-c:v libx264rgb -crf 0 -preset ultrafast",
        "c23": "-c:v libx264 -crf 23",
        "c40": "-c:v libx264 -crf 40",
    }


def test_raw_preset_changes_no_pixel_and_no_compressed_copy(levels, tmp_path):
    """Our raw level adds ``-preset ultrafast`` to FF++'s ``libx264rgb -crf 0``: lossless either way, so
    a raw encoded with FF++'s own arguments (preset medium) decodes to the same frames and gives
    byte-identical c23 and c40 copies."""
    import subprocess

    from umcl.data.compression import _QUIET, ffmpeg_exe

    frames, paths = levels
    ffpp_raw = tmp_path / "ffpp_raw.mp4"
    t, h, w, _ = frames.shape
    subprocess.run(
        [
            ffmpeg_exe(),
            *_QUIET,
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{w}x{h}",
            "-r",
            "25",
            "-i",
            "-",
            "-c:v",
            "libx264rgb",
            "-crf",
            "0",
            "-an",
            "-f",
            "mp4",
            str(ffpp_raw),
        ],
        input=np.ascontiguousarray(frames).tobytes(),
        check=True,
    )
    assert " qp=0" in x264_settings(ffpp_raw)
    assert "subme=0" in x264_settings(paths["raw"]) and "subme=0" not in x264_settings(ffpp_raw)  # ultrafast vs medium
    assert np.array_equal(read_video(ffpp_raw)[0], read_video(paths["raw"])[0])
    assert np.array_equal(read_video(paths["raw"])[0], frames)
    for level in ("c23", "c40"):
        assert compress_video(ffpp_raw, tmp_path / f"{level}.mp4", level).read_bytes() == paths[level].read_bytes()


def test_bad_videos_raise_bad_video_error(levels, tmp_path):
    _, paths = levels
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(paths["c23"].read_bytes()[:300])
    for bad in (empty, junk, cut, tmp_path / "missing.mp4"):
        with pytest.raises(BadVideoError) as exc:
            read_video(bad)
        assert str(bad) in str(exc.value) and "\n" not in str(exc.value)
    with pytest.raises(BadVideoError):
        compress_video(junk, tmp_path / "out.mp4", "c23")
    assert not (tmp_path / "out.mp4").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporaries left
    with pytest.raises(BadVideoError):
        x264_settings(junk)


def test_encode_rejects_bad_frames(tmp_path):
    with pytest.raises(UmclError):
        encode_frames(np.zeros((2, 8, 8), np.uint8), tmp_path / "x.mp4", "raw", 25)
    with pytest.raises(UmclError):
        encode_frames(np.zeros((2, 9, 9, 3), np.uint8), tmp_path / "x.mp4", "c23", 25)
    with pytest.raises(UmclError):
        encode_frames(np.zeros((2, 8, 8, 3), np.uint8), tmp_path / "x.mp4", "c99", 25)
    with pytest.raises(UmclError):
        CompressionConfig(levels=["c23", "c50"])
    assert not (tmp_path / "x.mp4").exists()


def test_compress_tree_mirrors_layout(levels, tmp_path):
    _, paths = levels
    orig = tmp_path / "original_sequences/youtube/raw/videos"
    fake = tmp_path / "manipulated_sequences/Deepfakes/raw/videos"
    orig.mkdir(parents=True)
    fake.mkdir(parents=True)
    shutil.copy(paths["raw"], orig / "000.mp4")
    shutil.copy(paths["raw"], fake / "000_001.mp4")
    assert umcl_main(["compress", "--root", str(tmp_path), "--levels", "c23", "--workers", "2"]) == 0
    out = tmp_path / "manipulated_sequences/Deepfakes/c23/videos/000_001.mp4"
    assert "crf=23.0" in x264_settings(out)
    assert (tmp_path / "original_sequences/youtube/c23/videos/000.mp4").is_file()
    assert compress_tree(tmp_path, ("c23",)) == []  # finished videos are skipped
    enc = json.loads((tmp_path / "encoder.json").read_text())
    assert enc["compressed_levels"] == ["c23"] and "x264 - core" in enc["x264"]


def test_compress_cli_errors_are_one_line(tmp_path, capsys):
    assert umcl_main(["compress", "--root", str(tmp_path / "nothing")]) != 0
    assert umcl_main(["compress", "--root", str(tmp_path), "--levels", "c33"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("error:" in e for e in err)
