"""In-process decoding by PyAV with the conversion of umcl.data.preprocess.yuv gives OpenCV's frames bit for bit."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from umcl.data.compression import encode_frames, ffmpeg_exe
from umcl.data.preprocess import video as video_module
from umcl.data.preprocess.video import _opencv_frames, _pyav_frames, read_first_frames

pytest.importorskip("av")


def test_every_yuv_triple_converts_as_opencv_does(tmp_path):
    """All 2^24 (Y, U, V) triples, one 4096 x 4096 yuv444p frame (rawvideo), give OpenCV's RGB."""
    from umcl.data.preprocess.yuv import PlaneConverter

    p = np.arange(1 << 24, dtype=np.uint32).reshape(4096, 4096)
    planes = [(p >> 16).astype(np.uint8), ((p >> 8) & 255).astype(np.uint8), (p & 255).astype(np.uint8)]
    raw, clip = tmp_path / "all.yuv", tmp_path / "all.nut"
    np.concatenate([q.ravel() for q in planes]).tofile(raw)
    cmd = [ffmpeg_exe(), "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv444p", "-s", "4096x4096", "-i", str(raw)]
    subprocess.run([*cmd, "-c:v", "rawvideo", str(clip)], check=True)
    ref, _ = _opencv_frames(clip, 1)
    out = np.empty((4096, 4096, 3), dtype=np.uint8)
    PlaneConverter("yuv444p")(planes, out)
    assert np.array_equal(out, ref[0])
    got = _pyav_frames(clip, 1)  # the decoding path too
    assert got is not None and np.array_equal(got[0], ref)


def _clip(tmp_path, level: str, size=(96, 64), frames: int = 12):
    w, h = size
    rng = np.random.default_rng(3)
    video = rng.integers(0, 256, (frames, h, w, 3), dtype=np.uint8)
    video[:, h // 4 : h // 2, w // 4 : w // 2] = (230, 40, 250)  # bright blue-magenta: swscale's wrap-around
    return encode_frames(video, tmp_path / f"{level}.mp4", level, 29.97)


@pytest.mark.parametrize("level", ["raw", "c23", "c40"])
def test_pyav_decoding_gives_opencvs_frames_fps_and_times(level, tmp_path):
    """raw (gbrp), c23 and c40 (yuv444p): PyAV's path is taken and equals OpenCV's, frames, fps and
    frame times; a video shorter than asked is left to the other paths."""
    path = _clip(tmp_path, level)
    fast, ref = _pyav_frames(path, 10), _opencv_frames(path, 10)
    assert fast is not None and ref is not None
    assert np.array_equal(fast[0], ref[0])
    assert fast[1] == ref[1] and fast[1].frame_times_ms == ref[1].frame_times_ms
    got, _ = read_first_frames(path, 10)
    assert np.array_equal(got, ref[0])
    assert _pyav_frames(path, 40) is None and len(read_first_frames(path, 40)[0]) == 12


@pytest.mark.parametrize(
    ("tags", "pyav"),
    [
        (("-color_range", "tv", "-colorspace", "smpte170m"), True),
        (("-color_range", "tv", "-colorspace", "bt470bg"), True),
        (("-colorspace", "bt709"), False),  # OpenCV converts with BT.709's matrix: left to it
        (("-color_range", "pc"), False),  # yuvj444p
    ],
)
def test_colour_tags_opencv_honours_are_left_to_opencv(tags, pyav, tmp_path):
    """Tagged streams: PyAV's path only where OpenCV converts as untagged ones; the frames are
    OpenCV's either way."""
    src = _clip(tmp_path, "c23")
    dst = tmp_path / "tagged.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(src), "-c:v", "libx264", "-crf", "23", "-pix_fmt", "yuv444p", *tags]
        + [str(dst)],
        check=True,
    )
    fast, ref = _pyav_frames(dst, 8), _opencv_frames(dst, 8)
    assert (fast is not None) == pyav
    assert np.array_equal(read_first_frames(dst, 8)[0], ref[0])


def test_pyav_path_leaves_rotated_and_other_formats_alone(tmp_path):
    """A display-rotated clip and a yuv420p clip are not decoded by PyAV."""
    src = _clip(tmp_path, "c23")
    rot, yuv420 = tmp_path / "rot.mp4", tmp_path / "420.mp4"
    base = [ffmpeg_exe(), "-y", "-loglevel", "error"]
    subprocess.run([*base, "-display_rotation", "90", "-i", str(src), "-c", "copy", str(rot)], check=True)
    subprocess.run([*base, "-i", str(src), "-c:v", "libx264", "-pix_fmt", "yuv420p", str(yuv420)], check=True)
    assert _pyav_frames(rot, 4) is None and _pyav_frames(yuv420, 4) is None
    assert read_first_frames(rot, 4)[0].shape == (4, 96, 64, 3)


def test_caches_are_unchanged_by_pyav_decoding(tmp_path, monkeypatch):
    """A SynthFF-like clip at 640 x 480 with the default settings: the cache written with PyAV's
    decoding equals, array for array, the one written with OpenCV's."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from preprocess_speed import default_preprocess, synth_clip

    from umcl.data.preprocess.cache import read_cache
    from umcl.data.preprocess.pipeline import preprocess_video

    cfg = default_preprocess(12)
    clip = synth_clip(640, 480, 12, tmp_path / "clip.mp4")
    assert _pyav_frames(clip, 12) is not None
    preprocess_video(clip, tmp_path / "pyav.npz", cfg)
    monkeypatch.setattr(video_module, "_pyav_frames", lambda *a: None)
    preprocess_video(clip, tmp_path / "opencv.npz", cfg)
    a, b = read_cache(tmp_path / "pyav.npz"), read_cache(tmp_path / "opencv.npz")
    for key in ("faces", "xception_faces", "landmarks", "landmarks_raw", "boxes", "detected"):
        assert np.array_equal(a[key], b[key]), key


def test_stream_damage_is_read_by_pyav_as_ffmpeg_reports_it(tmp_path):
    """A yuv444p clip cut short whose first frames decode: PyAV's reading of the remaining packets
    flags it as ffmpeg's CLI check does (the same warning; the quoted first complaint may differ,
    since PyAV's libav and imageio-ffmpeg's static ffmpeg are separate builds); an intact clip none."""
    from dataclasses import replace

    from umcl.data.preprocess.video import clip_warnings

    full, cut = tmp_path / "full.mp4", tmp_path / "cut.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=128x128:rate=25", "-frames:v", "200"]
        + ["-c:v", "libx264", "-pix_fmt", "yuv444p", "-movflags", "+faststart", str(full)],
        check=True,
    )
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 6 // 10])
    for path, damaged in ((full, False), (cut, True)):
        got = _pyav_frames(path, 8)
        assert got is not None and (got[1].stream_errors != ()) == damaged
        notes = clip_warnings(path, got[1], 8)
        cli = clip_warnings(path, replace(got[1], stream_errors=None), 8)  # ffmpeg's CLI check
        for found in (notes, cli):
            assert any("damaged or cut short" in n and "first 8 frames decode" in n for n in found) == damaged
        assert len(notes) == len(cli)


def test_frame_buffer_is_reused_only_when_asked_and_caches_stay_the_same(tmp_path):
    """``reuse`` decodes into one kept array (the same memory for the same shape, a new one for
    another); without it every call gets its own. SynthFF videos preprocessed one after the other
    (into the same memory) write the caches each gives alone."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from preprocess_speed import default_preprocess, synth_clip

    from umcl.data.preprocess.cache import read_cache
    from umcl.data.preprocess.pipeline import preprocess_video
    from umcl.data.preprocess.video import frame_buffer

    a, b = (synth_clip(256, 256, 8, tmp_path / f"{i}.mp4", identity=i) for i in (0, 1))
    first, _ = read_first_frames(a, 8, reuse=True)
    second, _ = read_first_frames(b, 8, reuse=True)
    assert np.shares_memory(first, second) and not np.shares_memory(read_first_frames(a, 8)[0], second)
    assert not np.shares_memory(frame_buffer((2, 4, 4, 3)), second)
    cfg = default_preprocess(8)
    for name, path in (("a", a), ("b", b), ("a2", a)):
        preprocess_video(path, tmp_path / f"{name}.npz", cfg)
    x, y = read_cache(tmp_path / "a.npz"), read_cache(tmp_path / "a2.npz")
    assert all(np.array_equal(x[k], y[k]) for k in ("faces", "xception_faces", "landmarks", "boxes"))


def test_dlib_on_huge_pages_gives_the_same_landmarks(tmp_path, monkeypatch):
    """The predictor loaded onto 2 MB pages finds, bit for bit, the landmarks of one loaded as usual."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from preprocess_speed import default_preprocess, synth_clip

    from umcl.data.preprocess import landmarks
    from umcl.data.preprocess.faces import track_faces

    cfg = default_preprocess(8)
    frames, _ = read_first_frames(synth_clip(256, 256, 8, tmp_path / "a.mp4"), 8)
    boxes = track_faces(frames, cfg).boxes
    huge = landmarks.detect_landmarks(frames, boxes, landmarks.DlibLandmarks())
    monkeypatch.setattr(landmarks, "load_on_huge_pages", lambda load: load())
    plain = landmarks.detect_landmarks(frames, boxes, landmarks.DlibLandmarks())
    assert np.array_equal(huge, plain)
