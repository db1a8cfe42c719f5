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


def pretrain_compression():
    return (CFG.get("pretrain") or {}).get("compression", "raw")


def part_compressions(part):
    """Compressions a data part needs: all of them for the main data, one for pre-training."""
    return WF.compressions if part == "data" else [pretrain_compression()]


def compress_levels(part):
    return [c for c in part_compressions(part) if c != "raw"]


def data_ready(wildcards):
    """The step after which a part's videos are on disk."""
    if L.dataset_of(wildcards.part) != "synthff":
        return L.stamp("check_data", wildcards.part)
    last = "compress" if compress_levels(wildcards.part) else "generate"
    return L.stamp(last, wildcards.part)


def train_inputs(wildcards):
    inputs = {"config": ancient(RESOLVED), "manifest": L.preprocessed}
    if uses_pretrained(wildcards.detector):
        inputs["pretrained"] = L.pretrained
        inputs["lrnet"] = L.best_checkpoint("lrnet", wildcards.train, wildcards.seed)
    return inputs


# detector -> (config key of the pre-trained P-encoder, config key of the L-encoder weights)
ENCODER_KEYS = {"umcl": ("physformer_weights", "lrnet_weights"), "cpml": ("physformer_path", "lrnet_path")}


def job_overrides(wildcards, input):
    """--set arguments pointing a detector at the pre-trained P-encoder and the LRNet run
    (same training compression and seed) that initialises its L-encoder."""
    if "pretrained" not in input.keys():
        return ""
    p_key, l_key = ENCODER_KEYS[wildcards.detector]
    det = f"detectors.{wildcards.detector}"
    return f"--set {det}.{p_key}={input.pretrained} --set {det}.{l_key}={input.lrnet}"


def methods_arg():
    return f"--methods {' '.join(WF.methods)}" if WF.methods else ""
