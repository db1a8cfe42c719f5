"""One trainer for every registered detector (``umcl train``).

Per epoch: balanced batches (:class:`BalancedBatchSampler`), the detector's optimiser and lr
schedule (:func:`umcl.training.config.training_for`: its source's recipe under the config's
shared and per-detector settings; :mod:`umcl.training.schedule`), float16 AMP on CUDA only, then
video-level scores on the *validation* split, the full training state in ``RUN/checkpoints/last.pt``
(atomic, replaced every epoch), the history (``RUN/history.csv``/``.json``) and, every
``training.affinity_log_every`` steps, the modality-pair affinities per view and class
(``RUN/affinity.csv``, Figure 9). The best validation epoch by
``training.select_metric`` (strictly better; ties keep the earlier epoch) is recorded in
``RUN/selection.json`` and its weights (no optimiser state) in ``checkpoints/best.pt``. So a run
holds two checkpoints whatever its length; ``training.keep_epoch_checkpoints`` also keeps each
epoch's weights as ``epoch_NNN.pt``. The test split is never read here.

Resume (``resume=True``) restores model, optimiser, scheduler, AMP scaler, every RNG and the
history from ``last.pt`` and continues with the next epoch; the sampler's order depends on
``(seed, epoch)`` only, so on CPU a resumed run ends with weights identical to an uninterrupted one.

DDP (launched by torchrun, ``WORLD_SIZE`` > 1): one process per GPU, each with its own
balanced batch of ``batch_size``; rank 0 validates on the whole validation split and writes
every file while the others wait. The history's training losses are means over all ranks' batches.
``last.pt`` holds every rank's RNG state, so a DDP run resumed on as many processes continues
exactly as an uninterrupted one (on another number of processes it continues from rank 0's).
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import time
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from umcl.config import config_hash
from umcl.data.manifest import check_no_split_overlap
from umcl.detector import Detector
from umcl.errors import UmclError
from umcl.io_utils import read_json_file, write_json, write_text
from umcl.logs import get_logger
from umcl.metrics import compute_metrics
from umcl.registry import build_detector, get_entry
from umcl.scoring import autocast, predict
from umcl.seeding import seed_everything
from umcl.specs.vocab import ENCODER_KEYS
from umcl.training.config import (
    GUARDS,
    TrainConfig,
    check_selection_split,
    training_for,
)
from umcl.training.data import (
    BalancedBatchSampler,
    VideoDataset,
    collate,
    read_rows,
    select_rows,
    to_device,
    with_partner,
)
from umcl.training.runtime import (
    DistInfo,
    all_reduce_sum,
    barrier,
    gather_rng_states,
    git_commit,
    init_distributed,
    load_checkpoint,
    resolve_device,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from umcl.training.schedule import PaperSchedule, build_optimizer
from umcl.training.scoring import SCORINGS, audit_files, audit_scorings, predict_options

#: the selection record of the as-released scoring of ``training.selection_audit`` (beside ``selection.json``)
AUDIT_SELECTION = audit_files("as_released")[0]
#: what ``Trainer.fit`` does with a run folder that already holds a run
IfExists = Literal["error", "resume-or-restart"]

log = get_logger("train")

#: metrics where lower is better
LOWER_IS_BETTER = {"eer"}


def is_better(value: float, best: float | None, metric: str) -> bool:
    """Strict improvement (ties keep the earlier epoch); NaN never wins."""
    if value is None or math.isnan(value):
        return False
    if best is None:
        return True
    return value < best if metric in LOWER_IS_BETTER else value > best


@dataclasses.dataclass
class RunSpec:
    """What one training run is: everything its results depend on."""

    detector: str
    detector_config: dict
    training: TrainConfig
    train_compression: str
    manifest: str
    #: manipulation methods whose fakes are trained on (real videos always); None = every method
    methods: tuple[str, ...] | None = None

    def fingerprint(self) -> str:
        d = dataclasses.asdict(self)
        # where a frozen P-encoder trunk's outputs are cached changes where they are kept, not what trains
        d["detector_config"] = {k: v for k, v in d["detector_config"].items() if k != "trunk_cache"}
        if d["methods"] is None:  # runs on every method keep the fingerprint they had before the field existed
            del d["methods"]
        d["training"] = {
            k: v
            for k, v in d["training"].items()
            if k not in ("num_workers", "device", "per_detector", "affinity_log_every", *GUARDS)
        }
        if not d["training"].get("selection_audit"):  # runs without the audit keep their fingerprints
            d["training"].pop("selection_audit", None)
        else:  # what the audit scores and saves (a run audited before the label_prompt scoring existed restarts)
            d["audit_scorings"] = list(audit_scorings(d["training"]["selection"]))
        return config_hash(d)


def build_spec(
    config: dict,
    detector: str,
    manifest: str | Path,
    train_compression: str,
    seed: int | None = None,
    epochs: int | None = None,
    methods: list[str] | None = None,
) -> RunSpec:
    """A run from the merged config plus the CLI's overrides (``--seed``, ``--epochs``)."""
    get_entry(detector)  # unknown detector -> one-line error
    training = training_for(config, detector)  # source recipe < shared section < per_detector
    overrides = {k: v for k, v in (("seed", seed), ("epochs", epochs)) if v is not None}
    if overrides:
        training = dataclasses.replace(training, **overrides)
    det_cfg = dict(((config or {}).get("detectors") or {}).get(detector) or {})
    for key in ENCODER_KEYS.get(detector, ()):  # pre-trained encoder files: absolute, so that run.json
        if isinstance(det_cfg.get(key), str) and det_cfg[key]:  # rebuilds the detector from any folder
            det_cfg[key] = str(Path(det_cfg[key]).resolve())
    return RunSpec(
        detector,
        det_cfg,
        training,
        train_compression,
        str(Path(manifest).resolve()),
        tuple(methods) if methods else None,
    )


class Trainer:
    """Train ``spec.detector`` into ``out`` (see the module docstring for the files)."""

    def __init__(self, spec: RunSpec, out: str | Path, progress: bool = True):
        self.spec, self.cfg = spec, spec.training
        self.out = Path(out)
        self.ckpt_dir = self.out / "checkpoints"
        self.progress = progress
        check_selection_split(self.cfg.select_split)
        self.dist: DistInfo = init_distributed()
        self.device = resolve_device(self.cfg.device, self.dist)
        self.use_amp = self.cfg.amp and self.device.type == "cuda"
        #: Figure 9 rows (epoch, step, {view}_{class}_{pair} affinities), written to RUN/affinity.csv
        self.affinity_rows: list[dict] = []

    # ----------------------------------------------------------------- setup
    def _datasets(self, inputs: tuple[str, ...]) -> tuple[VideoDataset, VideoDataset]:
        c, s = self.cfg, self.spec
        rows = read_rows(s.manifest)
        check_no_split_overlap(rows)
        check_methods(rows, s.methods, s.manifest)
        for split in dict.fromkeys(("train", c.select_split)):
            check_failed_share(s.manifest, split, s.train_compression, s.methods, c.max_failed_share)
        train = select_rows(rows, "train", s.train_compression, c.max_videos, c.seed, s.manifest, s.methods)
        val = select_rows(rows, c.select_split, s.train_compression, c.max_videos, c.seed, s.manifest, s.methods)
        if len({r.label for r in val}) < 2:
            raise UmclError(
                f"the {c.select_split} split at {s.train_compression} has only one class; video AUC is undefined",
                s.manifest,
                "add real and fake validation videos",
            )
        lq = {}
        if c.lq_compression is not None:
            lq = {
                "train": select_rows(rows, "train", c.lq_compression, None, c.seed, s.manifest),
                "val": select_rows(rows, c.select_split, c.lq_compression, None, c.seed, s.manifest),
            }
            paired = with_partner(train, lq["train"]), with_partner(val, lq["val"])
            for name, before, after in (("train", train, paired[0]), (c.select_split, val, paired[1])):
                if len(after) < len(before):
                    log.warning(
                        "%d of %d %s videos at %s have no %s copy (not preprocessed): left out of this paired run",
                        len(before) - len(after),
                        len(before),
                        name,
                        s.train_compression,
                        c.lq_compression,
                    )
            train, val = paired
        return (
            VideoDataset(train, inputs, c.num_frames, lq.get("train")),
            VideoDataset(val, inputs, c.num_frames, lq.get("val")),
        )

    def _write_run_json(self, model: torch.nn.Module | None = None) -> None:
        s = self.spec
        write_json(
            self.out / "run.json",
            {
                "detector": s.detector,
                "detector_config": s.detector_config,
                "training": dataclasses.asdict(s.training),
                "train_compression": s.train_compression,
                "manifest": s.manifest,
                "methods": list(s.methods) if s.methods else None,
                "seed": s.training.seed,
                "fingerprint": s.fingerprint(),
                "commit": git_commit(),
                "torch": torch.__version__,
                "world_size": self.dist.world_size,
                "starting_weights": getattr(model, "starting_weights", None),
            },
        )

    # ----------------------------------------------------------------- main
    def fit(self, resume: bool = False, stop_after: int | None = None, if_exists: IfExists = "error") -> dict:
        """Train (or resume) up to ``training.epochs``; ``stop_after`` ends early after that epoch
        (as if interrupted). Returns the selection record.

        ``if_exists`` says what to do when ``out`` already holds a run and ``resume`` is False:
        ``"error"`` (refuse; by hand), or ``"resume-or-restart"`` (the pipeline: continue the run
        when it was started with this very spec, e.g. after an interrupted job, and otherwise,
        after a config edit, delete it and start over)."""
        c, s = self.cfg, self.spec
        if not resume and if_exists == "resume-or-restart" and (self.ckpt_dir / "last.pt").exists():
            resume = self._same_run()
            if not resume and self.dist.is_main:
                log.info("%s holds a run with other settings: starting over", self.out)
                self._clear_run()
        seed_everything(c.seed, c.deterministic)
        model: Detector = build_detector(s.detector, s.detector_config).to(self.device)
        train_ds, val_ds = self._datasets(tuple(model.inputs))
        sampler = BalancedBatchSampler(train_ds.labels, c.batch_size, c.seed, self.dist.rank, self.dist.world_size)
        loader = DataLoader(
            train_ds,
            batch_sampler=sampler,
            num_workers=c.num_workers,
            collate_fn=collate,
            pin_memory=self.device.type == "cuda",
        )
        total_steps = c.epochs * len(sampler)
        optimizer = build_optimizer(model, c)
        scheduler = PaperSchedule(optimizer, total_steps, c)
        scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        history: list[dict] = []
        best: dict | None = None
        self.best_audit: dict[str, dict] = {}
        start = 1
        if resume:
            start, history, best = self._restore(model, optimizer, scheduler, scaler)
        elif self.dist.is_main:
            if (self.ckpt_dir / "last.pt").exists():
                raise UmclError(
                    "run folder already holds a training run",
                    self.out,
                    "pass --resume to continue it, or choose a new --out",
                )
            self._write_run_json(model)
        net: torch.nn.Module = model
        if self.dist.enabled:
            net = DistributedDataParallel(
                model,
                device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=c.ddp_find_unused_parameters,
            )
            if not resume:  # a resumed run has each rank's own state back from last.pt
                torch.manual_seed(c.seed + 1_000_003 * self.dist.rank)  # per-rank dropout/augmentation
        log.info(
            "train %s on %s: %d train / %d %s videos, %d steps/epoch, %d epochs, device %s, amp %s; "
            "%s, %s schedule, lr %g (warm-up %g), batch %d, weight decay %g",
            s.detector,
            s.train_compression,
            len(train_ds),
            len(val_ds),
            c.select_split,
            len(sampler),
            c.epochs,
            self.device,
            self.use_amp,
            c.optimizer,
            c.schedule,
            c.lr,
            c.lr_warmup,
            c.batch_size,
            c.weight_decay,
        )
        last = min(c.epochs, stop_after) if stop_after is not None else c.epochs
        for epoch in range(start, last + 1):
            t0 = time.time()
            sampler.set_epoch(epoch)
            model.on_epoch_start(epoch)
            train_losses = self._train_epoch(net, model, loader, optimizer, scheduler, scaler, epoch)
            record = {"epoch": epoch, "lr": optimizer.param_groups[0]["lr"], **train_losses}
            peer_rng = gather_rng_states(self.dist)
            if self.dist.is_main:
                scores = predict(
                    model,
                    val_ds,
                    self.device,
                    c.eval_batch_size or c.batch_size,
                    c.num_workers,
                    self.use_amp,
                    desc=f"val {epoch}",
                    progress=self.progress,
                    **predict_options(c.selection, model.default_condition),
                )  # label_free unless a leakage option
                metrics = compute_metrics(scores["label"].to_numpy(), scores["score"].to_numpy(), n_boot=0)
                record.update({f"val_{k}": metrics[k]["value"] for k in ("auc", "ap", "acc", "eer")})
                record["seconds"] = round(time.time() - t0, 3)
                history.append(record)
                value = metrics[c.select_metric]["value"]
                if is_better(value, None if best is None else best["value"], c.select_metric):
                    best = {"epoch": epoch, "metric": c.select_metric, "value": value, "split": c.select_split}
                if c.selection_audit:
                    for scoring in audit_scorings(c.selection):
                        record.update(self._audit(model, val_ds, epoch, scoring))
                self._save(epoch, model, optimizer, scheduler, scaler, history, best, record, peer_rng)
                log.info(
                    "epoch %d/%d: %s",
                    epoch,
                    c.epochs,
                    ", ".join(f"{k}={v:.4g}" for k, v in record.items() if isinstance(v, float) and k != "seconds"),
                )
            barrier(self.dist)
        return best or {}

    def _train_epoch(self, net, model: Detector, loader, optimizer, scheduler, scaler, epoch: int) -> dict:
        net.train()
        self._steps_before = (epoch - 1) * len(loader)
        sums: dict[str, float] = {}
        n = 0
        bar = tqdm(loader, desc=f"epoch {epoch}", leave=False, disable=not (self.progress and self.dist.is_main))
        for batch in bar:
            batch = to_device(batch, self.device)
            with autocast(self.device, self.use_amp):
                out = net(batch)
                losses = model.loss(batch, out)
            total = losses["total"]
            if not torch.isfinite(total).item() and not self.use_amp:
                raise UmclError(
                    f"training loss is {total.item()} at epoch {epoch}, step {n + 1}",
                    fix="lower training.lr_warmup or set training.grad_clip",
                )
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(total).backward()
            if self.cfg.grad_clip is not None:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), self.cfg.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            n += 1
            every = self.cfg.affinity_log_every
            if every and self.dist.is_main and (self._steps_before + n - 1) % every == 0:  # steps 1, 1+N, ...
                scores = model.affinity_scores(batch, out)
                if scores:
                    self.affinity_rows.append({"epoch": epoch, "step": self._steps_before + n, **scores})
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            bar.set_postfix(loss=f"{sums['total'] / n:.4f}")
        keys = sorted(sums)  # every rank ran n equal batches: the mean over ranks is the global mean
        total = all_reduce_sum([sums[k] for k in keys], self.dist)
        return {f"train_{k}": v / (n * self.dist.world_size) for k, v in zip(keys, total, strict=True)}

    # ----------------------------------------------------------------- files
    def _save(self, epoch, model, optimizer, scheduler, scaler, history, best, record, peer_rng=None) -> None:
        """Write the epoch's files; ``last.pt`` last, so a job killed in between resumes from the
        previous epoch and redoes this one (identically) instead of losing its selection.
        ``peer_rng``: every rank's RNG state under DDP (this rank's is taken here, after validation)."""
        weights = {
            "model": model.state_dict(),
            "epoch": epoch,
            "metrics": record,
            "detector": self.spec.detector,
            "fingerprint": self.spec.fingerprint(),
        }
        if self.cfg.keep_epoch_checkpoints:
            save_checkpoint(weights, self.ckpt_dir / f"epoch_{epoch:03d}.pt")
        if best is not None and best["epoch"] == epoch:
            save_checkpoint(weights, self.ckpt_dir / "best.pt")
            write_json(
                self.out / "selection.json",
                {
                    **best,
                    "checkpoint": "checkpoints/best.pt",
                    "detector": self.spec.detector,
                    "train_compression": self.spec.train_compression,
                    "seed": self.cfg.seed,
                    "fingerprint": self.spec.fingerprint(),
                    "note": "selected on the validation split only; the test split is never read in training",
                },
            )
        write_text(self.out / "history.csv", pd.DataFrame(history).to_csv(index=False))
        write_json(self.out / "history.json", history)
        if self.affinity_rows:
            write_text(self.out / "affinity.csv", pd.DataFrame(self.affinity_rows).to_csv(index=False))
        rng = rng_state()
        extra = {"rng_ranks": [rng, *peer_rng[1:]]} if peer_rng else {}
        save_checkpoint(
            {
                **weights,
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict(),
                "rng": rng,
                "history": history,
                "best": best,
                "best_audit": self.best_audit,
                **extra,
            },
            self.ckpt_dir / "last.pt",
        )

    def _audit(self, model: Detector, val_ds: VideoDataset, epoch: int, scoring: str) -> dict[str, float]:
        """``training.selection_audit``: score the validation split the ``scoring`` way (umcl.training.scoring)
        and keep the checkpoint that selection would pick (``audit_files(scoring)``).

        A training-mode pass updates BatchNorm statistics and draws random numbers: every buffer and RNG is
        put back right after the pass, before anything is saved, so the audit checkpoint holds the weights
        the model had at the end of the epoch (an epoch both selections pick gives identical ``best.pt`` and
        audit checkpoint), and the run's own selection, weights and later epochs are those of a run without
        the audit."""
        c = self.cfg
        buffers = {k: v.detach().clone() for k, v in model.named_buffers()}
        rng = rng_state()
        scores = predict(
            model,
            val_ds,
            self.device,
            c.eval_batch_size or c.batch_size,
            c.num_workers,
            self.use_amp,
            desc=f"{scoring} {epoch}",
            progress=self.progress,
            **predict_options(scoring, model.default_condition),
        )
        with torch.no_grad():
            for k, v in model.named_buffers():
                v.copy_(buffers[k])
        set_rng_state(rng)
        metrics = compute_metrics(scores["label"].to_numpy(), scores["score"].to_numpy(), n_boot=0)
        value = metrics[c.select_metric]["value"]
        best = self.best_audit.get(scoring)
        if is_better(value, None if best is None else best["value"], c.select_metric):
            record, checkpoint = audit_files(scoring)
            self.best_audit[scoring] = {
                "epoch": epoch,
                "metric": c.select_metric,
                "value": value,
                "split": c.select_split,
                "scoring": scoring,
                "checkpoint": checkpoint,
            }
            save_checkpoint(
                {
                    "model": model.state_dict(),
                    "epoch": epoch,
                    "detector": self.spec.detector,
                    "fingerprint": self.spec.fingerprint(),
                },
                self.out / checkpoint,
            )
            write_json(
                self.out / record,
                {
                    **self.best_audit[scoring],
                    "detector": self.spec.detector,
                    "seed": c.seed,
                    "fingerprint": self.spec.fingerprint(),
                    "note": f"leakage audit only: the epoch a {scoring} scoring of the validation split selects",
                },
            )
        return {f"val_{scoring}_{k}": metrics[k]["value"] for k in ("auc", "ap", "acc", "eer")}

    def _same_run(self) -> bool:
        """Whether the run in ``out`` was started with this spec (same fingerprint)."""
        return load_checkpoint(self.ckpt_dir / "last.pt").get("fingerprint") == self.spec.fingerprint()

    def _clear_run(self) -> None:
        """Delete a previous run's checkpoints and records from ``out`` (logs stay)."""
        shutil.rmtree(self.ckpt_dir)
        audits = [audit_files(s)[0] for s in SCORINGS]
        for name in ("run.json", "selection.json", *audits, "history.csv", "history.json", "affinity.csv"):
            (self.out / name).unlink(missing_ok=True)

    def _restore(self, model, optimizer, scheduler, scaler) -> tuple[int, list[dict], dict | None]:
        state = load_checkpoint(self.ckpt_dir / "last.pt")
        if state.get("fingerprint") != self.spec.fingerprint():
            raise UmclError(
                "cannot resume: the run was started with a different detector, config, compression, seed or manifest",
                self.out,
                "resume with the original settings, or train into a new --out",
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        ranks = state.get("rng_ranks") or [state["rng"]]
        set_rng_state(ranks[self.dist.rank] if len(ranks) == self.dist.world_size else state["rng"])
        self.best_audit = state.get("best_audit") or {}
        if (self.out / "affinity.csv").is_file():  # keep the logged steps of the epochs already done
            rows = pd.read_csv(self.out / "affinity.csv").to_dict("records")
            self.affinity_rows = [r for r in rows if r["epoch"] <= state["epoch"]]
        log.info("resumed %s after epoch %d", self.out, state["epoch"])
        return state["epoch"] + 1, list(state["history"]), state["best"]


def check_methods(rows, methods: tuple[str, ...] | None, manifest: str) -> None:
    """Refuse ``--methods`` naming a manipulation method the manifest's fakes do not have (a typo used
    to leave only real videos, reported as "the val split has only one class")."""
    if not methods:
        return
    known = sorted({r.method for r in rows if r.label == 1})
    unknown = [m for m in methods if m not in known]
    if unknown:
        raise UmclError(
            f"unknown manipulation method(s) {unknown}: the manifest's fakes are of {known}",
            manifest,
            f"pass --methods with names from {known}",
        )


def check_failed_share(
    manifest: str, split: str, compression: str, methods: tuple[str, ...] | None, max_share: float
) -> None:
    """Say how many of a split's videos preprocessing marked failed (they are left out), and refuse
    when more than ``max_share`` (training.max_failed_share) of them failed, and more than one."""
    from umcl.data.manifest import read_manifest
    from umcl.data.videos import keep_methods

    rows = [r for r in read_manifest(manifest) if r.split == split and r.compression == compression]
    rows = keep_methods(rows, methods) if methods else rows
    failed = [r for r in rows if r.status != "ok"]
    if not failed:
        return
    share = len(failed) / len(rows)
    said = (
        f"{len(failed)} of {len(rows)} {split} videos at {compression} ({share:.0%}) failed preprocessing and "
        f"are left out (first: {failed[0].reason or failed[0].status or 'no cache'})"
    )
    if len(failed) > max(1, max_share * len(rows)):  # one failed video is always allowed (small splits)
        raise UmclError(
            f"{said}; more than training.max_failed_share ({max_share:.0%})",
            manifest,
            "see the manifest's reason column, fix the cause and rerun `umcl preprocess` (good caches "
            "are reused), or raise training.max_failed_share",
        )
    log.warning("%s: %s", manifest, said)


def read_selection(run: str | Path, name: str = "selection.json") -> dict[str, Any]:
    """The run's ``selection.json`` (or ``name``, e.g. :data:`AUDIT_SELECTION`), refusing any selection
    not made on the validation split."""
    path = Path(run) / name
    if not path.is_file():
        raise UmclError("run has no selection.json", path.parent, "train it first with `umcl train`")
    fix = "finish or redo the run with `umcl train` (it writes selection.json after every epoch)"
    sel = read_json_file(path, "selection.json", fix)
    if not isinstance(sel, dict):
        raise UmclError("selection.json is not a JSON object", path, fix)
    try:
        check_selection_split(sel.get("split", "?"))
    except UmclError as exc:  # the policy's own fix names the config; here the file is at fault
        raise UmclError(exc.message, path, fix) from None
    if not all(k in sel for k in ("epoch", "metric", "value")):
        raise UmclError("selection.json lacks epoch/metric/value", path, fix)
    if not isinstance(sel.get("checkpoint", ""), str):
        raise UmclError(f"selection.json's checkpoint is {sel['checkpoint']!r}, not a path", path, fix)
    return sel
