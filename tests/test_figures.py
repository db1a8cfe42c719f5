"""Figures 6, 8 and 9 (umcl.report.figures, umcl.evaluation.features, the trainer's affinity log).

References are independent: k-NN accuracy is recomputed by brute force in NumPy (leave-one-out,
majority of the k nearest others), the silhouette score from its definition in NumPy float64, and the
affinity log from the definition (cosine → (cos + 1) / 2 between the view's modality projections)."""

from __future__ import annotations

import json
from itertools import pairwise

import _train_fixtures
import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from _train_fixtures import make_manifest

from umcl.errors import UmclError
from umcl.report import figures
from umcl.report.figures import FiguresConfig

UMCL_TINY = dict(
    frames=8, image_size=32, physformer_dim=16, physformer_ff_dim=24, physformer_heads=2, physformer_layers=1, d=16
)


# ---------------------------------------------------------------------------- references


def knn_loo_reference(emb: np.ndarray, labels: np.ndarray, k: int) -> float:
    d = ((emb[:, None, :] - emb[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    hits = 0
    classes = np.unique(labels)
    for i in range(len(emb)):
        nn_idx = np.argsort(d[i], kind="stable")[:k]
        counts = np.array([(labels[nn_idx] == c).sum() for c in classes])
        hits += classes[np.argmax(counts)] == labels[i]  # ties: the smallest class (as scikit-learn)
    return hits / len(emb)


def silhouette_reference(emb: np.ndarray, labels: np.ndarray) -> float:
    d = np.sqrt(((emb[:, None, :] - emb[None, :, :]) ** 2).sum(-1))
    s = []
    for i in range(len(emb)):
        same = labels == labels[i]
        if same.sum() == 1:
            s.append(0.0)
            continue
        a = d[i, same].sum() / (same.sum() - 1)
        b = min(d[i, labels == c].mean() for c in np.unique(labels) if c != labels[i])
        s.append((b - a) / max(a, b))
    return float(np.mean(s))


# ---------------------------------------------------------------------------- t-SNE and numbers


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (20, 6)), rng.normal(3, 1, (20, 6))])
    return x, np.repeat([0, 1], 20)


def test_tsne_is_deterministic_with_the_seed(blobs):
    x, _ = blobs
    a, b = figures.tsne(x, 0, 30.0), figures.tsne(x, 0, 30.0)
    assert a.shape == (40, 2) and np.array_equal(a, b)
    assert np.array_equal(a, figures.tsne(x.copy(), 0, 30.0))
    assert figures.effective_perplexity(40, 30.0) == 13.0  # capped below a third of the points


def test_separation_numbers_equal_the_references(blobs):
    x, y = blobs
    emb = figures.tsne(x, 0, 10.0)
    s = figures.separation(emb, y, 5)
    assert s["knn_acc"] == pytest.approx(knn_loo_reference(emb, y, 5))
    assert s["silhouette"] == pytest.approx(silhouette_reference(emb, y), abs=1e-9)
    assert s["majority_rate"] == 0.5
    shuffled = np.random.default_rng(1).permutation(y)
    assert figures.separation(emb, shuffled, 5)["knn_acc"] < s["knn_acc"]  # the number can fail
    assert figures.separation(emb, np.zeros(40, int), 5)["knn_acc"] is None
    assert figures.separation(emb[:2], np.array([0, 1]), 5)["silhouette"] is None  # one video per class


def test_figures_config_rejects_bad_values():
    with pytest.raises(UmclError):
        FiguresConfig(tsne_perplexity=0)
    with pytest.raises(UmclError):
        FiguresConfig(max_videos=1)


# ---------------------------------------------------------------------------- a tiny UMCL run


@pytest.fixture(scope="module")
def umcl_run(tmp_path_factory):
    """One epoch of a tiny UMCL on 32 px toy videos (raw, c23, c40), affinities logged every step."""
    from umcl.training.trainer import Trainer, build_spec

    tmp = tmp_path_factory.mktemp("fig")
    mp = pytest.MonkeyPatch()
    mp.setattr(_train_fixtures, "S", 32)
    try:
        manifest = make_manifest(
            tmp / "data",
            counts={"train": (4, 4), "val": (2, 2), "test": (6, 6)},
            compressions=("raw", "c23", "c40"),
            strength=60,
        )
    finally:
        mp.undo()
    config = {
        "training": {"epochs": 1, "batch_size": 4, "seed": 0, "device": "cpu", "affinity_log_every": 1},
        "detectors": {"umcl": UMCL_TINY},
    }
    Trainer(build_spec(config, "umcl", manifest, "raw"), tmp / "run", progress=False).fit()
    return tmp, manifest, tmp / "run"


def test_trainer_writes_the_affinity_log(umcl_run):
    _, _, run = umcl_run
    df = figures.read_affinity_log(run)
    assert df["step"].tolist() == [1, 2]  # 8 training videos / batch 4, logged every step
    pairs = figures.affinity_series(df)
    assert set(pairs) == {"rppg-landmarks", "rppg-text", "landmarks-text"}
    assert set(pairs["rppg-text"]) == {"HQ real", "HQ fake", "LQ real", "LQ fake"}
    values = df.drop(columns=["epoch", "step"]).to_numpy()
    assert ((values >= 0) & (values <= 1)).all()  # cosine01


def test_affinity_scores_follow_the_definition():
    from umcl.registry import build_detector

    torch.manual_seed(0)
    model = build_detector("umcl", UMCL_TINY).train()
    batch = {
        "frames": torch.rand(4, 3, 8, 32, 32),
        "landmarks": torch.randn(4, 8, 136) * 0.1,
        "label": torch.tensor([0, 1, 0, 1]),
        "key": ["a", "b", "c", "d"],
    }
    out = model(batch)
    scores = model.affinity_scores(batch, out)
    d = UMCL_TINY["d"]
    for view in ("hq", "lq"):
        u = out[f"u_{view}"].detach().double().numpy().reshape(4, 3, d)
        unit = u / np.linalg.norm(u, axis=-1, keepdims=True)
        for cls, name in ((0, "real"), (1, "fake")):
            rows = batch["label"].numpy() == cls
            ref = ((unit[rows, 0] * unit[rows, 2]).sum(-1) + 1) / 2  # rppg vs text
            assert scores[f"{view}_{name}_rppg-text"] == pytest.approx(ref.mean(), abs=1e-5)
    # HQ and LQ are logged apart (ASA's own input averages them)
    assert scores["hq_real_rppg-landmarks"] != pytest.approx(scores["lq_real_rppg-landmarks"], abs=1e-7)


def test_a_resumed_run_keeps_the_affinity_log_of_an_uninterrupted_one(umcl_run, tmp_path):
    from umcl.training.trainer import Trainer, build_spec

    _, manifest, _ = umcl_run
    config = {
        "training": {"epochs": 2, "batch_size": 4, "seed": 0, "device": "cpu", "affinity_log_every": 1},
        "detectors": {"umcl": UMCL_TINY},
    }
    spec = build_spec(config, "umcl", manifest, "raw")
    Trainer(spec, tmp_path / "whole", progress=False).fit()
    Trainer(spec, tmp_path / "cut", progress=False).fit(stop_after=1)
    Trainer(spec, tmp_path / "cut", progress=False).fit(resume=True)
    whole, cut = (pd.read_csv(tmp_path / r / "affinity.csv") for r in ("whole", "cut"))
    assert whole["step"].tolist() == [1, 2, 3, 4] and whole.equals(cut)


def test_affinity_logging_is_off_at_zero_and_not_in_the_fingerprint(tmp_path):
    from umcl.training.trainer import build_spec

    a = build_spec({"training": {"affinity_log_every": 0}}, "umcl", tmp_path / "m.csv", "raw")
    b = build_spec({"training": {"affinity_log_every": 7}}, "umcl", tmp_path / "m.csv", "raw")
    assert a.fingerprint() == b.fingerprint()
    with pytest.raises(UmclError):
        build_spec({"training": {"affinity_log_every": -1}}, "umcl", tmp_path / "m.csv", "raw")


def test_features_have_the_right_shapes_and_leave_the_run_untouched(umcl_run):
    from umcl.evaluation.features import extract_features

    _, manifest, run = umcl_run
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    fs = extract_features(run, manifest, ["raw", "c23"], device="cpu")
    assert fs.fused.shape == (24, 3 * UMCL_TINY["d"]) and list(fs.modalities) == ["rppg", "landmarks", "text"]
    assert all(v.shape == (24, UMCL_TINY["d"]) for v in fs.modalities.values())
    assert np.allclose(fs.fused, np.concatenate([fs.modalities[m] for m in fs.modalities], axis=1), atol=1e-6)
    assert fs.compression.tolist() == ["raw"] * 12 + ["c23"] * 12 and fs.label.sum() == 12
    again = extract_features(run, manifest, ["raw", "c23"], device="cpu")
    assert np.array_equal(fs.fused, again.fused)
    assert before == {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}


def test_figure_commands_write_pictures_data_and_checkable_numbers(umcl_run):
    from umcl.cli import main

    tmp, manifest, run = umcl_run
    cfg = tmp / "c.yaml"
    cfg.write_text(yaml.safe_dump({"figures": {"tsne_perplexity": 5.0, "knn_k": 3}}))
    out6 = tmp / "rep" / "figure6"
    assert (
        main(
            [
                "figure",
                "figure6",
                "--config",
                str(cfg),
                "--runs",
                str(run),
                "--manifest",
                str(manifest),
                "--device",
                "cpu",
                "--out",
                str(out6),
            ]
        )
        == 0
    )
    data, numbers = np.load(out6.with_suffix(".npz")), json.loads(out6.with_suffix(".json").read_text())
    emb, label, comp = data["embedding"], data["label"], data["compression"]
    assert emb.shape == (36, 2) and sorted(set(comp.tolist())) == ["c23", "c40", "raw"]
    assert numbers["all"]["knn_acc"] == pytest.approx(knn_loo_reference(emb, label, 3))
    assert numbers["all"]["silhouette"] == pytest.approx(silhouette_reference(emb, label), abs=1e-9)
    raw = comp == "raw"
    assert numbers["per_compression"]["raw"]["knn_acc"] == pytest.approx(knn_loo_reference(emb[raw], label[raw], 3))
    assert np.array_equal(emb, figures.tsne(data["fused"], 0, 5.0))  # redrawn from the saved data
    assert out6.with_suffix(".png").read_bytes()[:4] == b"\x89PNG" and out6.with_suffix(".pdf").stat().st_size
    assert f"{numbers['all']['knn_acc']:.3f}" in out6.with_suffix(".md").read_text()
    # the title prints the chance level beside the k-NN accuracy (the majority-class rate of these videos)
    majority = np.unique(label, return_counts=True)[1].max() / len(label)
    assert f"k-NN acc {numbers['all']['knn_acc']:.3f} (chance {majority:.3f})" in numbers["title"]

    out8 = tmp / "rep" / "figure8"
    assert (
        main(
            [
                "figure",
                "figure8",
                "--config",
                str(cfg),
                "--runs",
                f"D={run}",
                f"again={run}",
                "--manifest",
                str(manifest),
                "--test-compressions",
                "c23",
                "--device",
                "cpu",
                "--out",
                str(out8),
            ]
        )
        == 0
    )
    d8, n8 = np.load(out8.with_suffix(".npz")), json.loads(out8.with_suffix(".json").read_text())
    assert d8["p0_top"].shape == (36, 2) and d8["p0_fused"].shape == (12, 2)
    assert n8["panels"]["D"]["fused_real_fake"]["knn_acc"] == pytest.approx(
        knn_loo_reference(d8["p0_fused"], d8["p0_label"], 3)
    )
    assert n8["panels"]["D"]["top_modality"]["silhouette"] == pytest.approx(
        silhouette_reference(d8["p0_top"], d8["p0_top_modality"]), abs=1e-9
    )
    assert np.array_equal(d8["p0_fused"], d8["p1_fused"])  # same run, same seed: same picture
    assert n8["panels"]["D"]["distinct_features"] == {"rppg": 12, "landmarks": 12, "text": 1}  # label-free prompt
    md8 = out8.with_suffix(".md").read_text()
    assert "text: one feature vector shared by every video" in md8
    # each k-NN accuracy stands beside its chance level (a default run printed 0.209 with chance 0.512)
    chance = n8["panels"]["D"]["fused_real_fake"]["majority_rate"]
    assert "majority-class rate (k-NN chance)" in md8 and f"| {chance:.3f} |" in md8
    assert f"(chance {chance:.3f})" in n8["panels"]["D"]["titles"][1]
    assert "(chance 0.333)" in n8["panels"]["D"]["titles"][0]  # three modalities, equally many points

    out9 = tmp / "rep" / "figure9"
    assert main(["figure", "figure9", "--runs", str(run), "--out", str(out9)]) == 0
    log9, n9 = pd.read_csv(out9.with_suffix(".csv")), json.loads(out9.with_suffix(".json").read_text())
    tail = n9["final_window"]
    assert n9["pairs"]["rppg-text"]["HQ fake"]["final_mean"] == pytest.approx(
        log9["hq_fake_rppg-text"].tail(tail).mean()
    )
    assert list(log9.columns[2:]) == figures.affinity_columns()  # what dvc.yaml's plot names

    from umcl.report.render import write_index

    index = write_index(
        [out6.with_suffix(".json"), out8.with_suffix(".json"), out9.with_suffix(".json")],
        tmp / "rep" / "index.md",
        "test",
    ).read_text()
    for name, data in (("figure6", "npz"), ("figure8", "npz"), ("figure9", "csv")):
        assert f"({name}.png)" in index and f"({name}.pdf)" in index and f"({name}.{data})" in index
    assert f"k-NN acc {numbers['all']['knn_acc']:.3f} (chance {majority:.3f})" in index


def test_figure9_axis_labels_stay_inside_their_own_panel(tmp_path, monkeypatch):
    """Each panel's y label and tick labels are drawn left of its own axes and right of the previous panel."""
    import matplotlib.pyplot as plt

    cols = figures.affinity_columns()
    df = pd.DataFrame({"step": np.arange(20), "epoch": np.zeros(20), **{c: np.linspace(0, 1, 20) for c in cols}})
    kept = {}
    monkeypatch.setattr(plt, "close", lambda fig: kept.setdefault("fig", fig))
    figures.figure9(df, tmp_path / "f9", "run")
    fig = kept["fig"]
    renderer = fig.canvas.get_renderer()
    axes = fig.axes
    assert len(axes) == 3
    for left, right in pairwise(axes):
        left_box = left.get_window_extent(renderer)
        label_box = right.yaxis.get_tightbbox(renderer)
        assert label_box.x0 >= left_box.x1, "a y label overlaps the panel to its left"


def test_figure9_without_a_log_is_a_one_line_error(tmp_path):
    from umcl.cli import main

    assert main(["figure", "figure9", "--runs", str(tmp_path), "--out", str(tmp_path / "f9")]) == 2
    assert not (tmp_path / "f9.png").exists()


# ---------------------------------------------------------------------------- pipeline targets


@pytest.mark.parametrize("profile", ["default", "smoke", "paper"])
def test_figure_targets_dry_run(profile):
    """reports[/P]/figure{6,8,9}.png are targets on every profile; Figure 8 trains its two extra variants."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    from umcl.protocols.figures import figure_specs
    from umcl.workflow import load_profile

    repo = Path(__file__).resolve().parents[1]
    _, layout = load_profile(profile, check=False)
    targets = [f"{layout.report_prefix(f)}.png" for f in figures.FIGURES]
    bin_dir = Path(sys.executable).parent
    proc = subprocess.run(
        [str(bin_dir / "snakemake"), "-n", "--forceall", *targets, "--config", f"profile={profile}"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "PATH": f"{bin_dir}:{__import__('os').environ['PATH']}"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    stats = proc.stdout.split("Job stats:")[1].split("total")[0]
    jobs = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", stats, re.M)}
    assert jobs["figure_tsne"] == 2 and jobs["figure_affinity"] == 1
    specs = figure_specs(layout.wf)
    umcl_runs = {r for s in specs.values() for r in s.runs.values()}
    assert jobs["train"] == len(umcl_runs) + len({r.train for r in umcl_runs})  # + one LRNet initialiser each
    assert "evaluate" not in jobs  # figures read runs, not evaluations
    assert {r.variant for r in specs["figure8"].runs.values()} == {None, "ablC", "woCQSL", "woASACQSL"}
