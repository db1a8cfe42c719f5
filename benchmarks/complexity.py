"""Table 9 (paper §5.5): parameters, GFLOPs per sample, throughput and peak memory of CPML and UMCL.

Run (a script, also importable)::

    .venv/bin/python benchmarks/complexity.py --size paper --batch 1 --repeats 1 --out reports/table9
    .venv/bin/python benchmarks/complexity.py --size small --out /tmp/table9-small   # seconds

writes ``OUT.json`` (every number, the environment and the settings) and ``OUT.md`` (beside the
paper's values from ``umcl/specs/paper_values/table9.yaml``).

What is measured, per detector (built from its config at ``--size``; no weights are needed):

* **Parameters** of the model as built: total, trainable, per top-level part. The frozen T-encoder
  is not a sub-module here (its prompt embeddings are a buffer), so "total" already excludes it.
  The paper's T-encoder is CLIP ViT-B/16: the open_clip ``ViT-B-16`` architecture is built *without
  weights* to count it (whole model and text tower), when open_clip is installed.
* **GFLOPs per sample** of one inference forward pass (eval mode) and of one training forward +
  backward, from :class:`torch.utils.flop_counter.FlopCounterMode` (a multiply-add counts 2 FLOPs;
  GMACs = GFLOPs / 2). Inference runs the model as evaluated: UMCL reads the HQ and the LQ view, CPML
  the 128 px view only; in training CPML also runs its 64 and 32 px views.
* **Throughput** (samples/s): inference forward under ``torch.no_grad`` and full training steps
  (forward, loss, backward, AdamW step), ``--repeats`` timed rounds after one warm-up round.
* **Peak memory**: on CUDA ``torch.cuda.max_memory_allocated`` during the round; on CPU the rise of
  the process's peak resident set (``VmHWM``, reset through ``/proc/self/clear_refs``) over its
  resident set before the round — a coarse figure that includes allocator slack.

The T-encoder's text dimension is set by ``--text-dim`` (512 = CLIP ViT-B/16, the paper's) through
a shape-only stand-in encoder: prompt embeddings are seeded random unit vectors, which changes no
count, FLOP or timing of the detector (the frozen encoder runs once, before any measurement).

The released-code hypothesis (``/work/shared/notes/official-code.md``): the paper's 175.82 M / 149.85 M
count a whole CLIP ViT-B/16 plus, for UMCL, three flatten→linear rPPG projections. The layers are
built (on the ``meta`` device) and counted, and every sum of measured parts is compared with the
paper's figures (:func:`parameter_hypotheses`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as a script from anywhere
    sys.path.insert(0, str(ROOT))

from umcl.detector import Detector  # noqa: E402
from umcl.errors import UmclError  # noqa: E402
from umcl.io_utils import atomic_path  # noqa: E402
from umcl.models.text_encoder import TextEncoder  # noqa: E402
from umcl.registry import build_detector  # noqa: E402
from umcl.seeding import seed_everything  # noqa: E402

DETECTORS = ("cpml", "umcl")
#: detector config overrides per size; ``paper`` = the configs' defaults (the paper's profile)
SIZES: dict[str, dict[str, dict[str, Any] | str]] = {
    "paper": {"cpml": {}, "umcl": {}},
    "small": {
        "cpml": "tiny",  # CPMLConfig.tiny()
        "umcl": dict(frames=8, image_size=32, physformer_dim=24, physformer_ff_dim=36, physformer_layers=3, d=32),
    },
}
#: released UMCL code (official-code.md): rPPG flatten→linear layers, in -> out features, per view size
RELEASED_FLATTEN_LAYERS = {"128px": (640 * 96 * 2, 160), "64px": (160 * 96 * 2, 160), "32px": (40 * 96 * 2, 160)}
#: released UMCL code: the other heads (rPPG 320->320, landmarks 128->320, text 512->320, classifier 960->2)
RELEASED_HEADS = {"rppg_320": (320, 320), "landmarks": (128, 320), "text": (512, 320), "classifier": (960, 2)}
#: tolerance when matching a sum of parts to a printed count (the paper prints 0.01 M)
MATCH_TOL_M = 0.05


# ---------------------------------------------------------------------------- building


class ShapeOnlyTextEncoder(TextEncoder):
    """A frozen stand-in T-encoder of width ``dim``: seeded random unit vectors per text (no weights)."""

    backend = "shape-only"

    def __init__(self, dim: int = 512):
        super().__init__()
        self.dim = dim

    def fingerprint(self) -> str:
        return f"shape-only:{self.dim}"

    def _load(self) -> None:
        return None

    def _encode(self, texts: list[str]) -> torch.Tensor:
        g = torch.Generator().manual_seed(0)
        return torch.randn(len(texts), self.dim, generator=g)


@contextlib.contextmanager
def _text_encoder(dim: int) -> Iterator[None]:
    """Build detectors with :class:`ShapeOnlyTextEncoder` of width ``dim`` inside this block."""
    import baselines.cpml as cpml_mod
    import umcl.models.umcl as umcl_mod

    saved = umcl_mod.build_text_encoder, cpml_mod.build_text_encoder
    umcl_mod.build_text_encoder = cpml_mod.build_text_encoder = lambda *a, **k: ShapeOnlyTextEncoder(dim)
    try:
        yield
    finally:
        umcl_mod.build_text_encoder, cpml_mod.build_text_encoder = saved


def build(detector: str, size: str = "paper", text_dim: int = 512) -> Detector:
    """``detector`` at ``size`` with a ``text_dim``-wide stand-in T-encoder (seed 0)."""
    if size not in SIZES:
        raise UmclError(f"unknown size {size!r}", fix=f"use one of {sorted(SIZES)}")
    seed_everything(0, deterministic=False)
    overrides = SIZES[size][detector]
    if overrides == "tiny":
        from baselines.cpml import CPMLConfig

        overrides = dataclasses.asdict(CPMLConfig.tiny())
    with _text_encoder(text_dim):
        return build_detector(detector, overrides)


def make_batch(model: Detector, batch: int, device: torch.device) -> dict:
    """A seeded batch at the model's input size: alternating labels, frames in [0, 1], landmarks ~ N(0, 0.1²)."""
    cfg = model.cfg
    g = torch.Generator().manual_seed(0)
    frames = torch.rand(batch, 3, cfg.frames, cfg.image_size, cfg.image_size, generator=g)
    landmarks = 0.1 * torch.randn(batch, cfg.frames, 136, generator=g)
    return {
        "frames": frames.to(device),
        "landmarks": landmarks.to(device),
        "label": torch.tensor([i % 2 for i in range(batch)], device=device),
        "key": [f"bench/{i:03d}" for i in range(batch)],
    }


# ---------------------------------------------------------------------------- parameters


def count(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of ``module`` (shared tensors counted once)."""
    seen: dict[int, int] = {}
    for p in module.parameters():
        if not trainable_only or p.requires_grad:
            seen[id(p)] = p.numel()
    return sum(seen.values())


def parameter_counts(model: Detector) -> dict[str, Any]:
    """Total / trainable parameters and the count of each top-level part (the T-encoder is not a part)."""
    parts = {name: count(child) for name, child in model.named_children() if count(child)}
    return {
        "total": count(model),
        "trainable": count(model, True),
        "parts": parts,
        "buffers_excluding_prompt_bank": sum(
            b.numel() for n, b in model.named_buffers() if not n.startswith("prompt_bank.")
        ),
    }


def clip_counts() -> dict[str, int] | None:
    """Parameters of open_clip's ViT-B-16 built without weights (None when open_clip is missing)."""
    try:
        import open_clip
    except ImportError:
        return None
    import logging

    level = logging.root.level
    logging.root.setLevel(logging.ERROR)  # "no pretrained weights loaded" is what we want here
    try:
        with torch.device("meta"):  # shapes only: no memory, no initialisation
            clip = open_clip.create_model("ViT-B-16", pretrained=None, device="meta")
    finally:
        logging.root.setLevel(level)
    whole, visual = count(clip), count(clip.visual)
    return {
        "whole": whole,
        "image_tower": visual,
        "text_tower": whole - visual - clip.logit_scale.numel(),
        "logit_scale": clip.logit_scale.numel(),
    }


def linear_count(fan_in: int, fan_out: int) -> int:
    """Parameters of ``nn.Linear(fan_in, fan_out)``, counted from a layer built on the meta device."""
    return count(nn.Linear(fan_in, fan_out, device="meta"))


def released_counts() -> dict[str, Any]:
    """The released UMCL code's extra layers (official-code.md), each counted."""
    flatten = {k: linear_count(*v) for k, v in RELEASED_FLATTEN_LAYERS.items()}
    heads = {k: linear_count(*v) for k, v in RELEASED_HEADS.items()}
    return {
        "flatten_linear": flatten,
        "flatten_linear_total": sum(flatten.values()),
        "heads": heads,
        "heads_total": sum(heads.values()),
    }


#: parts smaller than this cannot be told apart at the paper's printed precision (0.01 M): left out of the search
MIN_PART = 10_000


def named_hypotheses(det: str, parts: dict[str, int], clip: dict | None, released: dict) -> dict[str, int]:
    """Explicit readings of the printed count: the model as the paper describes it (T-encoder excluded
    or its text tower included) and the released code's (whole CLIP, flatten→linear layers)."""
    p_enc = "p_encoder" if det == "umcl" else "rppg"
    ours = sum(parts.values())
    out = {"ours, T-encoder excluded (as the caption says)": ours}
    if clip:
        out["ours + CLIP text tower"] = ours + clip["text_tower"]
        out["ours + whole CLIP"] = ours + clip["whole"]
        out["ours without P-encoder + whole CLIP"] = ours - parts.get(p_enc, 0) + clip["whole"]
        if det == "umcl":
            l_enc = parts.get("l_encoder", 0)
            rel = released["flatten_linear_total"] + released["heads_total"]
            out["released: whole CLIP + flatten->linear x3 + released heads + L-encoder + P-encoder"] = (
                clip["whole"] + rel + l_enc + parts.get(p_enc, 0)
            )
            out["released: whole CLIP + flatten->linear x3 + released heads + L-encoder (no P-encoder)"] = (
                clip["whole"] + rel + l_enc
            )
    return out


def parameter_hypotheses(
    ours: dict[str, dict], clip: dict | None, released: dict, targets: dict[str, float]
) -> dict[str, dict[str, Any]]:
    """Per detector: the named readings (:func:`named_hypotheses`) with their gap to the printed count,
    and every sum of counted parts of at least :data:`MIN_PART` parameters within :data:`MATCH_TOL_M` M
    of it (closest first). Parts: the detector's own top-level parts, at most one CLIP count (whole /
    text tower / image tower) and, for UMCL, the released flatten→linear layers and heads."""
    out: dict[str, dict[str, Any]] = {}
    for det, target in targets.items():
        parts = dict(ours[det]["parts"])
        named = {
            name: {
                "params_m": round(n / 1e6, 4),
                "diff_m": round(n / 1e6 - target, 4),
                "reproduces": abs(n / 1e6 - target) < 0.005,
            }
            for name, n in named_hypotheses(det, parts, clip, released).items()
        }
        options: list[list[tuple[str, int]]] = [[("", 0), (name, n)] for name, n in parts.items() if n >= MIN_PART]
        if clip:
            options.append(
                [("", 0)]
                + [(f"CLIP ViT-B/16 {k.replace('_', ' ')}", clip[k]) for k in ("whole", "text_tower", "image_tower")]
            )
        if det == "umcl":
            options.append([("", 0), ("released flatten->linear x3", released["flatten_linear_total"])])
            options.append([("", 0), ("released heads", released["heads_total"])])
        hits = []
        for combo in itertools.product(*options):
            names = [n for n, _ in combo if n]
            total = sum(v for _, v in combo)
            if names and abs(total / 1e6 - target) <= MATCH_TOL_M:
                hits.append(
                    {"parts": names, "params_m": round(total / 1e6, 4), "diff_m": round(total / 1e6 - target, 4)}
                )
        out[det] = {
            "target_m": target,
            "named": named,
            "search": sorted(hits, key=lambda h: (abs(h["diff_m"]), len(h["parts"]))),
        }
    return out


# ---------------------------------------------------------------------------- FLOPs, time, memory


def _train_step(model: Detector, batch: dict, optimizer: torch.optim.Optimizer) -> None:
    model.train()
    optimizer.zero_grad(set_to_none=True)
    model.loss(batch, model(batch))["total"].backward()
    optimizer.step()


def _infer(model: Detector, batch: dict) -> None:
    model.eval()
    with torch.no_grad():
        model(batch)


def flops(model: Detector, batch: dict, train: bool) -> int:
    """FLOPs of one inference forward (``train=False``) or one training forward + backward."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        if train:
            model.train()
            model.loss(batch, model(batch))["total"].backward()
        else:  # eval mode; autograd stays on because the counter's module hooks need grad_fns (same FLOPs)
            model.eval()
            model(batch)
    model.zero_grad(set_to_none=True)
    return int(counter.get_total_flops())


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _rss_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def inference_flops_on_meta(detector: str, size: str, batch: int, text_dim: int = 512) -> int | None:
    """Inference FLOPs counted on the ``meta`` device (shapes only, no arithmetic: instant at paper
    size; equal to a real pass, see tests/test_complexity.py). None when the model cannot run on meta."""
    model = build(detector, size, text_dim).to("meta").eval()
    data = make_batch(model, batch, torch.device("cpu"))
    data = {k: v.to("meta") if isinstance(v, torch.Tensor) and k != "label" else v for k, v in data.items()}
    try:
        return flops(model, data, train=False)
    except (RuntimeError, NotImplementedError, TypeError, ValueError):
        return None


def timed(
    fn: Callable[[], None], device: torch.device, repeats: int, warmup: Callable[[], None] | None = None
) -> dict[str, float | None]:
    """Seconds per call of ``fn`` (min and mean over ``repeats``, after one untimed ``warmup`` call,
    default ``fn``) and the peak memory (MiB) of warm-up and rounds above what was allocated (CUDA)
    or resident (CPU) before them."""
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    else:
        base = _rss_kib("VmRSS") if _reset_peak_rss() else None
    (warmup or fn)()  # its allocations count towards the peak, not its time
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    if device.type == "cuda":
        peak = (torch.cuda.max_memory_allocated(device) - base) / 2**20
        peak_total = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        hwm = _rss_kib("VmHWM")
        peak = None if base is None or hwm is None else (hwm - base) / 1024
        peak_total = None if hwm is None else hwm / 1024
    return {
        "seconds_min": min(times),
        "seconds_mean": sum(times) / len(times),
        "peak_mib_above_start": peak,
        "peak_mib_total": peak_total,
    }


def measure_detector(
    detector: str, size: str, batch: int, repeats: int, device: torch.device, text_dim: int = 512, train: bool = True
) -> dict[str, Any]:
    """Every Table 9 quantity of one detector (see the module docstring)."""
    model = build(detector, size, text_dim).to(device)
    data = make_batch(model, batch, device)
    result: dict[str, Any] = {
        "detector": detector,
        "config": dataclasses.asdict(model.cfg),
        "parameters": parameter_counts(model),
    }
    result["param_memory_mib_fp32"] = result["parameters"]["total"] * 4 / 2**20
    n_flops = inference_flops_on_meta(detector, size, batch, text_dim)
    result["inference_flops_counted_on"] = "meta" if n_flops is not None else str(device)
    if n_flops is None:
        n_flops = flops(model, data, train=False)
    result["gflops_per_sample_inference"] = n_flops / batch / 1e9
    t = timed(lambda: _infer(model, data), device, repeats)
    result["inference"] = {**t, "samples_per_s": batch / t["seconds_min"]}
    if train:  # the counted forward + backward is the warm-up of the timed training steps
        counted: dict[str, int] = {}
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
        t = timed(
            lambda: _train_step(model, data, opt),
            device,
            repeats,
            warmup=lambda: counted.setdefault("flops", flops(model, data, train=True)),
        )
        result["gflops_per_sample_train_fwd_bwd"] = counted["flops"] / batch / 1e9
        result["train_step"] = {**t, "samples_per_s": batch / t["seconds_min"]}
    return result


def paper_table9() -> dict[str, dict[str, float]] | None:
    """The paper's Table 9 (``umcl/specs/paper_values/table9.yaml``) as {detector: {quantity: value}}."""
    try:
        from umcl.specs.paper_tables import load_paper_table

        table = load_paper_table(9)
    except (ImportError, UmclError):
        return None
    return {
        det: {q: table.value(q, col) for q in ("params_m", "gflops", "throughput", "memory_mb")}
        for det, col in (("cpml", "CPML"), ("umcl", "UMCL"))
    }


def measure(
    size: str = "paper",
    batch: int = 1,
    repeats: int = 1,
    device: str = "cpu",
    text_dim: int = 512,
    train: bool = True,
    detectors: tuple[str, ...] = DETECTORS,
) -> dict[str, Any]:
    """Table 9 for ``detectors``, the CLIP and released-code counts and the parameter hypotheses."""
    dev = torch.device(device)
    results = {d: measure_detector(d, size, batch, repeats, dev, text_dim, train) for d in detectors}
    clip = clip_counts()
    released = released_counts()
    paper = paper_table9()
    hypotheses = None
    if paper:
        hypotheses = parameter_hypotheses(
            {d: r["parameters"] for d, r in results.items()}, clip, released, {d: paper[d]["params_m"] for d in results}
        )
    return {
        "size": size,
        "batch": batch,
        "repeats": repeats,
        "device": str(dev),
        "text_dim": text_dim,
        "detectors": results,
        "clip_vit_b16": clip,
        "released_code": released,
        "paper": paper,
        "parameter_hypotheses": hypotheses,
        "match_tolerance_m": MATCH_TOL_M,
        "environment": {
            "torch": torch.__version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpu_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(dev) if dev.type == "cuda" else None,
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
            "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        },
    }


# ---------------------------------------------------------------------------- report


def _m(n: int | None) -> str:
    return "–" if n is None else f"{n / 1e6:.2f}"


def _f(x: float | None, fmt: str = "{:.3f}") -> str:
    return "–" if x is None else fmt.format(x)


def main_table(res: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Table 9's header and rows (the paper's value beside ours per detector): one source for every format."""
    det, paper, clip = res["detectors"], res["paper"] or {}, res["clip_vit_b16"]
    names = [d for d in DETECTORS if d in det]
    header = ["Metric"] + [f"{d.upper()} {who}" for d in names for who in ("paper", "ours")]
    rows: list[list[str]] = []

    def row(label: str, paper_q: str | None, ours: Callable[[dict], str]) -> None:
        cells = [label]
        for d in names:
            p = paper.get(d, {}).get(paper_q) if paper_q else None
            cells += ["–" if p is None else f"{p:g}", ours(det[d])]
        rows.append(cells)

    row("Parameters (M), model as built (T-encoder excluded)", "params_m", lambda r: _m(r["parameters"]["total"]))
    row("Trainable parameters (M)", None, lambda r: _m(r["parameters"]["trainable"]))
    if clip:
        row(
            "Parameters (M) + CLIP ViT-B/16 text tower",
            None,
            lambda r: _m(r["parameters"]["total"] + clip["text_tower"]),
        )
        row("Parameters (M) + whole CLIP ViT-B/16", None, lambda r: _m(r["parameters"]["total"] + clip["whole"]))
    row("GFLOPs per sample (inference forward)", "gflops", lambda r: _f(r["gflops_per_sample_inference"]))
    row("GFLOPs per sample (training forward + backward)", None, lambda r: _f(r.get("gflops_per_sample_train_fwd_bwd")))
    row("Throughput (samples/s), inference", "throughput", lambda r: _f(r["inference"]["samples_per_s"], "{:.3g}"))
    row(
        "Throughput (samples/s), training step",
        None,
        lambda r: _f(r.get("train_step", {}).get("samples_per_s"), "{:.3g}"),
    )
    row(
        "Peak memory (MiB), inference, above start",
        "memory_mb",
        lambda r: _f(r["inference"]["peak_mib_above_start"], "{:.1f}"),
    )
    row(
        "Peak memory (MiB), training step, above start",
        None,
        lambda r: _f(r.get("train_step", {}).get("peak_mib_above_start"), "{:.1f}"),
    )
    row("FP32 parameter memory (MiB)", None, lambda r: _f(r["param_memory_mib_fp32"], "{:.1f}"))
    return header, rows


def _provenance(res: dict[str, Any]) -> str:
    return (
        f"Measured {res['environment']['when']} with `benchmarks/complexity.py --size {res['size']} "
        f"--batch {res['batch']} --repeats {res['repeats']}` (torch {res['environment']['torch']}, "
        f"{res['environment']['cpu_threads']} CPU threads, load average {res['environment']['load_average']}). "
        "Timings on a shared machine are indicative only."
    )


def render_latex(res: dict[str, Any]) -> str:
    """Table 9 as a booktabs ``table*`` (needs \\usepackage{booktabs}), the same rows as the Markdown."""
    from umcl.report.render import tex_escape

    header, rows = main_table(res)
    lines = [
        "% Generated by benchmarks/complexity.py; do not edit. Needs \\usepackage{booktabs}.",
        r"\begin{table*}[t]",
        r"\centering",
        r"\scriptsize",
        r"\caption{" + tex_escape(f"Table 9: computational complexity ({res['size']} size, {res['device']})") + "}",
        r"\label{tab:table9-repro}",
        r"\begin{tabular}{l" + "c" * (len(header) - 1) + "}",
        r"\toprule",
        " & ".join(tex_escape(h) for h in header) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(tex_escape(c) for c in r) + r" \\" for r in rows]
    lines += [
        r"\bottomrule",
        r"\end{tabular}",
        r"\par\smallskip\parbox{\linewidth}{\footnotesize " + tex_escape(_provenance(res)) + "}",
        r"\end{table*}",
        "",
    ]
    return "\n".join(lines)


def render_markdown(res: dict[str, Any]) -> str:
    """Table 9 beside the paper's values, the parameter breakdown and the hypothesis check."""
    det, clip = res["detectors"], res["clip_vit_b16"]
    names = [d for d in DETECTORS if d in det]
    lines = [f"# Table 9 — computational complexity ({res['size']} size, {res['device']})", "", _provenance(res), ""]
    header, rows = main_table(res)
    lines += ["| " + " | ".join(header) + " |", "|---|" + "---|" * (len(header) - 1)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", "## Parameters by part", "", "| Detector | Part | Parameters |", "|---|---|---|"]
    for d in names:
        for part, n in det[d]["parameters"]["parts"].items():
            lines.append(f"| {d.upper()} | `{part}` | {n:,} |")
    if clip:
        lines += [
            "",
            f"CLIP ViT-B/16 (open_clip `ViT-B-16`, built without weights): whole {clip['whole']:,}, "
            f"text tower {clip['text_tower']:,}, image tower {clip['image_tower']:,}.",
        ]
    rel = res["released_code"]
    lines += [
        "",
        "## The released-code hypothesis",
        "",
        "Released UMCL code (notes/official-code.md): three flatten→linear rPPG layers "
        + ", ".join(
            f"{k} {RELEASED_FLATTEN_LAYERS[k][0]:,}→{RELEASED_FLATTEN_LAYERS[k][1]} = {v:,}"
            for k, v in rel["flatten_linear"].items()
        )
        + f" (together {rel['flatten_linear_total']:,}); other heads {rel['heads_total']:,}.",
        "",
    ]
    hyp = res["parameter_hypotheses"]
    if hyp is None:
        lines.append("The paper's values could not be loaded; no hypothesis check.")
    else:
        for d in names:
            h = hyp[d]
            lines += [
                "",
                f"**{d.upper()}** (paper {h['target_m']} M):",
                "",
                "| Reading | Parameters (M) | Gap (M) | Reproduces (< 0.005 M) |",
                "|---|---|---|---|",
            ]
            for name, v in h["named"].items():
                lines.append(
                    f"| {name} | {v['params_m']:.3f} | {v['diff_m']:+.3f} | {'yes' if v['reproduces'] else 'no'} |"
                )
            lines += [
                "",
                f"Every sum of counted parts of >= {MIN_PART:,} parameters within "
                f"{res['match_tolerance_m']} M (closest first):",
                "",
            ]
            for s in h["search"][:8] or [{"parts": ["none"], "params_m": None, "diff_m": None}]:
                lines.append(
                    f"- {' + '.join(s['parts'])}"
                    + ("" if s["params_m"] is None else f": {s['params_m']:.3f} M ({s['diff_m']:+.3f})")
                )
    return "\n".join(lines) + "\n"


def write(res: dict[str, Any], out: str | Path) -> tuple[Path, Path, Path]:
    """``OUT.json``, ``OUT.md`` (with its HTML page ``OUT.html``) and ``OUT.tex``, each written atomically."""
    from umcl.report.html import write_markdown

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = out.with_name(out.name + ".json"), out.with_name(out.name + ".md"), out.with_name(out.name + ".tex")
    with atomic_path(paths[0]) as tmp:
        Path(tmp).write_text(json.dumps(res, indent=2, default=str) + "\n")
    write_markdown(paths[1], render_markdown(res))
    with atomic_path(paths[2]) as tmp:
        Path(tmp).write_text(render_latex(res))
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="paper")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--text-dim", type=int, default=512, help="T-encoder width (512 = CLIP ViT-B/16)")
    ap.add_argument("--no-train", action="store_true", help="skip the training-step measurements")
    ap.add_argument("--detectors", nargs="+", choices=DETECTORS, default=list(DETECTORS))
    ap.add_argument("--out", default="reports/table9")
    args = ap.parse_args(argv)
    if args.batch < 1 or args.repeats < 1:
        print("complexity: --batch and --repeats must be >= 1", file=sys.stderr)
        return 2
    try:
        res = measure(
            args.size, args.batch, args.repeats, args.device, args.text_dim, not args.no_train, tuple(args.detectors)
        )
    except UmclError as exc:
        print(f"complexity: {exc}", file=sys.stderr)
        return 2
    for p in write(res, args.out):
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
