"""P-encoder pretraining: loss terms, SynthFF ground-truth lookup, weights that load into PhysFormer."""

import numpy as np
import pytest
import torch

from umcl.data.manifest import VideoRecord, write_manifest
from umcl.errors import UmclError
from umcl.training.config import PretrainConfig
from umcl.training.pretrain import pretrain, pulse_loss

TINY = {
    "frames": 8,
    "image_size": 32,
    "physformer_dim": 16,
    "physformer_ff_dim": 24,
    "physformer_heads": 2,
    "physformer_layers": 3,
}


def _synthff(root, n=4, gt=True):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        vid = f"{i:03d}"
        video = root / "original_sequences" / "youtube" / "raw" / "videos" / f"{vid}.mp4"
        cache = root / "cache" / f"{vid}.npz"
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, faces=rng.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8), fps=np.float32(8))
        if gt:
            (root / "ground_truth" / "original").mkdir(parents=True, exist_ok=True)
            t = np.arange(8) / 8.0
            np.savez(
                root / "ground_truth" / "original" / f"{vid}.npz", pulse=np.sin(2 * np.pi * 1.5 * t).astype(np.float32)
            )
        rows.append(
            VideoRecord(
                "synthff",
                "original",
                "raw",
                "train" if i < n - 2 else "val",
                0,
                str(video),
                vid,
                cache=str(cache),
                status="ok",
            )
        )
    return write_manifest(rows, root / "m.csv")


def test_pulse_loss_is_low_for_the_true_pulse():
    cfg = PretrainConfig()
    t = torch.arange(160) / 30.0
    gt = torch.sin(2 * np.pi * 1.2 * t)[None].repeat(2, 1)
    good = pulse_loss(gt.clone(), gt, 30.0, cfg)
    bad = pulse_loss(torch.sin(2 * np.pi * 2.5 * t)[None].repeat(2, 1), gt, 30.0, cfg)
    assert float(good["npc"]) < 1e-5 and float(bad["npc"]) > 0.5
    assert float(good["freq_ce"]) < float(bad["freq_ce"])


def test_pretrain_writes_weights_loadable_by_physformer(tmp_path):
    from umcl.models.umcl import UMCLConfig, build_p_encoder

    manifest = _synthff(tmp_path)
    cfg = {"pretrain": {"epochs": 1, "batch_size": 2, "hr_band_bpm": [40, 180]}, "detectors": {"umcl": TINY}}
    meta = pretrain(cfg, manifest, tmp_path / "p.pt", progress=False)
    assert meta["n_train"] == 2 and meta["n_val"] == 2 and np.isfinite(meta["history"][0]["train_total"])
    net = build_p_encoder(UMCLConfig(**TINY))
    net.load_pretrained(tmp_path / "p.pt")
    saved = torch.load(tmp_path / "p.pt", weights_only=True)
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in saved.items())
    assert (tmp_path / "p.pt.json").is_file()


def test_missing_ground_truth_is_a_one_line_error(tmp_path):
    manifest = _synthff(tmp_path, gt=False)
    cfg = {"pretrain": {"epochs": 1, "batch_size": 2}, "detectors": {"umcl": TINY}}
    with pytest.raises(UmclError, match="ground-truth"):
        pretrain(cfg, manifest, tmp_path / "p.pt", progress=False)
    assert not (tmp_path / "p.pt").exists()


def test_candidates_are_chosen_by_validation_pearson_and_zero_epochs_write_them_as_they_are(tmp_path):
    """``pretrain.candidates``: each real-data weight set is scored on the validation split on its own,
    the higher wins, the sidecar records the scores, and 0 epochs write the chosen weights unchanged;
    a run's provenance then names what the file started from."""
    from umcl.models.umcl import UMCLConfig, init_p_encoder
    from umcl.training.data import read_rows, select_rows
    from umcl.training.pretrain import PulseDataset, validate_pulse

    manifest = _synthff(tmp_path)
    real = {"frames": 8, "image_size": 32, "physformer_heads": 12, "physformer_train": "head"}
    cfg = {
        "pretrain": {"epochs": 0, "batch_size": 2, "candidates": ["pure", "rlap"]},
        "detectors": {"umcl": {**real, "physformer_pretrained": "pure"}},
    }
    meta = pretrain(cfg, manifest, tmp_path / "p.pt", progress=False)
    val = PulseDataset(select_rows(read_rows(manifest), "val", "raw", None, 0, manifest), 8)
    scores = {
        name: validate_pulse(init_p_encoder(UMCLConfig(**real, physformer_pretrained=name))[0], val, "cpu", 2)
        for name in ("pure", "rlap")
    }
    chosen = max(scores, key=scores.get)
    assert meta["selection"]["chosen"] == chosen and meta["history"] == [] and meta["epochs_trained"] == 0
    assert meta["selection"]["scores"] == pytest.approx(scores, abs=1e-6)
    assert meta["starting_weights"]["name"] == chosen
    reference = init_p_encoder(UMCLConfig(**real, physformer_pretrained=chosen))[0].state_dict()
    saved = torch.load(tmp_path / "p.pt", weights_only=True)
    assert all(torch.equal(v, reference[k]) for k, v in saved.items())
    _, record = init_p_encoder(
        UMCLConfig(**real, physformer_pretrained="pure", physformer_weights=str(tmp_path / "p.pt"))
    )
    assert record["weights"]["starting_weights"]["name"] == chosen and record["trained"] == "head"
