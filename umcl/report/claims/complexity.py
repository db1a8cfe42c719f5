"""What Table 9 counts: CLIP ViT-B/16's parameters from open_clip's architecture config (no weights), the
layers of the authors' released model outside its P-encoder (shapes in shared/notes/official-code.md),
and the floating-point work of the weights that run for one test sample."""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path

from umcl.errors import UmclError

#: the open_clip architecture the paper names ("a pretrained CLIP model based on ViT-B16")
CLIP_CONFIG = "ViT-B-16"


def _block(width: int) -> int:
    """One pre-norm transformer block: 2 LayerNorms, fused QKV + output projection, MLP ×4 (with biases)."""
    return (
        2 * 2 * width
        + (3 * width * width + 3 * width)
        + (width * width + width)
        + (4 * width * width + 4 * width)
        + (4 * width * width + width)
    )


@functools.cache
def clip_config(name: str = CLIP_CONFIG) -> dict:
    """open_clip's JSON architecture config, read from the installed package without importing it."""
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise UmclError("open_clip is not installed", fix="pip install -r requirements.txt")
    path = Path(next(iter(spec.submodule_search_locations))) / "model_configs" / f"{name}.json"
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise UmclError(f"cannot read open_clip's config {path}: {exc.strerror}", path) from exc


def clip_parameters(cfg: dict | None = None) -> dict[str, int]:
    """Parameters of a CLIP model (both towers) from its architecture config, by part."""
    cfg = cfg or clip_config()
    v, t, embed = cfg["vision_cfg"], cfg["text_cfg"], cfg["embed_dim"]
    vw, grid = v["width"], v["image_size"] // v["patch_size"]
    vision = (
        3 * v["patch_size"] ** 2 * vw
        + vw
        + (grid * grid + 1) * vw
        + 2 * vw
        + v["layers"] * _block(vw)
        + 2 * vw
        + vw * embed
    )
    tw = t["width"]
    token = t["vocab_size"] * tw
    text = token + t["context_length"] * tw + t["layers"] * _block(tw) + 2 * tw + tw * embed
    return {
        "image tower": vision,
        "text token embedding": token,
        "text tower without token embedding": text - token,
        "logit scale": 1,
        "total": vision + text + 1,
    }


def _linear(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def _bigru_stream(n_in: int = 136, hidden: int = 32, mlp: int = 64) -> int:
    """One LRNet stream: a learned initial state, a bidirectional GRU, the residual MLP and its 2-way head."""
    gru = 2 * (3 * hidden * n_in + 3 * hidden * hidden + 2 * 3 * hidden)
    return 2 * hidden + gru + _linear(2 * hidden, mlp) + _linear(mlp, 2 * hidden) + _linear(2 * hidden, 2)


def release_layers() -> dict[str, int]:
    """The released model's layers outside the P-encoder and CLIP (official-code.md, "Model"): the three
    flatten→linear projections of the P-encoder's tokens (128, 64, 32 px views), Linear(320 → 320), the
    two LRNet streams, Linear(128 → 320), Linear(512 → 320), the classifier Linear(960 → 2), and the
    alignment module's three sigmoid scales and offsets."""
    return {
        "flatten→linear, 128 px view": _linear(640 * 96 * 2, 160),
        "flatten→linear, 64 px view": _linear(160 * 96 * 2, 160),
        "flatten→linear, 32 px view": _linear(40 * 96 * 2, 160),
        "rPPG Linear(320 → 320)": _linear(320, 320),
        "LRNet, two streams": 2 * _bigru_stream(),
        "landmark Linear(128 → 320)": _linear(128, 320),
        "text Linear(512 → 320)": _linear(512, 320),
        "classifier Linear(960 → 2)": _linear(960, 2),
        "alignment scales and offsets": 6,
    }


def table9_count() -> dict[str, int]:
    """The decomposition of Table 9's UMCL count: whole CLIP + the release's layers outside the P-encoder."""
    clip, rel = clip_parameters(), release_layers()
    return {
        "CLIP ViT-B/16 (both towers)": clip["total"],
        "released layers outside the P-encoder": sum(rel.values()),
        "total": clip["total"] + sum(rel.values()),
    }


def running_weights() -> dict[str, int]:
    """Of Table 9's counted weights, those a test sample multiplies: all but CLIP's image tower (never
    run), the token embedding (look-ups, no arithmetic) and the 64 and 32 px projections (their views are
    made in training only)."""
    clip, rel = clip_parameters(), release_layers()
    idle = {
        "CLIP image tower (never run)": clip["image tower"],
        "token embedding (look-ups)": clip["text token embedding"],
        "64 and 32 px projections (training views)": rel["flatten→linear, 64 px view"]
        + rel["flatten→linear, 32 px view"],
    }
    counted = table9_count()["total"]
    return {**idle, "running": counted - sum(idle.values()), "counted": counted}
