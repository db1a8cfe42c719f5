"""68-point facial landmarks inside a given face box: dlib (offline default) or face-alignment FAN.

Both backends take the (square, interpolated) MTCNN box as the face region instead of running
their own face detector, so boxes and landmarks always refer to the same face:

- dlib: ``shape_predictor_68_face_landmarks.dat`` applied with the box as the ``dlib.rectangle``.
  The predictor was trained on dlib-HOG boxes, which are a little smaller than MTCNN's square
  boxes; we keep the MTCNN box (recorded in docs/deviations/data.md).
- FAN (face-alignment 2D-FAN-4): the box is handed over like ``face_detector='folder'`` does;
  the weights must already be on disk (never downloaded) or :class:`MissingWeightsError`.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from umcl.data.preprocess.config import PreprocessConfig
from umcl.errors import MissingWeightsError

DLIB_FILE = "shape_predictor_68_face_landmarks.dat"
FAN_FILE = "2DFAN4-11f355bf06.pth.tar"
DEBIAN_DLIB_DIR = Path("/usr/share/dlib")


class Landmarker(Protocol):
    """Maps an RGB frame and a face box (x1, y1, x2, y2) to float32 [68, 2] pixel coordinates."""

    name: str

    def __call__(self, frame: np.ndarray, box: np.ndarray) -> np.ndarray: ...


def find_dlib_predictor(user_path: str | os.PathLike | None = None) -> Path:
    """Locate the dlib 68-point model: ``user_path``, face-recognition-models, or libdlib-data."""
    if user_path is not None:
        path = Path(user_path).expanduser()
        if path.is_file():
            return path
        raise MissingWeightsError(
            "dlib 68-point predictor not found", path, f"set preprocess.dlib_predictor_path to an existing {DLIB_FILE}"
        )
    candidates = []
    spec = importlib.util.find_spec("face_recognition_models")  # importing it needs pkg_resources
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(loc) / "models" / DLIB_FILE for loc in spec.submodule_search_locations]
    candidates.append(DEBIAN_DLIB_DIR / DLIB_FILE)
    for path in candidates:
        if path.is_file():
            return path
    raise MissingWeightsError(
        f"{DLIB_FILE} not found (looked in {[str(c) for c in candidates]})",
        fix="pip install face-recognition-models, apt install libdlib-data, or set preprocess.dlib_predictor_path",
    )


def find_fan_weights(user_path: str | os.PathLike | None = None) -> Path:
    """Locate the 2D-FAN-4 weights: ``user_path`` or ``$TORCH_HOME/hub/checkpoints``; never download."""
    if user_path is not None:
        path = Path(user_path).expanduser()
    else:
        import torch.hub

        path = Path(torch.hub.get_dir()) / "checkpoints" / FAN_FILE
    if path.is_file():
        return path
    raise MissingWeightsError(
        "face-alignment FAN weights not found (they are never downloaded)",
        path,
        f"copy {FAN_FILE} there (or set preprocess.fan_weights_path), or use preprocess.landmark_backend: dlib",
    )


class DlibLandmarks:
    """dlib's 68-point shape predictor on a given box."""

    name = "dlib"

    def __init__(self, predictor_path: str | os.PathLike | None = None):
        import dlib

        self.path = find_dlib_predictor(predictor_path)
        self._rect = dlib.rectangle
        self._predictor = dlib.shape_predictor(str(self.path))

    def __call__(self, frame: np.ndarray, box: np.ndarray) -> np.ndarray:
        x1, y1, x2, y2 = (int(round(float(v))) for v in box)
        shape = self._predictor(np.ascontiguousarray(frame), self._rect(x1, y1, x2, y2))
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)


class FanLandmarks:
    """face-alignment's 2D-FAN-4 on a given box (no face detector, no download)."""

    name = "fan"

    def __init__(self, weights_path: str | os.PathLike | None = None, device: str = "cpu"):
        self.path = find_fan_weights(weights_path)
        self._fa = _local_fan(self.path, device)

    def __call__(self, frame: np.ndarray, box: np.ndarray) -> np.ndarray:
        box = np.asarray(box, dtype=np.float64)  # face-alignment's crop() rejects float32 scales
        result = self._fa.get_landmarks_from_image(np.ascontiguousarray(frame), detected_faces=[box])
        if not result:
            return np.full((68, 2), np.nan, dtype=np.float32)
        return np.asarray(result[0][:, :2], dtype=np.float32)


def _local_fan(weights: Path, device: str):
    """A ``FaceAlignment`` (2D, folder-style boxes, eager mode) whose FAN loads ``weights``."""
    import face_alignment
    import torch
    from face_alignment.models import FAN

    class _LocalFaceAlignment(face_alignment.FaceAlignment):
        def _load_native(self, network_name, network_size, device, dtype):  # noqa: ARG002
            net = FAN(network_size)
            net.load_state_dict(torch.load(weights, map_location=device, weights_only=True))
            return net.to(device, dtype=dtype).eval()

    return _LocalFaceAlignment(
        face_alignment.LandmarksType.TWO_D, device=device, face_detector="folder", flip_input=False, compile=False
    )


def build_landmarker(cfg: PreprocessConfig) -> Landmarker:
    """The backend named by ``cfg.landmark_backend``."""
    if cfg.landmark_backend == "fan":
        return FanLandmarks(cfg.fan_weights_path, cfg.device)
    return DlibLandmarks(cfg.dlib_predictor_path)


def detect_landmarks(frames: np.ndarray, boxes: np.ndarray, landmarker: Landmarker) -> np.ndarray:
    """float32 [T, 68, 2] landmarks in video pixels, one set per frame inside its box."""
    return np.stack([landmarker(f, b) for f, b in zip(frames, boxes, strict=True)]).astype(np.float32)
