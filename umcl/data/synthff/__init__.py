"""SynthFF: a procedural, seeded dataset of face videos shaped like FaceForensics++.

See docs/synthff.md. Entry points: :class:`SynthFFConfig` and :func:`generate`.
"""

from umcl.data.synthff.config import FF_METHODS, VARIANTS, SynthFFConfig
from umcl.data.synthff.generate import generate, make_pairs, plan, video_paths
from umcl.specs.splits import split_pairs

__all__ = ["FF_METHODS", "VARIANTS", "SynthFFConfig", "generate", "make_pairs", "plan", "split_pairs", "video_paths"]
