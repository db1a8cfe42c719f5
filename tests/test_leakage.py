"""reports/leakage (issue 12 §3): the trainer's selection audit on a tiny real run (a detector that sees the
label in training mode, like the released UMCL's validation), the audit checkpoint scored by `umcl evaluate
--selection`, and the report on made-up evaluation files (cells and paired differences against scikit-learn)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from _train_fixtures import make_manifest
from sklearn.metrics import roc_auc_score
from test_paper_vs_released import (
    _reference_difference,
    _scores,
    write_study_evaluations,
)
from torch import nn

from umcl.cli import main as umcl_main
from umcl.conditions import condition_of
from umcl.detector import Detector
from umcl.evaluation.predict import load_run
from umcl.prompts import LEAKAGE_AUDIT
from umcl.protocols.sheet import build_sheet
from umcl.registry import register_detector
from umcl.specs.workflow import WorkflowConfig
from umcl.training.scoring import audit_files
from umcl.training.trainer import AUDIT_SELECTION, Trainer, build_spec, read_selection

N_BOOT = 40
#: the made-up audit evaluations: scoring -> the epoch its selection picked
AUDIT_EPOCHS = {"label_prompt": 3, "as_released": 1}


@dataclass
class LeakyConfig:
    hidden: int = 8


@register_detector("leaky_test", config=LeakyConfig)
class LeakyDetector(Detector):
    """Red-channel mean -> BatchNorm -> MLP; in training mode the true label is added to the fake logit
    (as the released UMCL's train-mode validation reads the label's prompt), and dropout draws numbers."""

    inputs = ("frames", "landmarks")

    def __init__(self, cfg: LeakyConfig):
        super().__init__()
        self.bn = nn.BatchNorm1d(4)
        self.net = nn.Sequential(nn.Linear(4, cfg.hidden), nn.ReLU(), nn.Dropout(0.3), nn.Linear(cfg.hidden, 2))

    def forward(self, batch: dict) -> dict:
        f = batch["frames"]
        feat = torch.cat([f.mean(dim=(2, 3, 4)), batch["landmarks"].mean(dim=(1, 2)).view(-1, 1)], dim=1)
        logits = self.net(self.bn(feat * 4))
        if self.training or condition_of(batch).prompt_policy == LEAKAGE_AUDIT:  # the label's prompt
            logits = logits + torch.stack([torch.zeros_like(batch["label"]), batch["label"]], 1).float() * 5.0
        return {"logits": logits}

    def loss(self, batch: dict, out: dict) -> dict:
        total = nn.functional.cross_entropy(out["logits"], batch["label"].long())
        return {"total": total}

    def score(self, out: dict) -> torch.Tensor:
        return out["logits"].softmax(-1)[:, 1]


CONFIG = {
    "training": {"epochs": 3, "batch_size": 4, "lr_warmup": 0.05, "lr": 0.01, "warmup_fraction": 0.2, "seed": 3},
    "detectors": {"leaky_test": {"hidden": 8}},
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("audit")
    manifest = make_manifest(tmp / "data")
    plain = build_spec(CONFIG, "leaky_test", manifest, "c23")
    audited = build_spec(
        {**CONFIG, "training": {**CONFIG["training"], "selection_audit": True}}, "leaky_test", manifest, "c23"
    )
    Trainer(plain, tmp / "plain", progress=False).fit()
    Trainer(audited, tmp / "audit", progress=False).fit()
    return {"tmp": tmp, "manifest": manifest, "plain": plain, "audited": audited}


def _hist(run) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in json.loads((run / "history.json").read_text())]


def test_audit_keeps_the_run_and_adds_the_label_seeing_selection(runs) -> None:
    tmp = runs["tmp"]
    plain, audit = tmp / "plain", tmp / "audit"
    # the run's own selection, history and final weights (BatchNorm statistics included) are unchanged
    hp, ha = _hist(plain), _hist(audit)
    audit_columns = ("val_as_released_", "val_label_prompt_")
    assert [{k: v for k, v in r.items() if not k.startswith(audit_columns)} for r in ha] == hp
    a = torch.load(plain / "checkpoints" / "last.pt", weights_only=True)["model"]
    b = torch.load(audit / "checkpoints" / "last.pt", weights_only=True)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert read_selection(plain) == {**read_selection(audit), "fingerprint": read_selection(plain)["fingerprint"]}
    # a run without the audit keeps the fingerprint it had before the field existed
    assert (
        "selection_audit" not in json.dumps(runs["plain"].fingerprint())
        and runs["plain"].fingerprint() != runs["audited"].fingerprint()
    )
    # the label-seeing scorings see the label: validation AUC 1 every epoch, so ties keep epoch 1
    for scoring in ("as_released", "label_prompt"):
        assert [r[f"val_{scoring}_auc"] for r in ha] == [1.0, 1.0, 1.0]
        record, checkpoint = audit_files(scoring)
        sel = read_selection(audit, record)
        assert sel["epoch"] == 1 and sel["scoring"] == scoring and sel["value"] == 1.0
        assert sel["checkpoint"] == checkpoint and torch.load(audit / checkpoint, weights_only=True)["epoch"] == 1
        assert load_run(audit, "cpu", record).selection["epoch"] == 1
    # the label-free scoring does not see it
    assert [r["val_auc"] for r in ha] != [1.0, 1.0, 1.0]


def _model_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter and buffer (persistent or not), copied."""
    return {k: v.detach().clone() for k, v in [*model.named_parameters(), *model.named_buffers()]}


def _one_epoch_audited_run(tmp) -> tuple:
    spec = build_spec(
        {**CONFIG, "training": {**CONFIG["training"], "epochs": 1, "selection_audit": True}},
        "leaky_test",
        make_manifest(tmp / "data"),
        "c23",
    )
    return spec, tmp / "run"


def test_audit_scoring_leaves_every_buffer_and_parameter_unchanged(tmp_path, monkeypatch) -> None:
    """Each audit pass (training mode updates BatchNorm's running statistics and draws dropout numbers)
    leaves every parameter and buffer of the model bit-identical."""
    seen: list[tuple[str, list[str]]] = []
    original = Trainer._audit

    def spy(self, model, val_ds, epoch, scoring):
        before = _model_state(model)
        out = original(self, model, val_ds, epoch, scoring)
        after = _model_state(model)
        assert before.keys() == after.keys()
        seen.append((scoring, [k for k in before if not torch.equal(before[k], after[k])]))
        return out

    monkeypatch.setattr(Trainer, "_audit", spy)
    spec, run = _one_epoch_audited_run(tmp_path)
    Trainer(spec, run, progress=False).fit()
    assert seen == [("label_prompt", []), ("as_released", [])]
    # the check can fail: a training-mode pass over the validation split does move the statistics
    from umcl.scoring import predict

    loaded = load_run(run, "cpu")
    before = _model_state(loaded.model)
    ds = Trainer(spec, tmp_path / "unused", progress=False)._datasets(tuple(loaded.model.inputs))[1]
    predict(loaded.model, ds, torch.device("cpu"), 4, progress=False, train_mode=True)
    after = _model_state(loaded.model)
    assert not torch.equal(before["bn.running_mean"], after["bn.running_mean"])


def test_an_epoch_both_selections_pick_gives_identical_checkpoints(tmp_path) -> None:
    """One epoch: every selection picks it, so the audit checkpoints must hold best.pt's weights and
    buffers (the as-released pass used to be saved with the BatchNorm statistics it had just updated)."""
    spec, run = _one_epoch_audited_run(tmp_path)
    Trainer(spec, run, progress=False).fit()
    best = torch.load(run / "checkpoints" / "best.pt", weights_only=True)
    for record in (AUDIT_SELECTION, audit_files("label_prompt")[0]):
        sel = read_selection(run, record)
        audit = torch.load(run / sel["checkpoint"], weights_only=True)
        assert audit["epoch"] == best["epoch"] == 1
        assert audit["model"].keys() == best["model"].keys()
        differ = [k for k in best["model"] if not torch.equal(best["model"][k], audit["model"][k])]
        assert differ == [], f"{sel['checkpoint']} differs from best.pt in {differ}"


def test_audit_checkpoint_is_scored_by_umcl_evaluate(runs) -> None:
    tmp, manifest = runs["tmp"], runs["manifest"]
    cfg = tmp / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({"evaluation": {"n_bootstrap": 0}}))
    key = "leaky_test/synthff-all-c23/seed3"
    outs = {}
    for name, sel in (
        ("best", "selection.json"),
        ("audit", AUDIT_SELECTION),
        ("label_prompt", audit_files("label_prompt")[0]),
    ):
        out = tmp / f"eval_{name}"
        assert (
            umcl_main(
                [
                    "evaluate",
                    "--config",
                    str(cfg),
                    "--run",
                    str(tmp / "audit"),
                    "--key",
                    key,
                    "--tests",
                    "synthff-all-c23/clean",
                    "--manifests",
                    f"synthff={manifest}",
                    "--out",
                    str(out),
                    "--selection",
                    sel,
                    "--no-progress",
                ]
            )
            == 0
        )
        outs[name] = json.loads((out / "synthff-all-c23/clean/metrics.json").read_text())
    prov = {n: m["provenance"] for n, m in outs.items()}
    assert prov["audit"]["selected_epoch"] == 1 and prov["audit"]["selection_scoring"] == "as_released"
    assert prov["best"]["selected_epoch"] == read_selection(tmp / "audit")["epoch"]
    assert prov["best"]["selection_scoring"] == "label_free"
    assert prov["label_prompt"]["selection_scoring"] == "label_prompt" and prov["label_prompt"]["selected_epoch"] == 1
    scores = pd.read_csv(tmp / "eval_audit" / "scores" / "synthff-c23" / "clean.csv")
    assert outs["audit"]["auc"]["value"] == pytest.approx(roc_auc_score(scores["label"], scores["score"]), abs=1e-12)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("leak")
    wf = {"dataset": "synthff", "seeds": [0, 1]}
    (tmp / "config.yaml").write_text(yaml.safe_dump({"workflow": wf, "evaluation": {"n_bootstrap": N_BOOT}}))
    sheet = build_sheet(WorkflowConfig(**wf))
    indexes = write_study_evaluations(tmp / "eval", sheet, "leakage")
    for path in indexes:
        _add_selection(path, 2, "label_free")
    rng = np.random.default_rng(5)
    audit = []
    for scoring, epoch in AUDIT_EPOCHS.items():  # each audit checkpoint scores differently
        root = tmp / "eval_audit" / scoring
        audit += write_study_evaluations(root, _selection_only(sheet), "leakage")
        for csv in sorted(root.rglob("*.csv")):
            df = pd.read_csv(csv)
            df["score"] = np.clip(df["score"] + rng.normal(0, 0.3, len(df)), 0, 1)
            df.to_csv(csv, index=False)
        for path in root.rglob("evaluation.json"):
            _add_selection(path, epoch, scoring)
    out = tmp / "reports" / "leakage"
    assert (
        umcl_main(
            [
                "report",
                "leakage",
                "--config",
                str(tmp / "config.yaml"),
                "--evaluations",
                *map(str, indexes),
                "--audit-evaluations",
                *map(str, audit),
                "--out",
                str(out),
                "--profile",
                "test",
            ]
        )
        == 0
    )
    return {
        "sheet": sheet,
        "tmp": tmp,
        "json": json.loads(out.with_suffix(".json").read_text()),
        "md": out.with_suffix(".md").read_text(),
    }


def _selection_only(sheet):
    from types import SimpleNamespace

    return SimpleNamespace(cells={"leakage": [c for c in sheet.cells["leakage"] if c.decl.panel == "selection"]})


def _add_selection(index_path, epoch: int, scoring: str) -> None:
    """What `umcl evaluate` records of the selection in each cell's provenance."""
    index = json.loads(index_path.read_text())
    for cell in index["cells"]:
        path = index_path.parent / cell["metrics"]
        m = json.loads(path.read_text())
        m["provenance"].update(
            {"selected_epoch": epoch, "selection_value": 0.5 + 0.1 * epoch, "selection_scoring": scoring}
        )
        path.write_text(json.dumps(m))


def _cell(sheet, panel, row):
    return next(c for c in sheet.cells["leakage"] if (c.decl.panel, c.decl.row) == (panel, row))


def test_selection_part_has_three_scorings_and_their_shares(report) -> None:
    (entry,) = report["json"]["selection"]
    cell = _cell(report["sheet"], "selection", ("UMCL (released)", "selection"))
    roots = {"label_free": report["tmp"] / "eval", **{s: report["tmp"] / "eval_audit" / s for s in AUDIT_EPOCHS}}
    scores = {s: _scores(cell, root) for s, root in roots.items()}
    rows = entry["selections"]
    names = ["label-free (this suite)", "eval mode, label's prompt", "as released (label's prompt, train mode)"]
    assert sorted(rows) == sorted(names)
    for (scoring, root), side in zip(roots.items(), [rows[n] for n in names], strict=True):
        assert side["epochs"] == [{"label_free": 2, **AUDIT_EPOCHS}[scoring]] * 2 and side["scoring"] == [scoring]
        want = np.mean([roc_auc_score(s["label"], s["score"]) for s in scores[scoring].values()])
        assert side["test_auc"]["value"] == pytest.approx(want, abs=1e-12)
        val = pd.read_csv(root / cell.keys[0].run.to_path() / "ffpp" / "scores" / "val.csv")
        assert side["val_auc_label_free"][0] == pytest.approx(roc_auc_score(val["label"], val["score"]), abs=1e-12)
    assert rows["as released (label's prompt, train mode)"]["val_auc_seen"] == [pytest.approx(0.6)] * 2
    # the label's share, training mode's share and their sum, each a paired test-video bootstrap difference
    shares = entry["shares"]
    for name, (a, b) in {
        "label's share": ("label_free", "label_prompt"),
        "training mode's share": ("label_prompt", "as_released"),
        "as released − label-free": ("label_free", "as_released"),
    }.items():
        value, ci = _reference_difference(scores[a], scores[b], "auc")
        assert abs(value) > 1e-6
        d = shares[name]
        assert d["value"] == pytest.approx(value, abs=1e-12) and (d["ci_low"], d["ci_high"]) == pytest.approx(
            ci, abs=1e-12
        )
    assert shares["label's share"]["value"] + shares["training mode's share"]["value"] == pytest.approx(
        shares["as released − label-free"]["value"], abs=1e-12
    )
    assert entry["test_auc_difference"] == shares["as released − label-free"]
    md = report["md"]
    assert [md.index(f"| UMCL (released) | {name} | ") for name in names] == sorted(
        md.index(f"| UMCL (released) | {name} | ") for name in names
    )
    assert "| label's share | eval mode, label's prompt − label-free (this suite) | " in md
    assert "| training mode's share | as released (label's prompt, train mode) − eval mode, label's prompt | " in md


def test_cpml_and_prompt_parts(report) -> None:
    sheet, root = report["sheet"], report["tmp"] / "eval"
    (cpml,) = report["json"]["cpml"]
    a = _scores(_cell(sheet, "cpml", ("CPML (label-free)", "classifier")), root)
    b = _scores(_cell(sheet, "cpml", ("CPML (label-fed classifier)", "classifier")), root)
    assert cpml["difference"]["value"] == pytest.approx(_reference_difference(a, b, "auc")[0], abs=1e-12)
    prompt = {r["reference"].split(" / ")[0]: r for r in report["json"]["prompt"]}
    assert set(prompt) == {"UMCL (paper)", "UMCL (released)", "CPML (label-free)", "CPML (label-fed classifier)"}
    for model, r in prompt.items():
        a = _scores(_cell(sheet, "prompt", (model, "label-free prompt")), root)
        b = _scores(_cell(sheet, "prompt", (model, "leakage_audit prompt")), root)
        assert r["leaked"] == f"{model} / leakage_audit prompt"
        assert r["difference"]["value"] == pytest.approx(_reference_difference(a, b, "auc")[0], abs=1e-12)
    assert "## (c) Test prompt" in report["md"] and "paired stratified bootstrap" in report["md"]


def test_missing_audit_evaluation_renders(report, tmp_path) -> None:
    sheet = report["sheet"]
    indexes = sorted((report["tmp"] / "eval").rglob("evaluation.json"))
    out = tmp_path / "leakage"
    assert (
        umcl_main(
            [
                "report",
                "leakage",
                "--config",
                str(report["tmp"] / "config.yaml"),
                "--evaluations",
                *map(str, indexes),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["selection"][0]["missing"] == ["eval mode, label's prompt", "as released (label's prompt, train mode)"]
    assert data["selection"][0]["shares"] == dict.fromkeys(data["selection"][0]["shares"])
    assert "not evaluated on this profile" in out.with_suffix(".md").read_text()
    assert sheet.cells["leakage"]


def test_tiny_released_run_keeps_both_selections(tmp_path, monkeypatch) -> None:
    """A real ``umcl-released`` run (its recipe turns the audit on): both selections recorded, each the
    best epoch of its own validation scoring, and the audit checkpoint loads and scores."""
    import _train_fixtures
    from test_test_time_options import SMALL

    monkeypatch.setattr(_train_fixtures, "S", 32)
    manifest = _train_fixtures.make_manifest(
        tmp_path / "data", counts={"train": (2, 2), "val": (3, 3), "test": (2, 2)}, n_frames=16
    )
    config = {
        "training": {"epochs": 2, "batch_size": 4, "seed": 0, "device": "cpu"},
        "detectors": {"umcl-released": dict(SMALL)},
    }
    spec = build_spec(config, "umcl-released", manifest, "c23")
    assert spec.training.selection == "label_free" and spec.training.selection_audit
    run = tmp_path / "run"
    Trainer(spec, run, progress=False).fit()
    hist = pd.read_csv(run / "history.csv")
    for name, column in (
        ("selection.json", "val_auc"),
        (AUDIT_SELECTION, "val_as_released_auc"),
        (audit_files("label_prompt")[0], "val_label_prompt_auc"),
    ):
        sel = read_selection(run, name)
        assert sel["value"] == hist[column].max() and sel["epoch"] == int(hist.loc[hist[column].idxmax(), "epoch"])
    loaded = load_run(run, "cpu", AUDIT_SELECTION)
    assert (
        loaded.selection["scoring"] == "as_released"
        and loaded.selection["epoch"] == read_selection(run, AUDIT_SELECTION)["epoch"]
    )


def test_scorings_what_each_reads() -> None:
    """label_free and label_prompt score in eval mode, label_prompt with the true label's prompts (the same
    condition as part (c)); as_released in training mode; the study evaluates both audit checkpoints."""
    from umcl.conditions import TestCondition
    from umcl.protocols.studies import LEAKAGE_AUDIT_SCORINGS, LEAKAGE_CONDITION
    from umcl.training.scoring import SCORINGS, audit_scorings, predict_options

    assert SCORINGS == ("label_free", "label_prompt", "as_released")
    assert predict_options("label_free") == {"train_mode": False, "condition": None}
    assert predict_options("as_released") == {"train_mode": True, "condition": None}
    opts = predict_options("label_prompt")
    assert opts["train_mode"] is False and opts["condition"] == TestCondition(prompt_policy=LEAKAGE_AUDIT)
    assert opts["condition"].key == LEAKAGE_CONDITION
    assert set(LEAKAGE_AUDIT_SCORINGS) == set(audit_scorings("label_free"))
    assert audit_scorings("as_released") == ("label_free", "label_prompt")
    assert len({audit_files(s) for s in SCORINGS}) == 3
    with pytest.raises(ValueError, match="unknown scoring"):
        predict_options("test_mode")
    # umcl-released scores in training mode by default (the release's test script): the two eval-mode scorings
    # pin mode-eval, so the three differ in prompt and mode alone
    from umcl.released import RELEASED_DEFAULT_CONDITION

    assert TestCondition.from_key(RELEASED_DEFAULT_CONDITION).module_mode == "train"
    free = predict_options("label_free", RELEASED_DEFAULT_CONDITION)
    label = predict_options("label_prompt", RELEASED_DEFAULT_CONDITION)
    assert free["train_mode"] is False and free["condition"].module_mode == "eval"
    assert free["condition"].prompt_policy == TestCondition.from_key(RELEASED_DEFAULT_CONDITION).prompt_policy
    assert label["condition"].module_mode == "eval" and label["condition"].prompt_policy == LEAKAGE_AUDIT
    assert predict_options("as_released", RELEASED_DEFAULT_CONDITION) == {"train_mode": True, "condition": None}


def test_report_states_its_bootstrap_resamples(report) -> None:
    assert report["json"]["bootstrap_resamples"] == N_BOOT
    assert f"Bootstrap resamples: {N_BOOT} for every interval of this report" in report["md"]
