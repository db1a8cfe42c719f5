"""umcl.pulse_study: its summary, band-passed Pearson, landmark boxes and settings (the full study
runs in the pipeline, rule report_pulse; its measured numbers are in docs/results/pulse.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import signal as sps

from umcl.errors import ConfigError
from umcl.pulse_study import (
    PulseStudyConfig,
    bandpassed_pearson,
    landmark_boxes,
    markdown,
    summarise,
)


def _row(method, level, hr_gt, readings, hr_inside=None, source_hr=None):
    row = {
        "method": method,
        "video": "000",
        "level": level,
        "fps": 25.0,
        "hr_gt": hr_gt,
        "readings": {k: dict(v) for k, v in readings.items()},
    }
    if method != "original":
        row.update(hr_inside=hr_inside, source_hr=source_hr)
    return row


def test_summary_matches_hand_computed_errors_and_found_rates():
    videos = [
        _row("original", "raw", 60.0, {"A": {"hr": 62.0, "pearson": 0.5}}),
        _row("original", "raw", 80.0, {"A": {"hr": 74.0, "pearson": 0.1}}),
        _row("FaceSwap", "raw", 60.0, {"A": {"hr": 91.0}}, hr_inside=90.0, source_hr=90.0),
        _row("FaceSwap", "raw", 70.0, {"A": {"hr": 71.0}}, hr_inside=100.0, source_hr=100.0),
        _row("Deepfakes", "raw", 70.0, {"A": {"hr": 70.5}}, hr_inside=math.nan, source_hr=50.0),
    ]
    s = summarise(videos, ["A"])
    a = s["originals"]["raw"]["A"]
    assert a["mae_bpm"] == pytest.approx(4.0) and a["rmse_bpm"] == pytest.approx(math.sqrt((4 + 36) / 2))
    assert a["pearson"] == pytest.approx(0.3) and a["within_5bpm"] == 0.5
    fs = s["fakes"]["FaceSwap"]["raw"]["A"]
    assert fs == {"inside_found": 0.5, "reads_target": 0.5, "reads_source": 0.5, "n": 2}
    df = s["fakes"]["Deepfakes"]["raw"]["A"]
    assert df["inside_found"] is None and df["reads_target"] == 1.0
    text = markdown(
        {
            "methods": ["A"],
            "summary": s,
            "synthff": {"n_identities": 2, "n_frames": 160, "seed": 0, "pulse_amplitude": 0.004},
            "fps": 25.0,
            "resolution": 128,
        }
    )
    assert "| raw | A | 4.0 |" in text and "| Deepfakes | raw | A | n/a | 100% | 0% |" in text


def test_bandpassed_pearson_matches_scipy_reference_and_ignores_drift():
    fps, t = 25.0, np.arange(200) / 25.0
    gt = np.sin(2 * np.pi * 1.2 * t)
    x = gt + 3 * t + np.random.default_rng(0).normal(0, 0.3, t.size)  # linear drift + noise
    b, a = sps.butter(3, [0.7 / 12.5, 3.5 / 12.5], btype="bandpass")
    ref = np.corrcoef(sps.filtfilt(b, a, sps.detrend(x)), sps.filtfilt(b, a, sps.detrend(gt)))[0, 1]
    assert bandpassed_pearson(x, gt, fps) == pytest.approx(ref, abs=1e-12) and ref > 0.9
    assert bandpassed_pearson(-x, gt, fps) == pytest.approx(-ref, abs=1e-12)


def test_landmark_boxes_widen_upwards_only():
    lm = np.zeros((1, 68, 2))
    lm[0, :, 0] = np.linspace(10, 50, 68)
    lm[0, :, 1] = np.linspace(20, 60, 68)
    np.testing.assert_allclose(landmark_boxes(lm), [[10, 8, 50, 60]])


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"n_identities": 3}, "even"),
        ({"n_frames": 100}, ">= 134"),
        ({"weights": ["vipl"]}, "vipl"),
        ({"fake_levels": ["c99"]}, "c99"),
    ],
)
def test_bad_settings_are_one_line(kwargs, words):
    with pytest.raises(ConfigError, match=words):
        PulseStudyConfig(**kwargs)


@pytest.mark.parametrize("profile", ["default", "smoke"])
def test_pulse_report_is_one_job_and_built_by_rule_all_when_enabled(profile: str) -> None:
    from test_workflow import job_counts, snakemake

    from umcl.workflow import load_profile

    _, layout = load_profile(profile, check=False)
    proc = snakemake("-n", "--forceall", layout.pulse_files[0], "--config", f"profile={profile}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    jobs = job_counts(proc.stdout)
    assert jobs.pop("resolve_config", 1) == 1  # planned on a checkout without results/<profile>/config.resolved.yaml
    assert jobs == {"report_pulse": 1}
    assert (set(layout.pulse_files) <= set(layout.all_report_files())) == (profile == "default")
