"""Regenerate tests/data/open_rppg_physformer.json: open-rppg's own Keras/JAX PhysFormer on a seeded clip.

Needs a SEPARATE environment with open-rppg's real runtime (never the project's .venv)::

    python3.11 -m venv /work/orppg-env
    /work/orppg-env/bin/pip install open-rppg==0.1.1        # pulls jax, keras, onnxruntime, ...
    PYTHONPATH=. KERAS_BACKEND=jax /work/orppg-env/bin/python tests/tools/open_rppg_reference.py

The input is :func:`umcl.pulse_synth.pulse_face_clip` with the seed and sizes stored in the JSON
(NumPy only, so it runs in that environment; the test regenerates it). open-rppg's ``PhysFormer``
class is built under Keras' float32 policy (the package sets mixed_float16 on import), its weights
loaded from the installed wheel, and called the way its ``load_PhysFormer_*`` helpers call it
(frames / 255, input and output standardisation inside ``PhysFormer.call``). The standardised BVP
of each weight file is written with the versions that produced it.
"""

from __future__ import annotations

import json
import os
import sys
from importlib import metadata
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from umcl.pulse_synth import pulse_face_clip  # noqa: E402

OUT = ROOT / "tests" / "data" / "open_rppg_physformer.json"
INPUT = {"frames": 160, "size": 128, "bpm": 75.0, "fps": 30.0, "seed": 7}


def main() -> None:
    from rppg import (
        models,  # open-rppg; importing it sets mixed_float16, so the policy is reset after
    )

    keras.mixed_precision.set_global_policy("float32")
    clip = pulse_face_clip(**INPUT).astype(np.float32)[None] / 255.0
    dist = metadata.distribution("open-rppg")
    out = {
        "input": INPUT,
        "versions": {
            "open-rppg": dist.version,
            "keras": keras.__version__,
            "jax": metadata.version("jax"),
            "backend": keras.backend.backend(),
        },
        "policy": "float32",
        "bvp": {},
    }
    for name in ("pure", "rlap"):
        model = models.PhysFormer()
        model(np.zeros((1, 160, 128, 128, 3), np.float32))
        model.load_weights(str(dist.locate_file(f"rppg/weights/PhysFormer.{name}.weights.h5")))
        bvp = np.asarray(model(clip, training=False))[0]
        out["bvp"][name] = [round(float(v), 6) for v in bvp]
        print(name, bvp[:4], flush=True)
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
