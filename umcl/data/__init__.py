"""Data: SynthFF generation, compression, dataset adapters, manifests, preprocessing."""
