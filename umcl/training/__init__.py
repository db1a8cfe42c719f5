"""Training: one trainer for every registered detector, the paper's schedule, balanced batches."""
