"""Table 9 measurement script (benchmarks/complexity.py) at small size: counts checked against
independent arithmetic, FLOPs against a hand count, the hypothesis search, and the written report."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from umcl.detector import Detector

pytestmark = pytest.mark.usefixtures("single_thread")

ROOT = Path(__file__).resolve().parents[1]


def _load():
    spec = importlib.util.spec_from_file_location("complexity_bench", ROOT / "benchmarks" / "complexity.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


cx = _load()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    res = cx.measure("small", batch=2, repeats=1, device="cpu")
    out = tmp_path_factory.mktemp("t9") / "table9"
    return res, cx.write(res, out)


def test_released_layers_counted_like_the_arithmetic():
    rel = cx.released_counts()
    assert rel["flatten_linear"] == {"128px": (122880 + 1) * 160, "64px": (30720 + 1) * 160, "32px": (7680 + 1) * 160}
    assert rel["flatten_linear_total"] == 25_805_280  # "about 25.8 M" (official-code.md)
    assert rel["heads_total"] == 321 * 320 + 129 * 320 + 513 * 320 + 961 * 2


def test_clip_vit_b16_counted_without_weights():
    pytest.importorskip("open_clip")
    clip = cx.clip_counts()
    assert clip["whole"] == 149_620_737  # open_clip ViT-B-16 (both towers + logit scale)
    assert clip["whole"] == clip["text_tower"] + clip["image_tower"] + clip["logit_scale"]
    # text tower from its shapes: 12 layers x (attn 4*512^2+4*512 + mlp 2*512*2048+2048+512 + 2 LN) + embeddings
    layer = (3 * 512 * 512 + 3 * 512) + (512 * 512 + 512) + (512 * 2048 + 2048) + (2048 * 512 + 512) + 4 * 512
    assert clip["text_tower"] == 12 * layer + 49408 * 512 + 77 * 512 + 2 * 512 + 512 * 512


class _Linear(Detector):
    inputs = ("frames",)

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 2)

    def forward(self, batch: dict) -> dict:
        return {"logits": self.fc(batch["frames"])}


def test_flop_counter_matches_a_hand_count():
    model, batch = _Linear(), {"frames": torch.randn(3, 10), "label": torch.tensor([0, 1, 0])}
    assert cx.flops(model, batch, train=False) == 2 * 3 * 10 * 2
    # backward: grad wrt weight (2*B*in*out); the input needs no grad
    assert cx.flops(model, batch, train=True) == 2 * (2 * 3 * 10 * 2)


def test_parameter_counts_and_hypothesis_search(small):
    res, _ = small
    for det in ("cpml", "umcl"):
        params = res["detectors"][det]["parameters"]
        model = cx.build(det, "small")
        assert params["total"] == sum(p.numel() for p in model.parameters()) == sum(params["parts"].values())
        assert params["trainable"] == params["total"]  # the T-encoder is not a parameter of the model
    umcl = res["detectors"]["umcl"]
    assert umcl["parameters"]["parts"]["classifier"] == (3 * 32 + 1) * 2
    assert umcl["parameters"]["parts"]["proj_text"] == (512 + 1) * 32  # --text-dim 512 (CLIP width)
    # the search finds a planted sum and nothing far from it
    parts = {"total": 1, "parts": {"a": 2_000_000, "b": 300_000, "c": 50_000}}
    hyp = cx.parameter_hypotheses({"cpml": parts}, None, cx.released_counts(), {"cpml": 2.35})
    assert hyp["cpml"]["search"][0]["parts"] == ["a", "b", "c"]
    assert all(abs(h["diff_m"]) <= cx.MATCH_TOL_M for h in hyp["cpml"]["search"])


def test_inference_flops_on_meta_equal_a_real_pass():
    for det in ("cpml", "umcl"):
        model = cx.build(det, "small")
        real = cx.flops(model, cx.make_batch(model, 2, torch.device("cpu")), train=False)
        assert cx.inference_flops_on_meta(det, "small", 2) == real > 0


def test_gflops_per_sample_do_not_depend_on_the_batch(small):
    res, _ = small
    one = cx.measure_detector("umcl", "small", 1, 1, torch.device("cpu"), train=False)
    assert one["gflops_per_sample_inference"] == pytest.approx(
        res["detectors"]["umcl"]["gflops_per_sample_inference"], rel=1e-3
    )  # the label-free text row is shared by the batch
    assert one["gflops_per_sample_inference"] > 0 and one["inference"]["samples_per_s"] > 0


def test_report_files(small):
    res, (json_path, md_path, tex_path) = small
    data = json.loads(json_path.read_text())
    assert data["size"] == "small" and set(data["detectors"]) == {"cpml", "umcl"}
    for det in data["detectors"].values():
        assert det["train_step"]["samples_per_s"] > 0 and det["gflops_per_sample_train_fwd_bwd"] > 0
    md = md_path.read_text()
    assert "175.82" in md and "149.85" in md  # the paper's values beside ours
    assert "released" in md and md.count("| UMCL |") == len(res["detectors"]["umcl"]["parameters"]["parts"])
    # the LaTeX carries the Markdown's main table, row for row and cell for cell
    header, rows = cx.main_table(res)
    tex = tex_path.read_text()
    assert "\\toprule" in tex and "\\bottomrule" in tex
    body = [line for line in tex.splitlines() if line.endswith("\\\\")]
    assert len(body) == 1 + len(rows) and all(r[1] in tex for r in rows if r[1] != "–")
    assert "175.82" in tex and "149.85" in tex


@pytest.mark.skipif(
    __import__("shutil").which("pdflatex") is None, reason="pdflatex not installed (texlive-latex-base)"
)
def test_table9_latex_compiles(small, tmp_path):
    from test_latex_compiles import compile_tex

    _, (_, _, tex_path) = small
    proc = compile_tex(tex_path.read_text(), tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Missing character" not in (tmp_path / "doc.log").read_text(errors="replace")


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert cx.main(["--size", "small", "--batch", "0", "--out", str(tmp_path / "t")]) == 2
    assert "--batch" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
