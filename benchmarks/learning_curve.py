"""Learning curves: a detector's AUC against training videos and epochs (issue 9 §3).

Issue 9 asks that a detector that cannot leave chance at any size that fits be shown to do so by
a measured learning curve. This script measures one: on a pipeline profile's preprocessed data it
trains each detector on the first ``k`` training pairs of the split (``--pairs``; a pair gives its
2 originals and 8 fakes, so ``k`` pairs = ``2k`` real + ``8k`` fake videos), for each ``k`` and
seed, with the real CLI (``umcl validate-config``, ``umcl train``, ``umcl evaluate``), exactly as the
pipeline's rules run it: UMCL and CPML start from the profile's pre-trained P-encoder and from an
LRNet run trained on the same ``k`` pairs and seed. The validation and test splits are never cut.

It reports, per detector, size and seed: the validation AUC of every epoch (``history.csv``: the
learning curve over epochs), the training loss of every epoch, the validation-selected epoch, and
that checkpoint's test AUC with its 95 % bootstrap interval over test videos (``umcl evaluate``).
Nothing is selected on the test split. Output (``--out``): ``curve.json``, ``curve.md``, and one
folder per run (manifest, job config, run, evaluation, logs).

    python benchmarks/learning_curve.py --profile-results results/default --compression c23 \\
        --pairs 3 6 9 --detectors umcl cpml --seeds 0 --set training.per_detector.umcl.epochs=24 \\
        --out results/learning-curve

Takes the profile's ``config.resolved.yaml``, ``data/preprocessed.csv`` and ``pretrain/encoders.pt``
(build them first: ``snakemake results/<profile>/data/preprocessed.csv results/<profile>/pretrain/encoders.pt``).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from umcl.specs.vocab import DETECTORS, ENCODER_KEYS  # ENCODER_KEYS: the pipeline's too (workflow/rules/common.smk)


def training_pairs(splits_dir: Path) -> list[tuple[str, str]]:
    """The training split's pairs, in the split file's order."""
    return [tuple(p) for p in json.loads((splits_dir / "train.json").read_text())]


def cut_manifest(rows: list[dict[str, str]], pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    """Manifest rows (as read by ``csv.DictReader``, text untouched) with the training rows limited to the
    originals and fakes of ``pairs`` (fakes ``a_b`` of a pair (a, b) in either order); validation and
    test rows unchanged."""
    ids = {i for p in pairs for i in p}
    fakes = {f"{a}_{b}" for a, b in pairs} | {f"{b}_{a}" for a, b in pairs}
    return [r for r in rows if r["split"] != "train" or r["id"] in (fakes if int(r["label"]) else ids)]


def write_rows(rows: list[dict[str, str]], fields: list[str], path: Path, base: Path | None = None) -> None:
    """Write manifest rows back as CSV with the original columns; relative ``path``/``cache`` entries
    (relative to the source manifest's folder ``base``) are written absolute, so they still resolve."""
    if base is not None:
        rows = [
            {
                **r,
                **{
                    k: str((base / r[k]).resolve())
                    for k in ("path", "cache")
                    if r.get(k) and not Path(r[k]).is_absolute()
                },
            }
            for r in rows
        ]
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def umcl_cli(*args: str, log: Path) -> None:
    """Run ``umcl ARGS`` (this interpreter), output to ``log``; a failure names the log."""
    with open(log, "a") as fh:
        fh.write(f"$ umcl {' '.join(args)}\n")
        fh.flush()
        done = subprocess.run([sys.executable, "-m", "umcl.cli", *args], stdout=fh, stderr=subprocess.STDOUT)
    if done.returncode:
        raise SystemExit(f"error: `umcl {args[0]}` failed (exit {done.returncode}); see {log}")


def train_and_score(
    config: Path, sets: list[str], detector: str, manifest: Path, compression: str, seed: int, folder: Path
) -> dict:
    """One run: job config, ``umcl train``, ``umcl evaluate`` on the test split; its curve and score."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "steps.log"
    job = folder / "job.yaml"
    run, ev = folder / "run", folder / "eval"
    t0 = time.perf_counter()
    if not (run / "selection.json").exists():
        umcl_cli(
            "validate-config",
            "--config",
            str(config),
            *[a for s in sets for a in ("--set", s)],
            "--out",
            str(job),
            log=log,
        )
        umcl_cli(
            "train",
            "--config",
            str(job),
            "--detector",
            detector,
            "--manifest",
            str(manifest),
            "--train-compression",
            compression,
            "--seed",
            str(seed),
            "--out",
            str(run),
            "--if-exists",
            "resume-or-restart",
            "--no-progress",
            log=log,
        )
    train_s = time.perf_counter() - t0
    if not (ev / "metrics.json").exists():
        umcl_cli(
            "evaluate",
            "--config",
            str(job),
            "--run",
            str(run),
            "--manifest",
            str(manifest),
            "--test-compression",
            compression,
            "--out",
            str(ev),
            "--no-progress",
            log=log,
        )
    history = pd.read_csv(run / "history.csv")
    selection = json.loads((run / "selection.json").read_text())
    metrics = json.loads((ev / "metrics.json").read_text())
    loss_col = next((c for c in ("train_bce", "train_ce", "train_total", "train_loss") if c in history.columns), None)
    val_col = next((c for c in ("val_auc", "auc") if c in history.columns), None)
    return {
        "epochs": history["epoch"].tolist(),
        "val_auc": history[val_col].round(4).tolist() if val_col else None,
        "train_loss": history[loss_col].round(4).tolist() if loss_col else None,
        "selected_epoch": selection.get("epoch"),
        "test_auc": metrics["auc"]["value"],
        "test_auc_ci": [metrics["auc"].get("ci_low"), metrics["auc"].get("ci_high")],
        "test_counts": [metrics.get("n_real"), metrics.get("n_fake")],
        # training time as the run recorded it (per-epoch seconds), so a re-run that only re-reads it agrees
        "seconds": round(float(history["seconds"].sum()), 1) if "seconds" in history.columns else round(train_s, 1),
        "loss_column": loss_col,
        "modalities": modality_contributions(run, manifest, compression) if detector == "umcl" else None,
    }


def modality_contributions(run: Path, manifest: Path, compression: str, split: str = "test") -> dict:
    """Where UMCL's test score comes from, at the selected checkpoint: the shared classifier (eq. 7)
    is linear in U = [ẑ, ê, t̂] (eq. 6), so its fake-minus-real logit on the HQ view is a sum of one
    term per modality. For each term: its standard deviation over the ``split`` videos (how much it
    moves the score) and its AUC on its own (what it knows). The text term is the same for every
    video under the label-free test prompt, so its spread is 0."""
    import torch
    from torch.utils.data import DataLoader

    from umcl.data.videos import VideoDataset, collate, read_rows, select_rows, to_device
    from umcl.evaluation.predict import load_run
    from umcl.metrics import auc
    from umcl.scoring import test_inputs

    loaded = load_run(run, "cpu")
    model = loaded.model.eval()
    rows = select_rows(read_rows(manifest), split, compression, source=manifest)
    loader = DataLoader(
        VideoDataset(rows, test_inputs(model), loaded.train_cfg.num_frames), batch_size=16, collate_fn=collate
    )
    d, names = model.cfg.d, model.modalities
    w = (model.classifier.weight[1] - model.classifier.weight[0]).detach()
    terms, labels = [], []
    with torch.no_grad():
        for batch in loader:
            batch = to_device(batch, loaded.device)
            u = model(batch)["u_hq"]
            terms.append(
                torch.stack([u[:, i * d : (i + 1) * d] @ w[i * d : (i + 1) * d] for i in range(len(names))], 1)
            )
            labels.append(batch["label"])
    t, y = torch.cat(terms).numpy(), torch.cat(labels).numpy()
    methods = np.array([r.method for r in loader.dataset.rows])  # the loader keeps the order (no shuffling)
    out = {"split": split, "all": {"std": float(t.sum(1).std()), "auc": auc(y, t.sum(1))}}
    for i, name in enumerate(names):
        spread = float(t[:, i].std())
        out[name] = {"std": spread, "auc": auc(y, t[:, i]) if spread > 1e-6 else None}
        if spread > 1e-6:  # each manipulation against the real videos: which fakes the term knows
            real = y == 0
            out[name]["auc_per_method"] = {
                m: auc(y[real | (methods == m)], t[real | (methods == m), i]) for m in sorted(set(methods[y == 1]))
            }
    return out


def render(curve: dict) -> str:
    """The curve as Markdown: one row per detector, size and seed."""
    lines = [
        f"# Learning curves ({curve['compression']}, profile data {curve['profile_results']})",
        "",
        "AUC in % (video level). Validation AUC by epoch: every epoch of the run; test AUC: the checkpoint "
        "selected on validation, with the 95 % bootstrap interval over test videos. Settings beyond the profile: "
        f"`{' '.join(curve['sets']) or 'none'}`.",
        "",
        "| detector | training pairs (real + fake videos) | seed | validation AUC by epoch | "
        "training loss, first → last | selected epoch | test AUC [95 % CI] | training s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in curve["runs"]:
        val = ", ".join(f"{100 * v:.0f}" for v in r["val_auc"]) if r["val_auc"] else "-"
        loss = f"{r['train_loss'][0]:.3f} → {r['train_loss'][-1]:.3f}" if r["train_loss"] else "-"
        lo, hi = r["test_auc_ci"]
        ci = f" [{100 * lo:.1f}, {100 * hi:.1f}]" if lo is not None else ""
        lines.append(
            f"| {r['detector']} | {r['pairs']} ({2 * r['pairs']} + {8 * r['pairs']}) | {r['seed']} | {val} | "
            f"{loss} | {r['selected_epoch']} | {100 * r['test_auc']:.1f}{ci} | {r['seconds']:.0f} |"
        )
    diag = [r for r in curve["runs"] if r.get("modalities")]
    if diag:
        lines += [
            "",
            "UMCL's fake-minus-real logit on the test videos (HQ view, selected checkpoint) is a sum of one term "
            "per modality (eqs. 6-7 are linear in U); each term's spread over the test videos and its AUC alone:",
            "",
            "| training pairs | seed | score AUC | rPPG term: std, AUC | landmark term: std, AUC |",
            "|---|---|---|---|---|",
        ]

        def cell(m: dict, k: str) -> str:
            return f"{m[k]['std']:.3f}, {100 * m[k]['auc']:.1f}" if k in m and m[k]["auc"] is not None else "-"

        for r in diag:
            m = r["modalities"]
            lines.append(
                f"| {r['pairs']} | {r['seed']} | {100 * m['all']['auc']:.1f} | {cell(m, 'rppg')} "
                f"| {cell(m, 'landmarks')} |"
            )
    return "\n".join(lines) + "\n"


def check_inputs(res: Path, needs_pretrained: bool) -> None:
    """One-line errors for a profile's missing outputs, naming the file and how to build it."""
    need = [
        res / "config.resolved.yaml",
        res / "data" / "preprocessed.csv",
        res / "data" / "synthff" / "splits" / "train.json",
    ]
    need += [res / "pretrain" / "encoders.pt"] if needs_pretrained else []
    for path in need:
        if not path.is_file():
            raise SystemExit(
                f"error: {path}: not found; build the profile's data (and pre-trained P-encoder) first: "
                f"snakemake {res}/data/preprocessed.csv {res}/pretrain/encoders.pt --config profile=..."
            )


def check_out(out: Path) -> None:
    """``--out`` is new, empty, or an earlier curve of this script (then its finished runs are reused);
    anything else is refused and left untouched."""
    if out.exists() and (
        not out.is_dir() or (any(out.iterdir()) and not (out / "curve.json").exists() and not any(out.glob("pairs*")))
    ):
        raise SystemExit(
            f"error: {out}: exists and holds something other than a learning curve; it was left "
            "untouched -- give --out a new folder"
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile-results", type=Path, required=True, help="results/<profile> of a pipeline run")
    p.add_argument("--compression", default="c23")
    p.add_argument("--pairs", type=int, nargs="+", required=True, help="training pairs per size")
    p.add_argument("--detectors", nargs="+", default=["umcl", "cpml"], choices=DETECTORS)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config overrides for every run (e.g. training.per_detector.umcl.epochs=24)",
    )
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    res = a.profile_results
    config, pretrained = res / "config.resolved.yaml", res / "pretrain" / "encoders.pt"
    check_inputs(res, needs_pretrained=any(d in ENCODER_KEYS for d in a.detectors))
    if min(a.pairs) < 1:
        raise SystemExit(f"error: --pairs must be >= 1, got {min(a.pairs)}")
    check_out(a.out)
    with open(res / "data" / "preprocessed.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        manifest, fields = list(reader), list(reader.fieldnames or [])
    pairs = training_pairs(res / "data" / "synthff" / "splits")
    if max(a.pairs) > len(pairs):
        raise SystemExit(f"error: {res}: the training split has {len(pairs)} pairs, fewer than {max(a.pairs)}")
    a.out.mkdir(parents=True, exist_ok=True)
    curve = {"profile_results": str(res), "compression": a.compression, "sets": a.sets, "runs": []}
    for k in a.pairs:
        cut = a.out / f"pairs{k}" / "preprocessed.csv"
        cut.parent.mkdir(parents=True, exist_ok=True)
        write_rows(cut_manifest(manifest, pairs[:k]), fields, cut, base=res / "data")
        for seed in a.seeds:
            lrnet = a.out / f"pairs{k}" / "lrnet" / f"seed{seed}"
            runs = {}
            if any(d in ENCODER_KEYS for d in a.detectors) or "lrnet" in a.detectors:
                runs["lrnet"] = train_and_score(config, a.sets, "lrnet", cut, a.compression, seed, lrnet)
            for det in a.detectors:
                if det == "lrnet":
                    continue
                sets = list(a.sets)
                if det in ENCODER_KEYS:
                    p_key, l_key = ENCODER_KEYS[det]
                    sets += [
                        f"detectors.{det}.{p_key}={pretrained.resolve()}",
                        f"detectors.{det}.{l_key}={(lrnet / 'run' / 'checkpoints' / 'best.pt').resolve()}",
                    ]
                runs[det] = train_and_score(
                    config, sets, det, cut, a.compression, seed, a.out / f"pairs{k}" / det / f"seed{seed}"
                )
            for det, r in runs.items():
                if det in a.detectors or det == "lrnet":
                    curve["runs"].append({"detector": det, "pairs": k, "seed": seed, **r})
            (a.out / "curve.json").write_text(json.dumps(curve, indent=2) + "\n")
            (a.out / "curve.md").write_text(render(curve))
            print(render(curve).splitlines()[-1], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
