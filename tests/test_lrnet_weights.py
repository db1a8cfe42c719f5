"""LRNet weights as distributed: the pair g1.pth + g2.pth, one stream state dict each, published keys.

The reference forward below is written from the published architecture (frederickszk/LRNet,
``training/utils/model.py``, MIT): BiGRU from a learned initial state, concatenated final hidden
states, residual feed-forward ``dense.1`` (Linear ``net.0`` - ReLU - Dropout - Linear ``net.3``),
head ``dense.3``; dropouts are identities in eval mode. It reads the published key names directly,
so it checks that every tensor lands where the published model uses it, not just that keys match.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from baselines.lrnet import LRNetConfig, LRNetDetector
from umcl.errors import UmclError
from umcl.models.lrnet import LandmarkEncoder, frame_differences, read_lrnet_weights

pytestmark = pytest.mark.usefixtures("single_thread")


def published_stream(seed: int, hidden: int = 32) -> dict[str, torch.Tensor]:
    """A random single-stream state dict in the published key layout (what g1.pth / g2.pth hold)."""
    g = torch.Generator().manual_seed(seed)
    shapes = {
        "hidden_state": (2, 1, hidden),
        "dense.1.fn.net.0.weight": (64, 2 * hidden),
        "dense.1.fn.net.0.bias": (64,),
        "dense.1.fn.net.3.weight": (2 * hidden, 64),
        "dense.1.fn.net.3.bias": (2 * hidden,),
        "dense.3.weight": (2, 2 * hidden),
        "dense.3.bias": (2,),
    }
    for sfx in ("", "_reverse"):
        shapes |= {
            f"gru.weight_ih_l0{sfx}": (3 * hidden, 136),
            f"gru.weight_hh_l0{sfx}": (3 * hidden, hidden),
            f"gru.bias_ih_l0{sfx}": (3 * hidden,),
            f"gru.bias_hh_l0{sfx}": (3 * hidden,),
        }
    return {k: 0.3 * torch.randn(s, generator=g) for k, s in shapes.items()}


def reference_logits(sd: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Published stream in eval mode, from its own key names."""
    hidden = sd["hidden_state"].shape[-1]
    gru = nn.GRU(x.shape[-1], hidden, batch_first=True, bidirectional=True)
    gru.load_state_dict({k[len("gru.") :]: v for k, v in sd.items() if k.startswith("gru.")})
    _, h = gru(x, sd["hidden_state"].repeat(1, x.shape[0], 1))
    f = torch.cat([h[0], h[1]], dim=1)
    ff = F.linear(
        F.relu(F.linear(f, sd["dense.1.fn.net.0.weight"], sd["dense.1.fn.net.0.bias"])),
        sd["dense.1.fn.net.3.weight"],
        sd["dense.1.fn.net.3.bias"],
    )
    return F.linear(f + ff, sd["dense.3.weight"], sd["dense.3.bias"])


@pytest.fixture()
def pair(tmp_path):
    g1, g2 = published_stream(1), published_stream(2)
    folder = tmp_path / "LRNet_org_weights"
    folder.mkdir()
    torch.save(g1, folder / "g1.pth")
    torch.save(g2, folder / "g2.pth")
    return folder, g1, g2


def _check_matches(enc: LandmarkEncoder, g1: dict, g2: dict) -> None:
    x = torch.randn(3, 30, 136, generator=torch.Generator().manual_seed(0))
    enc.eval()
    with torch.no_grad():
        out = enc(x)
        torch.testing.assert_close(out["logits_g1"], reference_logits(g1, x), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(out["logits_g2"], reference_logits(g2, frame_differences(x)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("form", ["folder", "two paths"])
def test_published_pair_loads_into_the_l_encoder(pair, form):
    folder, g1, g2 = pair
    enc = LandmarkEncoder()
    with pytest.raises(AssertionError):
        _check_matches(enc, g1, g2)  # a fresh encoder does not match: the check can fail
    enc.load_pretrained(folder if form == "folder" else [folder / "g1.pth", folder / "g2.pth"])
    _check_matches(enc, g1, g2)


def test_lrnet_baseline_reads_the_same_pair(pair):
    folder, g1, g2 = pair
    det = LRNetDetector(LRNetConfig(pretrained_path=str(folder)))
    _check_matches(det.encoder, g1, g2)
    assert det.weights_source == f"lrnet:{folder}"


def test_merged_export_still_loads(pair, tmp_path):
    folder, g1, g2 = pair
    det = LRNetDetector(LRNetConfig(pretrained_path=str(folder)))
    merged = det.export_weights(tmp_path / "merged.pth")
    enc = LandmarkEncoder()
    enc.load_pretrained(merged)
    _check_matches(enc, g1, g2)


def test_wrapped_and_dataparallel_stream_files(tmp_path):
    g1, g2 = published_stream(3), published_stream(4)
    torch.save({"state_dict": {"module." + k: v for k, v in g1.items()}}, tmp_path / "g1.pth")
    torch.save(g2, tmp_path / "g2.pth")
    state, where = read_lrnet_weights(tmp_path)
    assert where == tmp_path and set(state) == {f"g1.{k}" for k in g1} | {f"g2.{k}" for k in g2}


def test_bad_pairs_are_one_line_errors(pair, tmp_path):
    folder, g1, _ = pair
    cases = []
    (folder / "g2.pth").rename(tmp_path / "g2.pth")
    cases.append((folder, "lacks g2.pth"))  # the folder holds one stream only
    cases.append((folder / "g1.pth", "no g1./g2. keys"))  # one stream file on its own
    cases.append(([tmp_path / "g2.pth", folder / "g1.pth"], r"\(g2, g1\)"))  # swapped order
    cases.append(([folder / "g1.pth"], "got 1 path"))
    torch.save(published_stream(5, hidden=64), tmp_path / "g1_64.pth")  # another architecture size
    cases.append(([tmp_path / "g1_64.pth", tmp_path / "g2.pth"], "do not match the model"))
    for source, message in cases:
        with pytest.raises(UmclError, match=message) as info:
            LandmarkEncoder().load_pretrained(source)
        assert "\n" not in str(info.value) and "fix:" in str(info.value)
