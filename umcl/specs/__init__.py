"""The declaration layer: vocabulary, condition keys, the workflow config, the released switches and the
paper's tables. Torch-free; it imports nothing of the project outside itself, and everything else imports it."""
