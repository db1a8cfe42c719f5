"""Model architectures: one file per architecture (PhysFormer, LRNet, text encoder, UMCL)."""
