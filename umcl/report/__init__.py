"""Reports: the paper's published tables beside the pipeline's numbers (LaTeX and Markdown)."""
