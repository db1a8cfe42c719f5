"""UMCL reproducibility suite: the method, its data path, training, evaluation and reports."""

__version__ = "0.1.0"
