"""Every loss of the UMCL paper (§4.2–4.5, eqs. 8 and 11–20), written for batched torch tensors.

Conventions
- rPPG signals are ``[B, K]`` tensors (one row per video, K samples); per-pair losses return ``[B]``.
- The CQSL terms take the real and the fake halves of a balanced batch separately
  (``z_real_*``: ``[Br, K]``, ``z_fake_*``: ``[Bf, K]``; row i of ``*_hq`` and ``*_lq`` is the same
  video seen at two qualities).
- Labels follow docs/contracts.md: 1 = fake, 0 = real.

Choices the paper leaves open (each also listed in docs/deviations/core.md,
"Losses, prompts and text encoder"):
- Pearson terms (eqs. 13, 15) divide by ``max(norm, EPS)`` so that an exactly constant (or zero)
  signal gives correlation 0 instead of NaN; for any signal whose centred norm exceeds ``EPS`` the
  value is exactly the paper's.
- CQSL pairing: eq. 14 pairs the HQ and LQ views of the same video; eq. 16 pairs "real" with "fake"
  samples without saying which. We average eq. 16 over *all* real×fake pairs of the batch
  (``pairing="all"``, default) or over index-aligned pairs (``pairing="aligned"``); per-pair
  values are reduced by the mean, so the scale does not grow with the batch size.
- Heart rate (eqs. 17–18): linear detrend, Hann window, zero-padded FFT periodogram, peak in
  ``HR_BAND_HZ`` = 0.7–3.0 Hz (42–180 bpm). The losses need gradients, which an argmax lacks, so
  the training loss uses :func:`soft_heart_rate` (soft-argmax over the band's normalised PSD).
- ``L_norm`` (eq. 17) is the L2 norm of the batch vector of HR differences, as written, with heart
  rates expressed in Hz (bpm / 60) so the term has the magnitude of the Pearson terms.
- σ of eq. 11 is unstated; :func:`affinity_matrix` offers several normalisations, default
  ``"cosine01"`` = (cos + 1) / 2, the only one that is bounded in [0, 1], symmetric *and* positive
  semi-definite as the paper states.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

EPS = 1e-8
"""Floor for signal norms in the Pearson terms (constant signals → correlation 0)."""

HR_BAND_HZ: tuple[float, float] = (0.7, 3.0)
"""Heart-rate search band in Hz (42–180 bpm); contains the 45–150 bpm test range."""

HR_RESOLUTION_BPM = 0.1
"""Spacing of the zero-padded FFT bins in bpm."""

SOFT_HR_TEMPERATURE = 0.1
"""Temperature of the soft-argmax: weights ∝ PSD^(1/T)."""

HR_SCALE = 1.0 / 60.0
"""Heart rates enter ``L_norm`` in Hz (bpm × 1/60)."""

AFFINITY_NORMALIZATIONS = ("cosine01", "cosine_relu", "sigmoid_scaled", "sigmoid")
PAIRINGS = ("all", "aligned")


# --------------------------------------------------------------------------- Pearson terms (13, 15)
def _check_pair(x: Tensor, y: Tensor) -> None:
    if x.shape != y.shape or x.dim() != 2:
        raise ValueError(f"expected two [B, K] tensors of equal shape, got {tuple(x.shape)} and {tuple(y.shape)}")


def _cosine(x: Tensor, y: Tensor) -> Tensor:
    """Row-wise cosine with norms floored at ``EPS``."""
    nx = x.norm(dim=-1).clamp_min(EPS)
    ny = y.norm(dim=-1).clamp_min(EPS)
    return (x * y).sum(-1) / (nx * ny)


def pearson(x: Tensor, y: Tensor) -> Tensor:
    """Pearson correlation of each row pair of ``x``, ``y`` [B, K] → [B] (0 for a constant row)."""
    _check_pair(x, y)
    return _cosine(x - x.mean(-1, keepdim=True), y - y.mean(-1, keepdim=True))


def negative_pearson(x: Tensor, y: Tensor) -> Tensor:
    """Eq. 13, L_NPC = 1 − Pearson(x, y), per row: [B, K] × [B, K] → [B], values in [0, 2].

    Computed on centred signals (algebraically identical to eq. 13's sums, numerically stabler).
    """
    return 1.0 - pearson(x, y)


def modified_pearson(x: Tensor, y: Tensor) -> Tensor:
    """Eq. 15, L_MPC = |Σ x·y| / sqrt(Σx² Σy²) (absolute cosine, no centring), per row → [B] in [0, 1]."""
    _check_pair(x, y)
    return _cosine(x, y).abs()


def _cross_mpc(x: Tensor, y: Tensor, pairing: str) -> Tensor:
    """Mean |cos| over the pairs (row of x, row of y) chosen by ``pairing``."""
    if pairing not in PAIRINGS:
        raise ValueError(f"pairing must be one of {PAIRINGS}, got {pairing!r}")
    if x.shape[0] == 0 or y.shape[0] == 0:
        return x.new_zeros(())
    if pairing == "aligned":
        return modified_pearson(x, y).mean()
    xn = x / x.norm(dim=-1, keepdim=True).clamp_min(EPS)
    yn = y / y.norm(dim=-1, keepdim=True).clamp_min(EPS)
    return (xn @ yn.T).abs().mean()


def _mean_or_zero(values: Tensor) -> Tensor:
    return values.mean() if values.numel() else values.new_zeros(())


# --------------------------------------------------------------------------- CQSL (14, 16)
def cqsl_pull(z_real_hq: Tensor, z_real_lq: Tensor, z_fake_hq: Tensor, z_fake_lq: Tensor) -> Tensor:
    """Eq. 14: mean NPC between the HQ and LQ views of each real video + the same for fake videos.

    Row i of ``*_hq`` and ``*_lq`` is the same video. A class absent from the batch contributes 0.
    """
    return _mean_or_zero(negative_pearson(z_real_hq, z_real_lq)) + _mean_or_zero(negative_pearson(z_fake_hq, z_fake_lq))


def cqsl_push(
    z_real_hq: Tensor, z_real_lq: Tensor, z_fake_hq: Tensor, z_fake_lq: Tensor, pairing: str = "all"
) -> Tensor:
    """Eq. 16: MPC over real×fake pairs for the four quality combinations (HQ/LQ × HQ/LQ), summed.

    ``pairing="all"`` averages each term over all Br×Bf real-fake pairs (vectorised);
    ``"aligned"`` pairs real row i with fake row i (needs Br == Bf).
    """
    total = z_real_hq.new_zeros(())
    for zr in (z_real_hq, z_real_lq):
        for zf in (z_fake_hq, z_fake_lq):
            total = total + _cross_mpc(zr, zf, pairing)
    return total


# --------------------------------------------------------------------------- heart rate
def _as_batch(signal: Tensor) -> Tensor:
    if signal.dim() == 1:
        return signal[None]
    if signal.dim() != 2:
        raise ValueError(f"expected a signal [K] or [B, K], got shape {tuple(signal.shape)}")
    return signal


def _detrend(x: Tensor) -> Tensor:
    """Remove the least-squares line a + b·t from every row (differentiable)."""
    k = x.shape[-1]
    t = torch.arange(k, dtype=x.dtype, device=x.device)
    t = t - t.mean()
    xc = x - x.mean(-1, keepdim=True)
    denom = (t * t).sum()
    if denom == 0:
        return xc
    slope = (xc * t).sum(-1, keepdim=True) / denom
    return xc - slope * t


def band_psd(
    signal: Tensor,
    fps: float,
    band: tuple[float, float] = HR_BAND_HZ,
    resolution_bpm: float = HR_RESOLUTION_BPM,
    window: bool = True,
    detrend: bool = True,
) -> tuple[Tensor, Tensor]:
    """Periodogram of each row restricted to ``band`` (Hz): returns (freqs_bpm [F], psd [B, F]).

    Steps: linear detrend (or mean removal), optional Hann window, zero-padded real FFT with
    ``n = ceil(60·fps / resolution_bpm)`` points so bins are ``resolution_bpm`` apart, |X|².
    """
    x = _as_batch(signal)
    lo, hi = band
    if not (0 < lo < hi <= fps / 2):
        raise ValueError(f"band {band} Hz must satisfy 0 < low < high <= fps/2 = {fps / 2}")
    x = _detrend(x) if detrend else x - x.mean(-1, keepdim=True)
    if window:
        x = x * torch.hann_window(x.shape[-1], periodic=False, dtype=x.dtype, device=x.device)
    n_fft = max(int(math.ceil(60.0 * fps / resolution_bpm)), x.shape[-1])
    spec = torch.fft.rfft(x, n=n_fft, dim=-1)
    # Bins i with lo <= i·fps/n <= hi, decided on indices (1e-9 slack) so edges do not flicker.
    first = math.ceil(lo * n_fft / fps - 1e-9)
    last = math.floor(hi * n_fft / fps + 1e-9)
    spec = spec[..., first : last + 1]
    freqs = torch.arange(first, last + 1, device=x.device, dtype=x.dtype) * (60.0 * fps / n_fft)
    return freqs, spec.real**2 + spec.imag**2


def heart_rate(
    signal: Tensor,
    fps: float,
    band: tuple[float, float] = HR_BAND_HZ,
    resolution_bpm: float = HR_RESOLUTION_BPM,
    window: bool = True,
    detrend: bool = True,
) -> Tensor:
    """Heart rate (bpm) of each row of ``signal`` [B, K] (or [K]) → [B]: the PSD peak inside ``band``.

    Not differentiable (argmax); see :func:`soft_heart_rate` for the training loss.
    """
    freqs, psd = band_psd(signal, fps, band, resolution_bpm, window, detrend)
    return freqs[psd.argmax(-1)]


def soft_heart_rate(
    signal: Tensor,
    fps: float,
    band: tuple[float, float] = HR_BAND_HZ,
    temperature: float = SOFT_HR_TEMPERATURE,
    resolution_bpm: float = HR_RESOLUTION_BPM,
    window: bool = True,
    detrend: bool = True,
) -> Tensor:
    """Differentiable heart rate (bpm) → [B]: soft-argmax of the band's normalised PSD.

    Weights are ``softmax(log(p) / temperature)`` with p = PSD / ΣPSD over the band, i.e.
    ∝ PSD^(1/temperature); the estimate is Σ weights · frequency. As temperature → 0 it tends to
    :func:`heart_rate`. Deviation: eqs. 17–18 need gradients through the HR, an argmax has none.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    freqs, psd = band_psd(signal, fps, band, resolution_bpm, window, detrend)
    # log(PSD/ΣPSD) and log(PSD) differ by a constant the softmax ignores. The floor (1e-12 of the
    # band power, held constant, plus 1e-30) keeps log finite and gradients finite for a flat signal.
    floor = psd.sum(-1, keepdim=True).detach() * 1e-12 + 1e-30
    weights = torch.softmax(torch.log(psd + floor) / temperature, dim=-1)
    return (weights * freqs).sum(-1)


# --------------------------------------------------------------------------- HR loss (17, 18, 19)
def hr_norm(h_hq: Tensor, h_lq: Tensor, scale: float = HR_SCALE) -> Tensor:
    """Eq. 17, ‖scale·(h_HQ − h_LQ)‖₂ over the batch vector (heart rates in bpm; default scale → Hz)."""
    if h_hq.shape != h_lq.shape:
        raise ValueError(f"heart-rate vectors differ in shape: {tuple(h_hq.shape)} vs {tuple(h_lq.shape)}")
    diff = scale * (h_hq - h_lq)
    # sqrt(Σd² + tiny): equal to the L2 norm to within 1e-18 and differentiable at d = 0.
    return torch.sqrt((diff * diff).sum() + EPS**2)


def hr_loss(
    h_real_hq: Tensor, h_real_lq: Tensor, h_fake_hq: Tensor, h_fake_lq: Tensor, scale: float = HR_SCALE
) -> Tensor:
    """Eq. 18, L_HR = L_norm(real HQ, real LQ) + L_norm(fake HQ, fake LQ)."""
    return hr_norm(h_real_hq, h_real_lq, scale) + hr_norm(h_fake_hq, h_fake_lq, scale)


class _ScaleGrad(torch.autograd.Function):
    """Identity forward; multiplies the incoming gradient by a constant factor in backward."""

    @staticmethod
    def forward(ctx, x: Tensor, factor: float) -> Tensor:  # noqa: D102
        ctx.factor = factor
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # noqa: D102
        return grad * ctx.factor, None


def hr_grad_factor(groups: tuple[Tensor, ...], hr_fn, pearson_fn, max_ratio: float) -> float:
    """The factor ``s <= 1`` that caps ``‖∇_z L_HR‖`` at ``max_ratio · ‖∇_z (L_pull + L_push)‖``.

    Both gradients are taken on detached copies of the rPPG signals ``groups`` (the loss heads
    only, never the encoder), so the factor is a constant of the step. Deviation (training.md): on
    noise-like signals the soft-argmax heart rate's gradient is 5–40x the Pearson terms'.
    """
    leaves = [z.detach().to(torch.promote_types(z.dtype, torch.float32)).requires_grad_(True) for z in groups]
    with torch.enable_grad():
        g_hr = torch.autograd.grad(hr_fn(*leaves), leaves, allow_unused=True)
        g_p = torch.autograd.grad(pearson_fn(*leaves), leaves, allow_unused=True)

    def norm(grads) -> float:
        return math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads if g is not None))

    n_hr, n_p = norm(g_hr), norm(g_p)
    if not math.isfinite(n_hr) or n_hr <= max_ratio * n_p:
        return 1.0
    return max_ratio * n_p / n_hr


def physiological_loss(
    z_real_hq: Tensor,
    z_real_lq: Tensor,
    z_fake_hq: Tensor,
    z_fake_lq: Tensor,
    fps: float,
    band: tuple[float, float] = HR_BAND_HZ,
    temperature: float = SOFT_HR_TEMPERATURE,
    hr_scale: float = HR_SCALE,
    pairing: str = "all",
    resolution_bpm: float = HR_RESOLUTION_BPM,
    hr_grad_ratio: float | None = None,
) -> dict[str, Tensor]:
    """Eq. 19, L_phy = L_HR + L_pull + L_push, from the four groups of rPPG signals [B*, K].

    Returns ``{"hr", "pull", "push", "phy"}``; heart rates come from :func:`soft_heart_rate`.
    ``hr_grad_ratio`` (None = the paper's plain sum) caps the gradient that L_HR sends into the
    signals at that multiple of the Pearson terms' (:func:`hr_grad_factor`); the loss values are
    unchanged, only L_HR's backward is scaled down.
    """

    def shr(z: Tensor) -> Tensor:
        return soft_heart_rate(z, fps, band, temperature, resolution_bpm) if z.shape[0] else z.new_zeros(0)

    def hr_of(rh: Tensor, rl: Tensor, fh: Tensor, fl: Tensor) -> Tensor:
        return hr_loss(shr(rh), shr(rl), shr(fh), shr(fl), hr_scale)

    def pearson_of(rh: Tensor, rl: Tensor, fh: Tensor, fl: Tensor) -> Tensor:
        return cqsl_pull(rh, rl, fh, fl) + cqsl_push(rh, rl, fh, fl, pairing)

    groups = (z_real_hq, z_real_lq, z_fake_hq, z_fake_lq)
    hr_inputs = groups
    if hr_grad_ratio is not None and torch.is_grad_enabled() and any(z.requires_grad for z in groups):
        factor = hr_grad_factor(groups, hr_of, pearson_of, hr_grad_ratio)
        if factor < 1.0:
            hr_inputs = tuple(_ScaleGrad.apply(z, factor) for z in groups)
    hr = hr_of(*hr_inputs)
    pull = cqsl_pull(*groups)
    push = cqsl_push(*groups, pairing)
    return {"hr": hr, "pull": pull, "push": push, "phy": hr + pull + push}


# --------------------------------------------------------------------------- ASA (11, 12)
def affinity_matrix(features: Tensor, normalization: str = "cosine01", temperature: float = 1.0) -> Tensor:
    """Eq. 11, A = σ(U Uᵀ) over every (sample, modality) pair: [B, m, d] → [B, m, B, m] in [0, 1].

    ``normalization`` (σ is unstated in the paper):
    - ``"cosine01"`` (default): (cos + 1) / 2 — bounded, symmetric and PSD as the paper states;
    - ``"cosine_relu"``: max(cos, 0);
    - ``"sigmoid_scaled"``: sigmoid(u·v / sqrt(d) / temperature);
    - ``"sigmoid"``: sigmoid(u·v), literal but saturates for raw 320-d features.
    """
    if features.dim() != 3:
        raise ValueError(f"expected features [B, m, d], got shape {tuple(features.shape)}")
    b, m, d = features.shape
    flat = features.reshape(b * m, d)
    if normalization in ("cosine01", "cosine_relu"):
        unit = flat / flat.norm(dim=-1, keepdim=True).clamp_min(EPS)
        cos = (unit @ unit.T).clamp(-1.0, 1.0)  # rounding can step just past ±1
        aff = (cos + 1.0) / 2.0 if normalization == "cosine01" else cos.clamp_min(0.0)
    elif normalization == "sigmoid_scaled":
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        aff = torch.sigmoid(flat @ flat.T / math.sqrt(d) / temperature)
    elif normalization == "sigmoid":
        aff = torch.sigmoid(flat @ flat.T)
    else:
        raise ValueError(f"normalization must be one of {AFFINITY_NORMALIZATIONS}, got {normalization!r}")
    return aff.reshape(b, m, b, m)


def affinity_masks(
    batch: int, modalities: int, device: torch.device | None = None, dtype: torch.dtype = torch.float32
) -> tuple[Tensor, Tensor]:
    """Masks [B, m, B, m] of eq. 12's positive pairs (same sample, i≠j) and negatives (b≠b', i≠j)."""
    same = torch.eye(batch, device=device, dtype=dtype)[:, None, :, None]
    cross_modal = (1 - torch.eye(modalities, device=device, dtype=dtype))[None, :, None, :]
    return same * cross_modal, (1 - same) * cross_modal


def affinity_loss(affinity: Tensor) -> Tensor:
    """Eq. 12: (1/B) Σ_b [Σ_{i≠j} (1 − A[b,i,b,j])² + Σ_{b'≠b} Σ_{i≠j} A[b,i,b',j]²] (scalar).

    Positive pairs (different modalities of one sample) are drawn to affinity 1, negative pairs
    (different modalities of different samples) to 0; same-modality entries are not used.
    """
    if affinity.dim() != 4 or affinity.shape[0] != affinity.shape[2] or affinity.shape[1] != affinity.shape[3]:
        raise ValueError(f"expected an affinity [B, m, B, m], got shape {tuple(affinity.shape)}")
    b, m = affinity.shape[:2]
    pos, neg = affinity_masks(b, m, affinity.device, affinity.dtype)
    return (pos * (1 - affinity) ** 2 + neg * affinity**2).sum() / b


# --------------------------------------------------------------------------- BCE (8) and total (20)
def bce_loss(output: Tensor, label: Tensor) -> Tensor:
    """Eq. 8, mean binary cross-entropy with label 1 = fake.

    ``output`` [B, 2] is read as logits (detector contract; p_fake = softmax(logits)[:, 1], which
    makes this the 2-class cross-entropy); ``output`` [B] is read as probabilities of fake.
    """
    label = label.reshape(-1)
    if output.dim() == 2 and output.shape[1] == 2:
        return F.cross_entropy(output, label.long())
    if output.dim() == 1:
        if output.numel() and (output.min() < 0 or output.max() > 1):
            raise ValueError("probabilities of fake must lie in [0, 1]; pass logits as [B, 2]")
        return F.binary_cross_entropy(output, label.to(output.dtype))
    raise ValueError(f"expected logits [B, 2] or probabilities [B], got shape {tuple(output.shape)}")


def total_loss(bce: Tensor, phy: Tensor, aff: Tensor, alpha: float = 0.25, beta: float = 0.25) -> dict[str, Tensor]:
    """Eq. 20, L_total = L_bce + α L_phy + β L_affinity; returns ``{"bce", "phy", "aff", "total"}``."""
    return {"bce": bce, "phy": phy, "aff": aff, "total": bce + alpha * phy + beta * aff}
