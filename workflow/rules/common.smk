# Helpers shared by the rules (functions only; paths come from umcl.workflow.Layout `L`).


def res(stage):
    """Scheduler resources of one stage, from workflow.resources.<stage>."""
    r = getattr(WF.resources, stage)
    return {"mem_mb": r.mem_mb, "gpu": r.gpu, "runtime": r.runtime}


def threads_of(stage):
    return getattr(WF.resources, stage).threads


def settings(*sections):
    """Hash of the config sections a step reads: the step re-runs when (only) they change."""
    return section_hash(CFG, *sections)


def uses_pretrained(detector):
    """Detectors whose encoders start from the pre-trained P-encoder."""
    return detector in ("umcl", "cpml")


def pretrain_outputs():
    return [L.pretrained] if any(uses_pretrained(d) for d in WF.detectors) else []


def detector_settings(detector):
    """Hash of the training section, this detector's section and pre-training when used."""
    parts = {"training": CFG.get("training"), "detector": (CFG.get("detectors") or {}).get(detector)}
    if uses_pretrained(detector):
        parts["pretrain"] = CFG.get("pretrain")
    return config_hash(parts)


def train_inputs(wildcards):
    inputs = {"config": ancient(RESOLVED), "manifest": L.preprocessed}
    if uses_pretrained(wildcards.detector):
        inputs["pretrained"] = L.pretrained
    return inputs


def job_overrides(wildcards, input):
    """--set arguments that point a detector at its pre-trained encoder."""
    if "pretrained" not in input.keys():
        return ""
    return f"--set detectors.{wildcards.detector}.physformer_path={input.pretrained}"


def methods_arg():
    return f"--methods {' '.join(WF.methods)}" if WF.methods else ""
