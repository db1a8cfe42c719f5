"""The authors' released UMCL code, switch by switch: the ``umcl-released`` detector.

The authors publish UMCL's code (``IlikeBB/Unimodal-generated-Multimodal-Contrastive-
Learning-for-Cross-compression-rate-Deepfake-Detection``; notes/official-code.md). It has no licence:
everything here is written from facts read in it (numbers, formulas, which term gets which view),
never from its code. Each departure from the paper is one :class:`umcl.models.umcl.UMCLConfig` field
whose default is the paper's behaviour; :data:`RELEASED_CONFIG` sets every one of them to the
release, and ``umcl-released`` is ``umcl`` with those defaults (:func:`umcl.registry.register_overlay`),
not a second model. docs/deviations/released.md lists each switch with the released file it comes from.

Switches (field -> paper value | released value):

* ``affinity_form`` ``paper`` | ``released``: per-sample 3x3 cosine affinity of the L2-normalised
  modality features, loss ``a·mean((1 - diag A)²) + b·Σ_{i<j} mean_b((1 - A_ij)²)`` with
  ``released_aff_alpha`` a = 0.5, ``released_aff_beta`` b = 0.3, summed over the real and the fake
  rows, averaged over the contrastive views; no cross-sample negatives (:func:`affinity_loss`).
  ``text_affinity_scale`` 1 | 0.3 multiplies the text feature first (no effect after the L2
  normalisation; kept because the release does it).
* ``alpha`` 0.25 | 0.1 and ``beta`` 0.25 | 0.5: the weights of L_phy and L_aff.
* ``ce_views`` ``all`` | ``hq``: cross-entropy on the full-size view only.
* ``contrastive_views`` ``downsample`` | ``released_pool``: two LQ views made inside the P-encoder
  by a learnable Conv3d(3->3, 1x5x5) + BatchNorm + ReLU and a 1x2x2 max-pool (:class:`LearnedPool`),
  once for the 1/2-size view (64 px at 128), twice, with the same block, for the 1/4-size view
  (32 px); CQSL and affinity use these two views, the classifier reads the full-size view. Their
  landmarks get the release's uniform region noise (:func:`landmark_view`).
* ``cqsl_form`` ``paper`` | ``released``: pull = Σ_class (1 - mean_i Pearson(z64_i, z32_i)),
  push = Σ over real/fake x 64/32 of |mean_i Pearson(real_i, fake_i)| (rows paired in order).
* ``hr_term`` ``paper`` | ``released``: band-pass (Butterworth 2, 0.6–4 Hz), Hann window, FFT
  peak with a harmonic check, clamped to 60–120 bpm, ``|ΔHR| / 60`` per class, computed in NumPy
  on detached signals: a constant, no gradient (:func:`hr_loss`).
* ``landmark_zero_prob`` 0 | 0.2: that share of landmark coordinates zeroed in training (g1's input;
  g2 reads the differences of the unmasked sequence, as released).
* ``lrnet_feature_noise`` 0 | 0.1: N(0, σ²) added to both LRNet stream features on every forward
  pass, in training and at test time (:func:`feature_noise`).
* ``affinity_class_mean`` False | True: the affinity is the *mean* of the real and the fake rows' terms
  (False: their sum; :func:`class_affinity_loss`).
* ``ce_per_class`` False | True: cross-entropy = CE(real rows) + CE(fake rows), two per-class means
  (:func:`per_class_ce`), instead of one mean over the mixed batch.
* ``relu_features`` False | True: the three d-dim modality features are ReLU'd; the classifier and the
  affinity read them so (cosines in [0, 1]).
* ``train_text_encoder`` False | True: the text tower is a trained submodule (every weight in the
  optimiser at the run's lr; texts encoded with gradients in every training forward pass).
* ``appearance_pathway`` False | True: the rPPG feature is ``Linear(K + d/2 -> d)`` over the signal
  concatenated with ``Linear(2·N·dim -> d/2)`` of the P-encoder's tokens after its first and second
  thirds of blocks (N tokens of the view; one layer per view size), instead of ``Linear(K -> d)``.
* ``lrnet_feature_dropout`` False | True: LRNet's feature is taken after each stream's trailing Dropout(0.5).
* ``class_pure_batches`` False | True: in training, the real and the fake rows go through separate forward
  passes (BatchNorm sees one class at a time; :func:`class_rows`, :func:`merge_rows`).
* ``frames_unit_range`` False | True: the P-encoder reads frames in [0, 1] (no VIPL-HR normalisation).
* ``prompt_per_view`` False | True: each view (full size, 1/2, 1/4) draws its own training prompts.

Not config switches, because they are test-time options: the release tests with the fixed, label-free
prompt "Is real or fake?" (the test condition ``policy-released-fixed``,
:data:`umcl.conditions.FIXED_PROMPT_POLICY`) and, in its test script ``test_alignment_all.py``,
with the model's submodules in training mode, one video at a time (the condition part ``mode-train``:
:func:`score_in_train_mode`; ``mode-eval`` follows ``inference.py``, which calls ``.eval()``). Both work
with any UMCL checkpoint. ``umcl-released`` declares both as its default condition
(:data:`RELEASED_DEFAULT_CONDITION`): a batch without a condition is scored so, and any explicit
condition (policies, attacks, views, modes, the leakage audit) applies as given. Neither is a config
field, so neither enters the run fingerprint.

The optimiser and schedule (AdamW 5e-4 not on biases and norms, lr 1e-3 with a linear warm-up over
10 % of the steps then cosine, 3 epochs) are the training recipe of ``umcl-released`` in
:data:`umcl.training.config.SOURCE_RECIPES`; checkpoint selection as released (validation with the
label's prompt, model in training mode) is the leakage option ``training.selection: as_released``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from umcl import prompts
from umcl.conditions import FIXED_PROMPT_POLICY, TestCondition
from umcl.errors import UmclError
from umcl.seeding import numpy_rng
from umcl.specs.released import RELEASED_CONFIG, RELEASED_DETECTOR

RELEASED_TEST_PROMPT = "Is real or fake?"
#: ``umcl-released``'s default test condition: the fixed prompt above, scored in training mode (module docstring)
RELEASED_DEFAULT_CONDITION = TestCondition(prompt_policy=FIXED_PROMPT_POLICY, module_mode="train").key
#: the two LQ views of ``contrastive_views: released_pool``: name -> conv+pool stages
LQ_STAGES: dict[str, int] = {"lq64": 1, "lq32": 2}
#: released band-pass and heart-rate limits (util/phy_calc.py, train_main.py)
HR_BANDPASS_HZ = (0.6, 4.0)
HR_CLAMP_BPM = (60.0, 120.0)
#: uniform landmark noise of the 1/2- and 1/4-size views (module/base_model.py): half-widths of
#: U(-w, w) on every coordinate, then on the flat-index ranges [start, end) of lips, eyes, nose
LANDMARK_VIEW_NOISE: dict[str, tuple[float, tuple[tuple[int, int, float], ...]]] = {
    "lq64": (0.0005, ((98, 136, 0.0006), (74, 96, 0.0005), (56, 72, 0.0001))),
    "lq32": (0.01, ((98, 136, 0.006), (74, 96, 0.005), (56, 72, 0.001))),
}

#: the views of ``contrastive_views: released_pool`` by size: full size, then the two learned LQ views
POOL_VIEWS: tuple[str, ...] = ("hq", *LQ_STAGES)


# --------------------------------------------------------------------------- views
class LearnedPool(nn.Module):
    """The release's LQ-view block: Conv3d(3->3, 1x5x5, pad 0x2x2) + BatchNorm3d + ReLU, MaxPool 1x2x2.

    ``forward(video [B, 3, T, H, W], stages)`` applies the same block ``stages`` times (H, W halve each time).
    """

    def __init__(self, channels: int = 3):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv3d(channels, channels, (1, 5, 5), padding=(0, 2, 2)), nn.BatchNorm3d(channels), nn.ReLU()
        )
        self.pool = nn.MaxPool3d((1, 2, 2), stride=(1, 2, 2))

    def forward(self, video: Tensor, stages: int = 1) -> Tensor:
        for _ in range(stages):
            video = self.pool(self.block(video))
        return video


def landmark_view(landmarks: Tensor, view: str) -> Tensor:
    """Landmarks [B, T, 136] of LQ view ``view`` (``lq64``/``lq32``) with the release's uniform noise."""
    whole, regions = LANDMARK_VIEW_NOISE[view]
    out = landmarks + (torch.rand_like(landmarks) * 2 - 1) * whole
    for start, end, width in regions:
        noise = (torch.rand_like(out[..., start:end]) * 2 - 1) * width
        out = torch.cat([out[..., :start], out[..., start:end] + noise, out[..., end:]], dim=-1)
    return out


def zero_landmarks(landmarks: Tensor, prob: float, generator: torch.Generator | None = None) -> Tensor:
    """Zero each coordinate of ``landmarks`` independently with probability ``prob`` (no rescaling)."""
    if prob <= 0:
        return landmarks
    keep = torch.rand(landmarks.shape, generator=generator, device=landmarks.device) >= prob
    return landmarks * keep.to(landmarks.dtype)


def feature_noise(features: Tensor, sigma: float, keys: list[str] | None = None) -> Tensor:
    """``features + N(0, sigma²)`` element-wise, in training and at test time (the release's LRNet noise).

    Our choice (the release draws from the unseeded global RNG): with ``keys`` (evaluation), each
    video's noise comes from a generator seeded by its key, so its score does not depend on the batch
    or the order of evaluation; without (training), from the seeded global RNG.
    """
    if sigma <= 0:
        return features
    if keys is None:
        return features + sigma * torch.randn_like(features)
    seeds = [int(numpy_rng(0, "lrnet-feature-noise", k).integers(2**62)) for k in keys]
    rows = [torch.randn(features.shape[1:], generator=torch.Generator().manual_seed(s)) for s in seeds]
    return features + sigma * torch.stack(rows).to(features)


def fixed_prompt_table() -> prompts.PromptTable:
    """A one-text prompt table holding the release's fixed test prompt (group ``released_test``)."""
    return prompts.PromptTable((RELEASED_TEST_PROMPT,), {"released_test": (0,)})


# --------------------------------------------------------------------------- affinity
def affinity_matrix(features: Tensor, text_index: int | None = None, text_scale: float = 1.0) -> Tensor:
    """Per-sample cosine affinity [B, m, m] of the L2-normalised modality features [B, m, d].

    ``text_index``: the modality row multiplied by ``text_scale`` before normalising (the release's
    text weight; a positive scale cancels in the normalisation).
    """
    if features.dim() != 3:
        raise ValueError(f"expected features [B, m, d], got shape {tuple(features.shape)}")
    if text_index is not None and text_scale != 1.0:
        scale = torch.ones(features.shape[1], 1, dtype=features.dtype, device=features.device)
        scale[text_index] = text_scale
        features = features * scale
    unit = features / features.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return unit @ unit.transpose(1, 2)


def affinity_loss(affinity: Tensor, alpha: float = 0.5, beta: float = 0.3) -> Tensor:
    """``alpha·mean((1 - diag A)²) + beta·Σ_{i<j} mean_b((1 - A[b, i, j])²)`` (no cross-sample terms)."""
    m = affinity.shape[-1]
    diag = torch.diagonal(affinity, dim1=-2, dim2=-1)
    i, j = torch.triu_indices(m, m, offset=1)
    cross = ((1 - affinity[:, i, j]) ** 2).mean(0).sum()
    return alpha * ((1 - diag) ** 2).mean() + beta * cross


def class_affinity_loss(
    features: Tensor,
    label: Tensor,
    alpha: float,
    beta: float,
    text_index: int | None = None,
    text_scale: float = 1.0,
    class_mean: bool = False,
) -> Tensor:
    """:func:`affinity_loss` of the real rows and that of the fake rows (the release's two batches):
    their mean with ``class_mean`` (as released), else their sum; a class absent from the batch is left out."""
    terms = [
        affinity_loss(affinity_matrix(features[label == cls], text_index, text_scale), alpha, beta)
        for cls in (0, 1)
        if bool((label == cls).any())
    ]
    if not terms:
        return features.new_zeros(())
    total = torch.stack(terms).sum()
    return total / len(terms) if class_mean else total


def per_class_ce(logits: Tensor, label: Tensor) -> Tensor:
    """``CE(real rows) + CE(fake rows)``: the sum of the two per-class mean cross-entropies (the release's
    two batches); a class absent from the batch adds 0."""
    terms = [
        nn.functional.cross_entropy(logits[label == cls], label[label == cls])
        for cls in (0, 1)
        if bool((label == cls).any())
    ]
    return torch.stack(terms).sum() if terms else logits.new_zeros(())


# --------------------------------------------------------------------------- forward passes
def batch_rows(batch: dict, rows: Tensor) -> dict:
    """The sub-batch of ``rows`` (indices): per-video tensors and lists indexed, anything else kept."""
    size = len(batch["frames"])
    out = {}
    for k, v in batch.items():
        if torch.is_tensor(v) and v.dim() and v.shape[0] == size:
            out[k] = v[rows.to(v.device)]
        elif isinstance(v, (list, tuple)) and len(v) == size:
            out[k] = [v[i] for i in rows.tolist()]
        else:
            out[k] = v
    return out


def merge_rows(parts: list[tuple[Tensor, dict]]) -> dict:
    """One output dict from the outputs of sub-batches ``(rows, output)``: per-row tensors put back in
    the batch's order (the rows of all parts together cover the batch once)."""
    order = torch.cat([rows for rows, _ in parts])
    inverse = torch.argsort(order)
    out = {}
    for key, value in parts[0][1].items():
        if torch.is_tensor(value) and value.dim() and value.shape[0] == len(parts[0][0]):
            out[key] = torch.cat([o[key] for _, o in parts])[inverse.to(value.device)]
        else:
            out[key] = value
    return out


def class_rows(label: Tensor) -> list[Tensor]:
    """Row indices of the real (0), then the fake (1) videos of a batch; absent classes left out."""
    label = label.detach().cpu().reshape(-1)
    return [rows for rows in (torch.nonzero(label == cls).reshape(-1) for cls in (0, 1)) if len(rows)]


def score_in_train_mode(model: nn.Module, batch: dict, forward) -> dict:
    """Score ``batch`` as the release's test script does: one video at a time (its test batch size is 1),
    every submodule of ``model`` in training mode (dropout, landmark dropout, BatchNorm on the video's own
    statistics) while ``model`` itself stays in eval mode (its own flag set to False, as released).

    Our choices (the release draws from the unseeded global RNG and keeps the BatchNorm statistics the
    pass updates): each video's random draws come from a generator seeded by its key, so its score does
    not depend on its batch or on the evaluation order; the buffers (BatchNorm running statistics) are
    restored after each video, so the checkpoint scores every other condition as loaded. ``forward``:
    the model's forward pass on a sub-batch."""
    keys = batch.get("key")
    if keys is None:
        raise UmclError(
            "scoring in training mode needs batch['key'] (the video keys seed its random draws)",
            fix="pass the video keys with the batch, or score with the condition mode-eval",
        )
    buffers = {k: v.detach().clone() for k, v in model.named_buffers()}
    device = batch["frames"].device
    children = list(model.children())
    parts = []
    try:
        for child in children:
            child.train(True)
        for i, key in enumerate(keys):
            seed = int(numpy_rng(0, "train-mode-scoring", str(key)).integers(2**62))
            with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                torch.manual_seed(seed)
                rows = torch.tensor([i])
                parts.append((rows, forward(batch_rows(batch, rows))))
            with torch.no_grad():
                for k, v in model.named_buffers():
                    v.copy_(buffers[k])
    finally:
        for child in children:
            child.train(False)
    return merge_rows(parts)


# --------------------------------------------------------------------------- CQSL and heart rate
def batch_pearson(x: Tensor, y: Tensor) -> Tensor:
    """Mean over rows of the Pearson correlation of ``x[i]`` and ``y[i]`` ([B, K] each; rows paired in
    order, the longer input cut to the shorter), with 1e-8 under the square root as released."""
    n = min(x.shape[0], y.shape[0])
    if n == 0:
        return x.new_zeros(())
    x, y = x[:n], y[:n]
    k = x.shape[1]
    num = k * (x * y).sum(1) - x.sum(1) * y.sum(1)
    den = torch.sqrt((k * (x * x).sum(1) - x.sum(1) ** 2) * (k * (y * y).sum(1) - y.sum(1) ** 2) + 1e-8)
    return (num / den).mean()


def cqsl_terms(z_real_a: Tensor, z_real_b: Tensor, z_fake_a: Tensor, z_fake_b: Tensor) -> tuple[Tensor, Tensor]:
    """(pull, push) as released: pull = Σ_class (1 - batch_pearson(view a, view b)); push = Σ over the
    four real x fake pairs of views of |batch_pearson(real, fake)|."""
    pull = (1 - batch_pearson(z_real_a, z_real_b)) + (1 - batch_pearson(z_fake_a, z_fake_b))
    push = sum(batch_pearson(r, f).abs() for r in (z_real_a, z_real_b) for f in (z_fake_a, z_fake_b))
    return pull, push


def heart_rate(series: np.ndarray, fps: float) -> float:
    """The release's heart rate (bpm) of one series: the rows of a [B, K] batch are joined end to end
    (the release flattens the batch), band-passed (Butterworth order 2, 0.6–4 Hz, forward-backward),
    Hann-windowed, |FFT| outside round(0.6/fs·N)..round(4/fs·N) set to 0; of its two largest local
    peaks the second is taken when the first is within 10 bpm of twice it (harmonic check); fewer than
    two peaks give 60; the result is clamped to 60–120 bpm."""
    from scipy import (
        signal as sps,  # local: slow to import, and only this function needs it
    )

    x = np.asarray(series, dtype=np.float64).reshape(-1)
    nyq = fps / 2
    b, a = sps.butter(2, [HR_BANDPASS_HZ[0] / nyq, HR_BANDPASS_HZ[1] / nyq], btype="band")
    # scipy's default edge padding (3 x filter order terms), shortened for series under 16 samples
    x = sps.filtfilt(b, a, x, padlen=min(3 * max(len(a), len(b)), x.size - 1)) * sps.windows.hann(x.size)
    mag = np.abs(np.fft.fft(x))
    lo, hi = (int(np.round(f / fps * x.size)) for f in HR_BANDPASS_HZ)
    mag[:lo] = 0.0
    mag[hi:] = 0.0
    peaks, _ = sps.find_peaks(mag)
    if len(peaks) < 2:
        hr = 60.0
    else:
        top = peaks[np.argsort(mag[peaks])[::-1][:2]]
        hr1, hr2 = (float(p) / x.size * fps * 60 for p in top)
        hr = hr2 if abs(hr1 - 2 * hr2) < 10 else hr1
    return float(min(max(hr, HR_CLAMP_BPM[0]), HR_CLAMP_BPM[1]))


def hr_loss(z_real_a: Tensor, z_real_b: Tensor, z_fake_a: Tensor, z_fake_b: Tensor, fps: float) -> Tensor:
    """``|HR(real a) - HR(real b)| / 60 + |HR(fake a) - HR(fake b)| / 60``: a constant tensor, no gradient
    (computed in NumPy on detached signals as released). A class absent from the batch adds 0."""
    total = 0.0
    for a, b in ((z_real_a, z_real_b), (z_fake_a, z_fake_b)):
        if a.shape[0] and b.shape[0]:
            ha = heart_rate(a.detach().float().cpu().numpy(), fps)
            hb = heart_rate(b.detach().float().cpu().numpy(), fps)
            total += abs(ha - hb) / 60.0
    return torch.tensor(total, dtype=z_real_a.dtype, device=z_real_a.device)


def physiological_terms(
    cfg, z_real_a: Tensor, z_real_b: Tensor, z_fake_a: Tensor, z_fake_b: Tensor, paper: dict[str, Tensor]
) -> dict[str, Tensor]:
    """``{"hr", "pull", "push", "phy"}``: the ``paper`` terms (:func:`umcl.losses.physiological_loss`)
    with pull/push replaced when ``cfg.cqsl_form == "released"`` and hr when ``cfg.hr_term == "released"``."""
    groups = (z_real_a, z_real_b, z_fake_a, z_fake_b)
    terms = dict(paper)
    if cfg.cqsl_form == "released":
        terms["pull"], terms["push"] = cqsl_terms(*groups)
    if cfg.hr_term == "released":
        terms["hr"] = hr_loss(*groups, fps=cfg.fps)
    terms["phy"] = terms["hr"] + terms["pull"] + terms["push"]
    return terms


__all__ = [
    "RELEASED_DETECTOR",
    "RELEASED_CONFIG",
    "RELEASED_TEST_PROMPT",
    "RELEASED_DEFAULT_CONDITION",
    "LQ_STAGES",
    "LearnedPool",
    "landmark_view",
    "zero_landmarks",
    "feature_noise",
    "fixed_prompt_table",
    "affinity_matrix",
    "affinity_loss",
    "class_affinity_loss",
    "per_class_ce",
    "batch_rows",
    "merge_rows",
    "class_rows",
    "score_in_train_mode",
    "POOL_VIEWS",
    "batch_pearson",
    "cqsl_terms",
    "heart_rate",
    "hr_loss",
    "physiological_terms",
]
