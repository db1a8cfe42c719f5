"""UMCL losses (umcl/losses.py) against independent NumPy/SciPy float64 references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import signal as sps
from scipy import special, stats

from umcl import losses as L

pytestmark = pytest.mark.usefixtures("single_thread")


FAST = settings(max_examples=25, deadline=None)
finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False, width=64)


def signals(b_min: int = 1, b_max: int = 4, k_min: int = 4, k_max: int = 40):
    """Pairs of [B, K] float64 arrays of equal shape."""
    shape = st.tuples(st.integers(b_min, b_max), st.integers(k_min, k_max))
    return shape.flatmap(
        lambda s: st.tuples(arrays(np.float64, s, elements=finite), arrays(np.float64, s, elements=finite))
    )


def t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a), dtype=torch.float64)


def not_flat(a: np.ndarray) -> bool:
    return bool(np.all(a.std(axis=-1) > 1e-3 * (1 + np.abs(a).max())))


# ------------------------------------------------------------------ eq. 13 / 15
@FAST
@given(signals())
def test_negative_pearson_matches_scipy(pair):
    x, y = pair
    assume(not_flat(x) and not_flat(y))
    ref = np.array([1 - stats.pearsonr(a, b).statistic for a, b in zip(x, y, strict=True)])
    np.testing.assert_allclose(L.negative_pearson(t(x), t(y)).numpy(), ref, atol=1e-9)


@FAST
@given(signals())
def test_negative_pearson_matches_eq13_sums(pair):
    x, y = pair
    assume(not_flat(x) and not_flat(y))
    k = x.shape[1]
    num = k * (x * y).sum(1) - x.sum(1) * y.sum(1)
    den = np.sqrt((k * (x**2).sum(1) - x.sum(1) ** 2) * (k * (y**2).sum(1) - y.sum(1) ** 2))
    np.testing.assert_allclose(L.negative_pearson(t(x), t(y)).numpy(), 1 - num / den, atol=1e-7)


@FAST
@given(signals(), st.floats(0.01, 100), st.floats(-50, 50), st.floats(0.01, 100), st.floats(-50, 50))
def test_negative_pearson_affine_invariant(pair, a, b, c, d):
    x, y = pair
    assume(not_flat(x) and not_flat(y))
    base = L.negative_pearson(t(x), t(y))
    moved = L.negative_pearson(t(a * x + b), t(c * y + d))
    np.testing.assert_allclose(moved.numpy(), base.numpy(), atol=1e-8)


def test_negative_pearson_extremes_and_constant():
    x = torch.linspace(-1, 1, 50, dtype=torch.float64)[None]
    assert L.negative_pearson(x, 3 * x + 1).item() == pytest.approx(0.0, abs=1e-12)
    assert L.negative_pearson(x, -x).item() == pytest.approx(2.0, abs=1e-12)
    const = torch.full_like(x, 4.0)
    assert L.negative_pearson(x, const).item() == pytest.approx(1.0)  # eps: constant → r = 0
    assert torch.isfinite(L.negative_pearson(const, const)).all()


@FAST
@given(signals())
def test_modified_pearson_matches_eq15(pair):
    x, y = pair
    assume(np.all(np.linalg.norm(x, axis=1) > 1e-3) and np.all(np.linalg.norm(y, axis=1) > 1e-3))
    ref = np.abs((x * y).sum(1)) / np.sqrt((x**2).sum(1) * (y**2).sum(1))
    got = L.modified_pearson(t(x), t(y)).numpy()
    np.testing.assert_allclose(got, ref, atol=1e-9)
    np.testing.assert_allclose(L.modified_pearson(t(-x), t(y)).numpy(), got, atol=1e-12)
    np.testing.assert_allclose(L.modified_pearson(t(x), t(-y)).numpy(), got, atol=1e-12)
    assert np.all((got >= 0) & (got <= 1 + 1e-12))


# ------------------------------------------------------------------ eq. 14 / 16
def _four(seed: int, br: int = 3, bf: int = 3, k: int = 24):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, k)) for n in (br, br, bf, bf)]


@pytest.mark.parametrize("seed,br,bf", [(0, 4, 4), (1, 2, 5), (2, 1, 1)])
def test_cqsl_pull_and_push_vs_loop_reference(seed, br, bf):
    rh, rl, fh, fl = _four(seed, br, bf)

    def npc(a, b):
        return 1 - stats.pearsonr(a, b).statistic

    def mpc(a, b):
        return abs(a @ b) / np.sqrt((a @ a) * (b @ b))

    pull_ref = np.mean([npc(a, b) for a, b in zip(rh, rl, strict=True)]) + np.mean(
        [npc(a, b) for a, b in zip(fh, fl, strict=True)]
    )
    push_ref = sum(np.mean([mpc(a, b) for a in zr for b in zf]) for zr in (rh, rl) for zf in (fh, fl))
    args = [t(a) for a in (rh, rl, fh, fl)]
    assert L.cqsl_pull(*args).item() == pytest.approx(pull_ref, abs=1e-10)
    assert L.cqsl_push(*args).item() == pytest.approx(push_ref, abs=1e-10)
    if br == bf:
        aligned_ref = sum(
            np.mean([mpc(a, b) for a, b in zip(zr, zf, strict=True)]) for zr in (rh, rl) for zf in (fh, fl)
        )
        assert L.cqsl_push(*args, pairing="aligned").item() == pytest.approx(aligned_ref, abs=1e-10)


def test_cqsl_handles_a_missing_class():
    rh, rl, _, _ = _four(3)
    empty = torch.zeros(0, rh.shape[1], dtype=torch.float64)
    assert L.cqsl_push(t(rh), t(rl), empty, empty).item() == 0.0
    assert np.isfinite(L.cqsl_pull(t(rh), t(rl), empty, empty).item())


# ------------------------------------------------------------------ heart rate
FPS, K = 30.0, 160


def _sines(bpm: np.ndarray, phase: np.ndarray, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    tt = np.arange(K) / FPS
    x = np.sin(2 * np.pi * bpm[:, None] / 60 * tt + phase[:, None]) + 0.3 * tt  # with a linear trend
    return x + noise * np.random.default_rng(seed).normal(size=x.shape)


PAPER_BAND_HZ = (0.7, 3.0)
"""The heart-rate band the code documents (docs/deviations/core.md, 42-180 bpm), hard-coded here so
that a change of ``umcl.losses.HR_BAND_HZ`` cannot move the reference with it."""
RESOLUTION_BPM = 0.1
"""FFT bin spacing the code documents (``n = ceil(60 fps / 0.1)``), hard-coded for the same reason."""


def _np_band_psd(x, fps=FPS, band=PAPER_BAND_HZ, res=RESOLUTION_BPM):
    """Independent reference: scipy linear detrend, numpy Hann, zero-padded numpy FFT."""
    x = sps.detrend(x, axis=-1, type="linear") * np.hanning(x.shape[-1])
    n = int(np.ceil(60 * fps / res))
    p = np.abs(np.fft.rfft(x, n=n, axis=-1)) ** 2
    idx = np.arange(p.shape[-1])
    keep = (idx >= band[0] * n / fps - 1e-9) & (idx <= band[1] * n / fps + 1e-9)
    return idx[keep] * fps / n * 60, p[..., keep]


BPM_GRID = np.linspace(45, 150, 43)


def test_heart_rate_clean_sinusoids_within_1_bpm():
    rng = np.random.default_rng(0)
    bpm = BPM_GRID + rng.uniform(-0.5, 0.5, BPM_GRID.size)  # off the FFT grid
    x = _sines(bpm, rng.uniform(0, 2 * np.pi, bpm.size))
    est = L.heart_rate(t(x), FPS).numpy()
    assert np.max(np.abs(est - bpm)) < 1.0
    f, p = _np_band_psd(x)
    np.testing.assert_allclose(est, f[p.argmax(-1)], atol=1e-9)  # same bin as the NumPy reference


EDGE_FPS, EDGE_K = 30.0, 600  # 20 s: the Hann main lobe is +-0.1 Hz wide


def _two_tones(strong_hz: float, weak_hz: float, seed: int) -> np.ndarray:
    """A strong sinusoid (amplitude 2) plus a weaker one (amplitude 1), 20 s at 30 fps, with a trend."""
    tt = np.arange(EDGE_K) / EDGE_FPS
    phase = np.random.default_rng(seed).uniform(0, 2 * np.pi, 2)
    return 2 * np.sin(2 * np.pi * strong_hz * tt + phase[0]) + np.sin(2 * np.pi * weak_hz * tt + phase[1]) + 0.1 * tt


# Strong tones just outside 0.7-3.0 Hz (their main lobes end at 0.68 and 3.12 Hz, outside the band),
# each inside the mutated bands 0.5-3.0 and 0.7-4.0; weak tones in the band, two of them near its edges.
OUTSIDE_CASES = [(0.58, 1.2), (0.58, 2.9), (3.22, 1.5), (3.22, 0.76), (3.6, 1.0), (0.45, 2.4)]


@pytest.mark.parametrize("strong_hz,weak_hz", OUTSIDE_CASES)
def test_heart_rate_ignores_a_stronger_tone_just_outside_the_band(strong_hz, weak_hz):
    """The estimate is the in-band tone (within 1 bpm), not the stronger one just outside 0.7-3.0 Hz."""
    x = t(_two_tones(strong_hz, weak_hz, seed=int(100 * strong_hz + weak_hz))[None])
    hard = L.heart_rate(x, EDGE_FPS).item()
    soft = L.soft_heart_rate(x, EDGE_FPS).item()
    assert hard == pytest.approx(60 * weak_hz, abs=1.0)
    assert soft == pytest.approx(60 * weak_hz, abs=1.0)
    f, p = _np_band_psd(x.numpy(), fps=EDGE_FPS)
    assert f.min() == pytest.approx(42.0) and f.max() == pytest.approx(180.0)
    assert hard == pytest.approx(f[p.argmax(-1)][0], abs=1e-9)


def test_heart_rate_band_is_the_documented_one():
    """0.7-3.0 Hz: a lone tone at 3.2 Hz or 0.58 Hz is not reported as itself."""
    assert tuple(L.HR_BAND_HZ) == PAPER_BAND_HZ
    for hz in (0.58, 3.22):
        x = t(np.sin(2 * np.pi * hz * np.arange(EDGE_K) / EDGE_FPS)[None])
        assert abs(L.heart_rate(x, EDGE_FPS).item() - 60 * hz) > 3.0


def test_heart_rate_noisy_sinusoids():
    """Gaussian noise σ = 0.5 on a unit sinusoid (SNR 3 dB): every estimate within 3 bpm, median within 1."""
    rng = np.random.default_rng(1)
    bpm = BPM_GRID + rng.uniform(-0.5, 0.5, BPM_GRID.size)
    x = _sines(bpm, rng.uniform(0, 2 * np.pi, bpm.size), noise=0.5, seed=2)
    err = np.abs(L.heart_rate(t(x), FPS).numpy() - bpm)
    assert err.max() < 3.0 and np.median(err) < 1.0


def test_heart_rate_float32_and_single_signal():
    x = _sines(np.array([72.0]), np.array([0.3]))[0]
    assert L.heart_rate(torch.tensor(x, dtype=torch.float32), FPS).item() == pytest.approx(72.0, abs=1.0)


def test_soft_heart_rate_matches_reference_and_hard_estimate():
    rng = np.random.default_rng(3)
    bpm = BPM_GRID + rng.uniform(-0.5, 0.5, BPM_GRID.size)
    phase = rng.uniform(0, 2 * np.pi, bpm.size)
    for noise in (0.0, 0.5):
        x = _sines(bpm, phase, noise=noise, seed=4)
        soft = L.soft_heart_rate(t(x), FPS).numpy()
        f, p = _np_band_psd(x)
        logits = np.log(p / p.sum(-1, keepdims=True)) / L.SOFT_HR_TEMPERATURE
        w = np.exp(logits - logits.max(-1, keepdims=True))
        np.testing.assert_allclose(soft, (w * f).sum(-1) / w.sum(-1), atol=1e-8)
        hard = L.heart_rate(t(x), FPS).numpy()
        assert np.max(np.abs(soft - hard)) < 1.0
        assert np.max(np.abs(soft - bpm)) < (1.0 if noise == 0 else 3.0)


# ------------------------------------------------------------------ eq. 17–19
@FAST
@given(
    st.integers(1, 6).flatmap(
        lambda n: st.lists(arrays(np.float64, n, elements=st.floats(40, 180)), min_size=4, max_size=4)
    )
)
def test_hr_loss_is_l2_norm_in_hz(h):
    got = L.hr_loss(*[t(a) for a in h]).item()
    ref = np.linalg.norm((h[0] - h[1]) / 60) + np.linalg.norm((h[2] - h[3]) / 60)
    assert got == pytest.approx(ref, abs=1e-7)


def _np_soft_hr(x: np.ndarray, fps: float = FPS) -> np.ndarray:
    """Soft-argmax heart rate from the NumPy periodogram: weights ∝ PSD^(1/0.1) over 0.7-3.0 Hz."""
    f, p = _np_band_psd(x, fps=fps)
    logits = np.log(p / p.sum(-1, keepdims=True)) / 0.1
    w = np.exp(logits - logits.max(-1, keepdims=True))
    return (w * f).sum(-1) / w.sum(-1)


def _np_pull_push(rh, rl, fh, fl) -> tuple[float, float]:
    """Eqs. 14 and 16 by loops over rows, with SciPy's Pearson."""

    def mpc(a, b):
        return abs(a @ b) / np.sqrt((a @ a) * (b @ b))

    pull = np.mean([1 - stats.pearsonr(a, b).statistic for a, b in zip(rh, rl, strict=True)]) + np.mean(
        [1 - stats.pearsonr(a, b).statistic for a, b in zip(fh, fl, strict=True)]
    )
    push = sum(np.mean([mpc(a, b) for a in zr for b in zf]) for zr in (rh, rl) for zf in (fh, fl))
    return float(pull), float(push)


def test_physiological_loss_terms_against_numpy():
    """Eq. 19 term by term from independent references (NumPy HR, SciPy Pearson, loops)."""
    arrays_ = _four(5, 3, 3, K)
    rh, rl, fh, fl = [t(a) for a in arrays_]
    terms = L.physiological_loss(rh, rl, fh, fl, fps=FPS)
    assert set(terms) == {"hr", "pull", "push", "phy"}
    hr = [_np_soft_hr(a) for a in arrays_]
    hr_ref = np.linalg.norm((hr[0] - hr[1]) / 60) + np.linalg.norm((hr[2] - hr[3]) / 60)
    pull_ref, push_ref = _np_pull_push(*arrays_)
    assert terms["hr"].item() == pytest.approx(hr_ref, abs=1e-7)
    assert terms["pull"].item() == pytest.approx(pull_ref, abs=1e-10)
    assert terms["push"].item() == pytest.approx(push_ref, abs=1e-10)
    assert terms["phy"].item() == pytest.approx(hr_ref + pull_ref + push_ref, abs=1e-7)
    same = L.physiological_loss(rh, rh, fh, fh, fps=FPS)  # identical views: no pull, no HR gap
    assert same["pull"].item() == pytest.approx(0.0, abs=1e-12)
    assert same["hr"].item() == pytest.approx(0.0, abs=1e-6)


# ------------------------------------------------------------------ eq. 11 / 12
def _np_affinity(u: np.ndarray, norm: str, temperature: float = 1.0) -> np.ndarray:
    b, m, d = u.shape
    a = np.zeros((b, m, b, m))
    for b1, i, b2, j in itertools.product(range(b), range(m), range(b), range(m)):
        x, y = u[b1, i], u[b2, j]
        cos = x @ y / (np.linalg.norm(x) * np.linalg.norm(y))
        a[b1, i, b2, j] = {
            "cosine01": (cos + 1) / 2,
            "cosine_relu": max(cos, 0.0),
            "sigmoid_scaled": 1 / (1 + np.exp(-x @ y / np.sqrt(d) / temperature)),
            "sigmoid": 1 / (1 + np.exp(-x @ y)),
        }[norm]
    return a


def _np_affinity_loss(a: np.ndarray) -> float:
    b, m = a.shape[:2]
    total = 0.0
    for b1 in range(b):
        for i, j in itertools.product(range(m), range(m)):
            if i == j:
                continue
            total += (1 - a[b1, i, b1, j]) ** 2
            total += sum(a[b1, i, b2, j] ** 2 for b2 in range(b) if b2 != b1)
    return total / b


@pytest.mark.parametrize("norm", L.AFFINITY_NORMALIZATIONS)
def test_affinity_matrix_and_loss_vs_loops(norm):
    u = np.random.default_rng(6).normal(size=(4, 3, 10))
    a = L.affinity_matrix(t(u), norm, temperature=0.5)
    ref = _np_affinity(u, norm, temperature=0.5)
    np.testing.assert_allclose(a.numpy(), ref, atol=1e-12)
    assert a.min() >= 0 and a.max() <= 1
    np.testing.assert_allclose(a.numpy(), a.permute(2, 3, 0, 1).numpy(), atol=1e-12)  # symmetric
    assert L.affinity_loss(a).item() == pytest.approx(_np_affinity_loss(ref), abs=1e-10)


def test_cosine01_affinity_is_psd():
    u = torch.randn(5, 3, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    a = L.affinity_matrix(u).reshape(15, 15)
    assert torch.linalg.eigvalsh(a).min() > -1e-10


@FAST
@given(st.integers(1, 4), st.integers(2, 4), st.data())
def test_affinity_loss_zero_only_for_ideal(b, m, data):
    pos, neg = (x.numpy() for x in L.affinity_masks(b, m, dtype=torch.float64))
    ideal = pos.copy()
    assert L.affinity_loss(t(ideal)).item() == 0.0
    noise = data.draw(arrays(np.float64, (b, m, b, m), elements=st.floats(0, 1)))
    a = np.where((pos + neg) > 0, noise, ideal)
    ref = _np_affinity_loss(a)
    assert L.affinity_loss(t(a)).item() == pytest.approx(ref, abs=1e-10)
    if not np.allclose(a, ideal):
        assert L.affinity_loss(t(a)).item() > 0


def test_affinity_loss_zero_for_aligned_orthogonal_features():
    b, m = 4, 3
    u = torch.eye(b, dtype=torch.float64)[:, None, :].expand(b, m, b).contiguous()  # sample b → e_b
    assert L.affinity_loss(L.affinity_matrix(u, "cosine_relu")).item() == pytest.approx(0.0, abs=1e-12)
    assert L.affinity_loss(L.affinity_matrix(u, "cosine01")).item() > 0  # (cos+1)/2 = 1/2 off-sample


# ------------------------------------------------------------------ eq. 8 / 20
@FAST
@given(
    st.integers(1, 8).flatmap(
        lambda n: st.tuples(
            arrays(np.float64, (n, 2), elements=st.floats(-20, 20)), arrays(np.int64, n, elements=st.integers(0, 1))
        )
    )
)
def test_bce_matches_eq8(data):
    logits, y = data
    logp = special.log_softmax(logits, axis=1)  # log(1 - p_fake) = log p_real, computed stably
    ref = -np.mean(y * logp[:, 1] + (1 - y) * logp[:, 0])
    p_fake = np.exp(logp[:, 1])
    assert L.bce_loss(t(logits), torch.as_tensor(y)).item() == pytest.approx(ref, rel=1e-6, abs=1e-9)
    pf = np.clip(p_fake, 1e-6, 1 - 1e-6)
    ref_p = -np.mean(y * np.log(pf) + (1 - y) * np.log(1 - pf))
    assert L.bce_loss(t(pf), torch.as_tensor(y)).item() == pytest.approx(ref_p, rel=1e-9)


def test_bce_rejects_bad_probabilities():
    with pytest.raises(ValueError):
        L.bce_loss(torch.tensor([1.5]), torch.tensor([1]))


def test_total_loss_eq20():
    out = L.total_loss(torch.tensor(0.7), torch.tensor(2.0), torch.tensor(4.0))
    assert set(out) == {"bce", "phy", "aff", "total"}
    assert out["total"].item() == pytest.approx(0.7 + 0.25 * 2.0 + 0.25 * 4.0)
    assert L.total_loss(torch.tensor(1.0), torch.tensor(1.0), torch.tensor(1.0), 0.5, 2.0)["total"].item() == 3.5


# ------------------------------------------------------------------ gradients
def _rand(*shape, seed=0):
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)).requires_grad_()


def test_gradcheck_pearson_terms():
    x, y = _rand(3, 12, seed=1), _rand(3, 12, seed=2)
    assert torch.autograd.gradcheck(lambda a, b: L.negative_pearson(a, b), (x, y))
    assert torch.autograd.gradcheck(lambda a, b: L.modified_pearson(a, b), (x, y))
    zs = [_rand(2, 10, seed=s) for s in range(3, 7)]
    assert torch.autograd.gradcheck(lambda *z: L.cqsl_pull(*z), zs)
    assert torch.autograd.gradcheck(lambda *z: L.cqsl_push(*z), zs)


def test_gradcheck_soft_heart_rate_and_hr_loss():
    x = _rand(2, 32, seed=8)
    assert torch.autograd.gradcheck(lambda s: L.soft_heart_rate(s, FPS, resolution_bpm=2.0), (x,))
    hs = [_rand(3, seed=s) * 10 for s in range(9, 13)]
    hs = [h.detach().requires_grad_() for h in hs]
    assert torch.autograd.gradcheck(lambda *h: L.hr_loss(*h), hs)
    zs = [_rand(2, 16, seed=s) for s in range(13, 17)]
    assert torch.autograd.gradcheck(lambda *z: L.physiological_loss(*z, fps=FPS, resolution_bpm=3.0)["phy"], zs)


@pytest.mark.parametrize("norm", ["cosine01", "sigmoid_scaled", "sigmoid"])
def test_gradcheck_affinity(norm):
    u = _rand(3, 3, 5, seed=17)
    assert torch.autograd.gradcheck(lambda f: L.affinity_loss(L.affinity_matrix(f, norm)), (u,))


def test_gradcheck_bce():
    logits = _rand(4, 2, seed=18)
    y = torch.tensor([0, 1, 1, 0])
    assert torch.autograd.gradcheck(lambda z: L.bce_loss(z, y), (logits,))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kind", ["zero", "constant", "linear"])
def test_degenerate_signals_give_finite_values_and_gradients(dtype, kind):
    base = {
        "zero": torch.zeros(2, K),
        "constant": torch.full((2, K), 3.0),
        "linear": torch.linspace(0, 1, K).repeat(2, 1),
    }[kind]
    x = base.to(dtype).requires_grad_()
    y = torch.randn(2, K, dtype=dtype, generator=torch.Generator().manual_seed(19)).requires_grad_()
    out = (
        L.negative_pearson(x, y).sum()
        + L.modified_pearson(x, y).sum()
        + L.soft_heart_rate(x, FPS).sum()
        + L.physiological_loss(x, x, y, y, fps=FPS)["phy"]
    )
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(x.grad).all() and torch.isfinite(y.grad).all()
    u = torch.zeros(2, 3, 4, dtype=dtype, requires_grad=True)
    L.affinity_loss(L.affinity_matrix(u)).backward()
    assert torch.isfinite(u.grad).all()
