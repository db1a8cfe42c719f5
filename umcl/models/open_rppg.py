"""open-rppg's PhysFormer weights (PURE, RLAP) read as the wheel ships them, into :class:`PhysFormer`.

The PyPI package open-rppg 0.1.1 (MIT code; the weights under their training sets' terms) ships
``rppg/weights/PhysFormer.{pure,rlap}.weights.h5``: Keras 3 HDF5 weight files (float16 values) of
rPPG-Toolbox's PhysFormer at the published width (dim 96, feed-forward 144, 12 heads, 12 layers,
theta 0.7), trained on PURE and on RLAP, 160 frames of 128 px at 30 fps. Only ``h5py`` is needed to
read them: open-rppg's runtime (jax, keras, onnxruntime) never enters this project's environment.

Where the files are found (first hit wins; docs/contracts.md, "rPPG weights"):

1. ``--weights PATH`` / ``pretrained: PATH``: a ``.h5`` file of this layout;
2. ``$UMCL_OPEN_RPPG``: the wheel (``.whl``, read in place), or a folder holding the ``.h5`` files
   (directly or under ``rppg/weights/``);
3. the installed distribution ``open-rppg`` (``make venv`` runs ``pip install --no-deps
   open-rppg==0.1.1``), located through :mod:`importlib.metadata` without importing it.

Mapping (facts from open-rppg's ``rppg/models.py``, classes ``PhysFormer``, ``CDC``,
``MultiHeadedSelfAttention_TDC_gra_sharp``, ``PositionWiseFeedForward_ST``): Keras ``Conv3D``
kernels are ``D x H x W x in x out`` (torch ``out x in x D x H x W``), ``Conv1D`` ``k x in x out``,
``Dense`` ``in x out`` (torch transposed), ``BatchNormalization`` stores gamma, beta, moving mean,
moving variance (eps 1e-3), ``LayerNormalization`` gamma, beta. The three transformer stages of
four blocks become blocks 0-11; the stem and upsampler ``Sequential`` blocks are named by creation
order. The model must be built with ``io="standardized"`` (inputs standardised per channel over
time and space, output over time) and 12 heads; anything else is refused in one line.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from umcl.errors import MissingWeightsError, UmclError

#: the released weight sets (the ``--weights`` / ``pretrained`` names) and their training data
OPEN_RPPG_WEIGHTS = {"pure": "PURE", "rlap": "RLAP"}
OPEN_RPPG_VERSION = "0.1.1"
ENV_VAR = "UMCL_OPEN_RPPG"
#: what the weights were trained on: architecture, clip and rate
OPEN_RPPG_ARCH = {
    "dim": 96,
    "ff_dim": 144,
    "num_heads": 12,
    "num_layers": 12,
    "theta": 0.7,
    "gra_sharp": 2.0,
    "frames": 160,
    "image_size": 128,
    "fps": 30.0,
}
_MEMBER = "rppg/weights/PhysFormer.{name}.weights.h5"
_FIX = (
    f"run `pip install --no-deps open-rppg=={OPEN_RPPG_VERSION}` in this environment (make venv does), "
    f"or set {ENV_VAR} to the wheel or its weights folder, or pass a .h5 path"
)


@dataclass(frozen=True)
class WeightsSource:
    """One located weight file: ``name`` (pure/rlap/the path), where it is, its bytes' sha256."""

    name: str
    location: str
    sha256: str
    data: bytes

    def identity(self) -> dict[str, str]:
        """What provenance records: name, location and sha256 (not the bytes)."""
        return {"name": self.name, "file": self.location, "sha256": self.sha256}


def _source(name: str, location: str, data: bytes) -> WeightsSource:
    return WeightsSource(name, location, hashlib.sha256(data).hexdigest(), data)


def locate_weights(spec: str) -> WeightsSource:
    """Find ``spec`` (``pure``, ``rlap`` or a ``.h5`` path) and read its bytes (module docstring)."""
    if spec not in OPEN_RPPG_WEIGHTS:
        path = Path(spec)
        if not path.is_file():
            raise MissingWeightsError(
                "PhysFormer weights not found", path, "pass pure, rlap or the path of an open-rppg PhysFormer .h5 file"
            )
        return _source(str(path), str(path.resolve()), path.read_bytes())
    member = _MEMBER.format(name=spec)
    env = os.environ.get(ENV_VAR)
    if env:
        root = Path(env)
        if root.is_file() and root.suffix == ".whl":
            try:
                with zipfile.ZipFile(root) as whl:
                    return _source(spec, f"{root.resolve()}!{member}", whl.read(member))
            except (KeyError, zipfile.BadZipFile) as exc:
                raise MissingWeightsError(
                    f"{member} cannot be read from this wheel ({type(exc).__name__})", root, _FIX
                ) from exc
        for candidate in (root / Path(member).name, root / member):
            if candidate.is_file():
                return _source(spec, str(candidate.resolve()), candidate.read_bytes())
        raise MissingWeightsError(f"{ENV_VAR} holds no {Path(member).name}", root, _FIX)
    try:
        dist = metadata.distribution("open-rppg")
    except metadata.PackageNotFoundError:
        raise MissingWeightsError(
            f"open-rppg's {spec.upper()} PhysFormer weights are not installed", None, _FIX
        ) from None
    path = Path(str(dist.locate_file(member)))
    if not path.is_file():
        raise MissingWeightsError(f"the installed open-rppg {dist.version} has no {member}", path, _FIX)
    return _source(spec, str(path), path.read_bytes())


def read_h5(source: WeightsSource) -> dict[str, np.ndarray]:
    """Every dataset of the HDF5 file as float32 arrays, keyed by its path inside the file."""
    import h5py

    out: dict[str, np.ndarray] = {}
    try:
        with h5py.File(io.BytesIO(source.data), "r") as f:
            f.visititems(
                lambda name, obj: (
                    out.__setitem__(name, np.asarray(obj, dtype=np.float32)) if isinstance(obj, h5py.Dataset) else None
                )
            )
    except OSError as exc:
        raise UmclError(
            f"not an HDF5 weight file ({exc})".splitlines()[0], source.location, "pass an open-rppg PhysFormer .h5 file"
        ) from exc
    return out


def _conv(k: np.ndarray) -> np.ndarray:  # Keras D,H,W,in,out (or k,in,out) -> torch out,in,D,H,W
    return np.ascontiguousarray(np.moveaxis(k, (-1, -2), (0, 1)))


def _dense(k: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(k.T)


def _ident(k: np.ndarray) -> np.ndarray:
    return k


def _bn(keras_prefix: str, torch_prefix: str) -> list[tuple[str, str, callable]]:
    names = ("weight", "bias", "running_mean", "running_var")
    return [
        (f"{keras_prefix}/batch_normalization/vars/{i}", f"{torch_prefix}.{n}", _ident) for i, n in enumerate(names)
    ]


def _suffix(i: int) -> str:
    return "" if i == 0 else f"_{i}"


def tensor_map(num_layers: int = 12) -> list[tuple[str, str, callable]]:
    """``(h5 dataset path, torch state-dict key, transform)`` for every tensor of the file."""
    rows: list[tuple[str, str, callable]] = []
    for i in range(3):  # stem blocks: Conv3D + BN
        p = f"layers/sequential{_suffix(i)}/layers"
        rows += [
            (f"{p}/conv3d/vars/0", f"stem.{i}.0.weight", _conv),
            (f"{p}/conv3d/vars/1", f"stem.{i}.0.bias", _ident),
        ]
        rows += _bn(p, f"stem.{i}.1")
    rows += [("layers/conv3d/vars/0", "tube_embed.weight", _conv), ("layers/conv3d/vars/1", "tube_embed.bias", _ident)]
    per_stage = num_layers // 3
    for b in range(num_layers):
        s, j = divmod(b, per_stage)
        p, t = (
            f"layers/transformer_st_tdc_gra_sharp{_suffix(s)}/blocks/block_st_tdc_gra_sharp{_suffix(j)}",
            f"blocks.{b}",
        )
        for qk in ("q", "k"):
            rows.append((f"{p}/attn/proj_{qk}/layers/cdc/vars/0", f"{t}.attn.proj_{qk}.0.conv.weight", _conv))
            rows += _bn(f"{p}/attn/proj_{qk}/layers", f"{t}.attn.proj_{qk}.1")
        rows.append((f"{p}/attn/proj_v/layers/conv3d/vars/0", f"{t}.attn.proj_v.weight", _conv))
        for n in ("norm1", "norm2"):
            rows += [(f"{p}/{n}/vars/0", f"{t}.{n}.weight", _ident), (f"{p}/{n}/vars/1", f"{t}.{n}.bias", _ident)]
        rows += [(f"{p}/proj/vars/0", f"{t}.proj.weight", _dense), (f"{p}/proj/vars/1", f"{t}.proj.bias", _ident)]
        for keras_name, ours in (("fc1", "expand"), ("STConv", "depthwise"), ("fc2", "project")):
            rows.append((f"{p}/pwff/{keras_name}/layers/conv3d/vars/0", f"{t}.ffn.{ours}.0.weight", _conv))
            rows += _bn(f"{p}/pwff/{keras_name}/layers", f"{t}.ffn.{ours}.1")
    for i, up in ((3, "up1"), (4, "up2")):
        p = f"layers/sequential_{i}/layers"
        rows += [
            (f"{p}/conv3d/vars/0", f"head.{up}.1.weight", _conv),
            (f"{p}/conv3d/vars/1", f"head.{up}.1.bias", _ident),
        ]
        rows += _bn(p, f"head.{up}.2")
    rows += [("ConvBlockLast/vars/0", "head.out.weight", _conv), ("ConvBlockLast/vars/1", "head.out.bias", _ident)]
    return rows


def load_open_rppg(model: torch.nn.Module, spec: str) -> WeightsSource:
    """Load open-rppg weights ``spec`` (pure, rlap or a .h5 path) into ``model`` (a PhysFormer built
    with ``io="standardized"``, 12 heads); returns the source (for provenance). A tensor that is
    missing, left over or of the wrong shape is named in a one-line :class:`UmclError`."""
    source = locate_weights(spec)
    if getattr(model, "io", None) != "standardized" or getattr(model, "num_heads", None) != OPEN_RPPG_ARCH["num_heads"]:
        raise UmclError(
            f"open-rppg weights need a PhysFormer with io='standardized' and "
            f"{OPEN_RPPG_ARCH['num_heads']} heads, got io={getattr(model, 'io', None)!r}, "
            f"heads={getattr(model, 'num_heads', None)}",
            source.location,
            "build it through umcl.models.open_rppg.build_physformer or set physformer_heads: 12",
        )
    tensors = read_h5(source)
    own = model.state_dict()
    state: dict[str, torch.Tensor] = {}
    for h5_key, key, transform in tensor_map(len(model.blocks)):
        if h5_key not in tensors:
            raise UmclError(
                f"weight file lacks tensor {h5_key} (for {key})",
                source.location,
                "pass an open-rppg PhysFormer .h5 file of the published architecture",
            )
        value = transform(tensors.pop(h5_key))
        if key not in own or tuple(own[key].shape) != value.shape:
            want = tuple(own[key].shape) if key in own else None
            raise UmclError(
                f"tensor {h5_key} does not fit {key}: file {value.shape}, model {want}",
                source.location,
                "build the PhysFormer at the published width (dim 96, ff 144, 12 layers)",
            )
        state[key] = torch.from_numpy(value)
    if tensors:
        raise UmclError(
            f"weight file has a tensor the model does not: {sorted(tensors)[0]}",
            source.location,
            "pass an open-rppg PhysFormer .h5 file of the published architecture",
        )
    for key, value in own.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.zeros_like(value)
    missing = sorted(set(own) - set(state))
    if missing:
        raise UmclError(
            f"weight file gives no value for {missing[0]}",
            source.location,
            "build the PhysFormer at the published width (dim 96, ff 144, 12 layers)",
        )
    model.load_state_dict(state, strict=True)
    return source


def build_physformer(spec: str, frames: int = 160, image_size: int = 128, dropout: float = 0.1):
    """A published-width, 12-head PhysFormer (``io="standardized"``) with ``spec``'s weights loaded;
    returns ``(model, source)``."""
    from umcl.models.physformer import PhysFormer

    arch = OPEN_RPPG_ARCH
    model = PhysFormer(
        frames=frames,
        image_size=image_size,
        dim=arch["dim"],
        ff_dim=arch["ff_dim"],
        num_heads=arch["num_heads"],
        num_layers=arch["num_layers"],
        theta=arch["theta"],
        gra_sharp=arch["gra_sharp"],
        dropout=dropout,
        io="standardized",
    )
    return model, load_open_rppg(model, spec)


__all__ = [
    "OPEN_RPPG_WEIGHTS",
    "OPEN_RPPG_ARCH",
    "ENV_VAR",
    "WeightsSource",
    "locate_weights",
    "read_h5",
    "tensor_map",
    "load_open_rppg",
    "build_physformer",
]
