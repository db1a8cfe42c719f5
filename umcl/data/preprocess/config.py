"""``PreprocessConfig``: the ``preprocess`` section of the config (paper values as defaults)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from umcl.errors import ConfigError


@dataclass(frozen=True)
class PreprocessConfig:
    """Settings of the per-video preprocessing.

    Paper values: ``num_frames`` 160 and ``crop_size`` 128 (UMCL §4, MTCNN crops for the
    P-encoder); ``xception_size`` 299 and ``xception_scale`` 1.3 (FF++ Xception baseline).
    The rest are choices the paper leaves open (docs/deviations/data.md, "Preprocessing").
    """

    num_frames: int = 160
    """T: the first T frames of each video are used; shorter videos are rejected."""
    crop_size: int = 128
    """S: side of the square RGB face crops (``faces``)."""
    xception_size: int = 299
    """X: side of the Xception crops (``xception_faces``)."""
    xception_frames: int = 8
    """F: number of evenly spaced frames (of the T) cropped for the Xception baseline."""
    xception_scale: float = 1.3
    """Enlargement of the square face box for the Xception crops."""
    face_scale: float = 1.0
    """Enlargement of the square face box for ``faces`` (1.0 = the MTCNN box made square)."""
    keyframe_interval: int = 1
    """Run MTCNN every N frames (1 = every frame); boxes in between are interpolated."""
    refine_boxes: bool = True
    """With ``keyframe_interval`` > 1: refine each in-between frame's interpolated box with MTCNN's
    R-net and O-net (its last two stages) and count the frame as found when both accept it."""
    detect_max_side: int = 0
    """With ``keyframe_interval`` > 1: run MTCNN on key frames down-scaled to this longer side
    (never below MTCNN's first pyramid scale 12 / ``min_face_size``, so no face size is lost) and
    refine their boxes on the full frame like the others; 0 = detect on the full frame."""
    region_margin: float = 0.0
    """With ``keyframe_interval`` > 1 and ``refine_boxes``: > 0 finds every frame's box with
    MTCNN's three stages restricted to a region around the interpolated box, enlarged by
    ``1 + 2 * region_margin`` (umcl/data/preprocess/mtcnn_region.py: per-frame MTCNN's own box
    when the face is inside the region); 0 = R-net + O-net started from the interpolated box."""
    region_interval: int = 1
    """With ``region_margin`` > 0: the region detection runs on every N-th frame (and the last one)
    and the boxes in between are interpolated from the frames where it found the face; 1 = every
    frame."""
    region_min_side: int = 0
    """With ``region_margin`` > 0: only videos whose shorter side has at least this many pixels use
    the region detection, the others R-net + O-net (0 = every video). Its cost hardly depends on the
    frame size, per-frame MTCNN's grows with it (docs/preprocessing.md)."""
    box_smoothing: int = 1
    """Centred moving-average window (frames, odd) over box centre and size; 1 = off."""
    detector_batch_size: int = 16
    """Frames per batched MTCNN call."""
    min_face_size: int = 40
    """MTCNN's smallest face (px). facenet-pytorch's default is 20; 40 skips the finest pyramid
    scales (faster; docs/deviations/data.md) and FF++ faces are larger than 60 px."""
    min_face_prob: float = 0.9
    """MTCNN probability below which a candidate face is ignored."""
    min_detection_rate: float = 0.5
    """Videos where MTCNN finds a face in fewer of the tried frames are rejected."""
    landmark_backend: Literal["dlib", "fan"] = "dlib"
    """68-point detector: dlib (offline default) or face-alignment FAN (needs local weights)."""
    dlib_predictor_path: str | None = None
    """Path to ``shape_predictor_68_face_landmarks.dat``; None = search the usual places."""
    fan_weights_path: str | None = None
    """Path to ``2DFAN4-*.pth.tar``; None = ``$TORCH_HOME/hub/checkpoints``."""
    calibrate: bool = True
    """Apply LRNet's LK + Kalman calibration (False: detector landmarks, normalised only)."""
    device: str = "cpu"
    """Torch device for MTCNN and FAN: ``cpu``, ``cuda[:N]`` or ``auto`` (GPU when present)."""

    def __post_init__(self) -> None:
        checks = {  # name -> (within range, the range in words)
            "num_frames": (self.num_frames >= 2, ">= 2"),
            "crop_size": (self.crop_size >= 8, ">= 8"),
            "xception_size": (self.xception_size >= 8, ">= 8"),
            "xception_frames": (0 <= self.xception_frames <= self.num_frames, "in [0, num_frames]"),
            "xception_scale": (self.xception_scale > 0, "> 0"),
            "face_scale": (self.face_scale > 0, "> 0"),
            "keyframe_interval": (self.keyframe_interval >= 1, ">= 1"),
            "region_margin": (self.region_margin >= 0, ">= 0"),
            "region_interval": (self.region_interval >= 1, ">= 1"),
            "region_min_side": (self.region_min_side >= 0, ">= 0"),
            "box_smoothing": (self.box_smoothing >= 1 and self.box_smoothing % 2 == 1, "an odd number >= 1"),
            "detect_max_side": (self.detect_max_side == 0 or self.detect_max_side >= 12, "0 or >= 12"),
            "detector_batch_size": (self.detector_batch_size >= 1, ">= 1"),
            "min_face_size": (self.min_face_size >= 12, ">= 12"),
            "min_face_prob": (0.0 <= self.min_face_prob <= 1.0, "in [0, 1]"),
            "min_detection_rate": (0.0 <= self.min_detection_rate <= 1.0, "in [0, 1]"),
            "landmark_backend": (self.landmark_backend in ("dlib", "fan"), "dlib or fan"),
        }
        bad = {name: rule for name, (ok, rule) in checks.items() if not ok}
        if bad:
            said = "; ".join(
                f"preprocess.{name} must be {rule}, got {getattr(self, name)!r}" for name, rule in bad.items()
            )
            raise ConfigError(
                said, fix="set " + " and ".join(f"preprocess.{name}" for name in bad) + " within that range"
            )

    def to_dict(self) -> dict:
        """Plain mapping (for the cache's ``meta`` and provenance)."""
        return dataclasses.asdict(self)

    def replace(self, **changes) -> PreprocessConfig:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)
