"""The protocol layer: run/evaluation keys, training variants, per-table protocols and the job sheet."""
