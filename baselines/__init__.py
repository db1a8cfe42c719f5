"""Baseline detectors (Xception, LRNet, CPML), registered under the same contract as UMCL."""
