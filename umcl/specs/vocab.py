"""The suite's vocabulary, defined once: compressions, manipulation methods, datasets, detectors.

Every other module imports these names instead of spelling the values out (one vocabulary).
Dataset names are the manifest's ``dataset`` column and the adapters' names.
"""

from __future__ import annotations

from typing import Literal

#: FaceForensics++ compression levels (raw, HQ = c23, LQ = c40), in the paper's order
COMPRESSIONS: tuple[str, ...] = ("raw", "c23", "c40")
Compression = Literal["raw", "c23", "c40"]

#: the paper's four FF++ manipulation methods, in the paper's order
FF_METHODS: tuple[str, ...] = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")
#: every FF++ manipulation folder the adapter knows (FaceShifter is not used by the paper)
FF_ALL_METHODS: tuple[str, ...] = FF_METHODS + ("FaceShifter",)
#: the paper's short names of the FF++ methods (Tables 6, 10, 11 columns)
METHOD_ABBREV: dict[str, str] = {"Deepfakes": "DF", "Face2Face": "F2F", "FaceSwap": "FS", "NeuralTextures": "NT"}
#: the ``method`` of real (pristine) videos in every manifest
REAL_METHOD = "original"

#: datasets the adapters read (the manifest's ``dataset`` column)
DATASETS: tuple[str, ...] = ("synthff", "ff++", "dfd", "celebdf", "dfdc")
Dataset = Literal["synthff", "ff++", "dfd", "celebdf", "dfdc"]

#: detectors this suite trains (registry names, see umcl.registry)
DETECTORS: tuple[str, ...] = ("xception", "lrnet", "cpml", "umcl")
DetectorName = Literal["xception", "lrnet", "cpml", "umcl"]
#: detectors whose encoders start from the pre-trained P-encoder and an LRNet run's L-encoder
USES_PRETRAINED: tuple[str, ...] = ("umcl", "cpml", "umcl-released")
#: each of those detectors' config keys for (the pre-trained P-encoder, the LRNet run's L-encoder weights)
ENCODER_KEYS: dict[str, tuple[str, str]] = {
    "umcl": ("physformer_weights", "lrnet_weights"),
    "cpml": ("physformer_path", "lrnet_path"),
    "umcl-released": ("physformer_weights", "lrnet_weights"),
}
#: detectors that read facial landmarks (their ``inputs``; Table 7's landmark noise applies only to them)
READS_LANDMARKS: tuple[str, ...] = ("lrnet", "cpml", "umcl")


def method_abbrev(method: str) -> str:
    """``Deepfakes`` → ``DF``; unknown names are returned unchanged."""
    return METHOD_ABBREV.get(method, method)


def method_from_abbrev(abbrev: str) -> str:
    """``DF`` → ``Deepfakes`` (inverse of :func:`method_abbrev`)."""
    inverse = {v: k for k, v in METHOD_ABBREV.items()}
    return inverse.get(abbrev, abbrev)


#: environment variable naming the folder of cached prompt embeddings of the frozen text encoder
#: (umcl.models.text_encoder.prompt_embeddings; the pipeline sets it per profile: Layout.text_cache)
TEXT_CACHE_ENV = "UMCL_TEXT_CACHE"
