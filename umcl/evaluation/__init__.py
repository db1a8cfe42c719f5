"""Evaluation: per-video scores, metrics, provenance."""
