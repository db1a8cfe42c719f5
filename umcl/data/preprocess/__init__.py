"""Per-video preprocessing: MTCNN face crops, 68 landmarks, LRNet calibration, one ``.npz`` cache.

Modules, one job each:

- :mod:`.config`      ``PreprocessConfig`` (config section ``preprocess``)
- :mod:`.faces`       MTCNN boxes on key frames, interpolation/smoothing, square crops
- :mod:`.landmarks`   68-point landmarks (dlib default, face-alignment FAN optional)
- :mod:`.calibration` LRNet calibration (pyramidal LK + forward-backward check + Kalman merge)
- :mod:`.cache`       write/read the cache exactly as in ``docs/contracts.md``
- :mod:`.pipeline`    ``preprocess_video`` and ``preprocess_manifest``
"""

from umcl.data.preprocess.config import PreprocessConfig

__all__ = ["PreprocessConfig"]
