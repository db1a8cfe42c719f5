"""``umcl pulse`` and umcl.pulse: windows, overlap-add, resampling, and a known pulse recovered.

The synthetic clip (umcl.pulse_synth.pulse_face_clip) is a face-like crop whose skin colour varies
along the blood-volume-pulse signature of de Haan & van Leest (2014) with a 0.4 % green amplitude,
uneven perfusion, a respiratory baseline and sensor noise (its docstring says how)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from umcl.cli import main
from umcl.errors import UmclError
from umcl.pulse import (
    check_length,
    estimate_pulse,
    overlap_add,
    resample_time,
    window_starts,
)
from umcl.pulse_synth import pulse_face_clip

pytestmark = pytest.mark.usefixtures("single_thread")


def test_umcl_pulse_reads_75_bpm_from_a_synthetic_crop_array(tmp_path):
    np.save(tmp_path / "crops.npy", pulse_face_clip(frames=160, size=128, bpm=75.0, fps=30.0, seed=11))
    assert main(["pulse", str(tmp_path / "crops.npy"), "--fps", "30", "--out", str(tmp_path / "out")]) == 0
    meta = json.loads((tmp_path / "out" / "pulse.json").read_text())
    assert abs(meta["hr_bpm"] - 75.0) <= 1.5
    assert meta["fps"] == 30.0 and meta["frames"] == 160 and meta["weights"]["name"] == "pure"
    assert len(meta["weights"]["sha256"]) == 64
    rows = list(csv.DictReader((tmp_path / "out" / "bvp.csv").open()))
    assert list(rows[0]) == ["frame", "bvp"] and len(rows) == 160
    assert (tmp_path / "out" / "pulse.png").read_bytes()[:4] == b"\x89PNG"


def test_rlap_weights_follow_another_rate_at_another_fps_and_size():
    """A 96 bpm pulse at 25 fps in 96 px crops (resized to 128, resampled to 30 fps): 96 +- 1.5 bpm."""
    from umcl.models.open_rppg import build_physformer
    from umcl.pulse import physformer_fn

    model, _ = build_physformer("rlap")
    clip = pulse_face_clip(frames=134, size=96, bpm=96.0, fps=25.0, seed=5)
    result = estimate_pulse(clip, 25.0, physformer_fn(model))
    assert abs(result.hr_bpm - 96.0) <= 1.5 and len(result.bvp) == 134 and result.windows == 1


def test_windows_cover_the_input_and_overlap_add_is_exact_for_a_consistent_signal():
    assert window_starts(160) == [0] and window_starts(250) == [0, 80, 90] and window_starts(320) == [0, 80, 160]
    n, signal = 250, np.sin(np.arange(250) / 7.0)
    starts = window_starts(n)
    np.testing.assert_allclose(overlap_add(n, starts, [signal[s : s + 160] for s in starts]), signal, atol=1e-12)


def test_stub_model_signal_comes_back_on_the_input_frames():
    """A stub 'model' returning the clip's mean green: the BVP is that trace, resampled there and back."""
    clip = pulse_face_clip(frames=200, size=32, bpm=80.0, fps=30.0, seed=1)
    result = estimate_pulse(clip, 30.0, lambda x: x[:, 1].mean(dim=(2, 3)))
    ref = clip[..., 1].astype(np.float64).mean(axis=(1, 2))
    assert np.corrcoef(result.bvp, ref)[0, 1] > 0.99 and result.windows == 2


def test_resample_time_matches_numpy_interp():
    x = np.random.default_rng(0).random((50, 2))
    out = resample_time(x, 25.0, 30.0)
    t_out = np.arange(len(out)) / 30.0
    assert len(out) == 59
    for c in range(2):
        np.testing.assert_allclose(out[:, c], np.interp(t_out, np.arange(50) / 25.0, x[:, c]), atol=1e-6)


def test_short_input_is_one_line():
    with pytest.raises(UmclError, match=r"159 frames .*at least 160"):
        check_length(159, 30.0, "x.npy")
    check_length(134, 25.0, "x.npy")  # 134 frames at 25 fps span 160 frames at 30 fps
    with pytest.raises(UmclError):
        check_length(133, 25.0, "x.npy")
