# Helpers shared by the rules (functions only). Paths come from umcl.workflow.Layout `L`; which runs
# and evaluations exist comes from the job sheet `L.sheet` (umcl.protocols.sheet); a run's wildcards
# {model}/{train}/seed{seed} are its RunKey path (umcl.protocols.keys).
import json

from umcl.protocols.keys import DATASET_SLUG, RunKey
from umcl.protocols.studies import LEAKAGE_AUDIT_SCORINGS
from umcl.training.scoring import audit_files as audit_selection_files
from umcl.protocols.variants import get_variant
from umcl.specs.platforms import PLATFORM_LEVELS, PLATFORMS_PART
from umcl.specs.vocab import COMPRESSIONS, ENCODER_KEYS, USES_PRETRAINED
from umcl.specs.workflow import MAIN
from umcl.workflow import run_settings_hash, testset_of


def res(stage):
    """Scheduler resources of one stage, from workflow.resources.<stage>."""
    r = getattr(WF.resources, stage)
    return {"mem_mb": r.mem_mb, "gpu": r.gpu, "runtime": r.runtime}


def threads_of(stage):
    return getattr(WF.resources, stage).threads


def settings(*sections):
    """Hash of the config sections a step reads: the step re-runs when (only) they change."""
    return section_hash(CFG, *sections)


RUN = "{model}/{train}/seed{seed}"


def run_of(wildcards):
    return RunKey.from_parts(wildcards.model, wildcards.train, wildcards.seed)


def uses_pretrained(detector):
    """Detectors whose encoders start from the pre-trained P-encoder."""
    return detector in USES_PRETRAINED


def pretrain_outputs():
    return [L.pretrained] if any(uses_pretrained(r.detector) for r in L.runs()) else []


def run_settings(wildcards):
    """Hash of what a run's training reads (umcl.workflow.run_settings_hash): its own resolved training
    settings, its detector's section, its variant, pre-training where used."""
    return run_settings_hash(CFG, run_of(wildcards))


def pretrain_compression():
    return (CFG.get("pretrain") or {}).get("compression", "raw")


def part_compressions(part):
    """Compressions a data part's manifest lists (and so preprocessing reads): all of them for the main
    data, one for pre-training, the native one for a cross-dataset part (its tables test it there alone; a
    SynthFF look-alike is generated raw and compressed to it, and its raw videos are not preprocessed)."""
    if part == "data":
        return WF.compressions
    if part == "pretrain_data":
        return [pretrain_compression()]
    return [L.source_of_part(part).native]


def compress_levels(part):
    return [c for c in part_compressions(part) if c != "raw"]


def data_ready(wildcards):
    """The step after which a part's videos are on disk."""
    if L.dataset_of(wildcards.part) != "synthff":
        return L.stamp("check_data", wildcards.part)
    last = "compress" if compress_levels(wildcards.part) else "generate"
    return L.stamp(last, wildcards.part)


def fetch_compressions(part):
    """`umcl fetch --compressions` for a part (Celeb-DF and DFDC ship one version: no option)."""
    levels = [c for c in part_compressions(part) if c in COMPRESSIONS]
    return f"--compressions {' '.join(levels)}" if levels else ""


def variant_arg(part):
    v = L.variant_of(part)
    return f"--variant {v}" if v else ""


def manifest_of_role(role):
    return L.preprocessed_of(L.part_of(role))


def train_inputs(wildcards):
    run = run_of(wildcards)
    inputs = {"config": ancient(RESOLVED), "manifest": manifest_of_role(run.train.dataset)}
    if uses_pretrained(run.detector):
        inputs["pretrained"] = L.pretrained
        inputs["lrnet"] = L.best_checkpoint(run.initialiser)
    return inputs


def job_overrides(wildcards, input):
    """--set arguments: the run's training variant; for UMCL/CPML the pre-trained P-encoder (where it
    fits) and the LRNet run (same training selection and seed) that initialises the L-encoder; the
    profile's shared cache of frozen P-encoder trunks."""
    run = run_of(wildcards)
    args = [f"--set '{a}'" for a in (get_variant(run.variant).set_args() if run.variant else [])]
    det = f"detectors.{run.detector}"
    if "pretrained" in input.keys():
        p_key, l_key = ENCODER_KEYS[run.detector]
        if pretrained_p_encoder_fits(run.detector):
            args.append(f"--set {det}.{p_key}={input.pretrained}")
        args.append(f"--set {det}.{l_key}={input.lrnet}")
    if ((CFG.get("detectors") or {}).get(run.detector) or {}).get("physformer_train") == "head":
        args.append(f"--set {det}.trunk_cache={L.results}/trunk_cache")
    return " ".join(args)


#: the P-encoder settings that decide whether one PhysFormer's weights load into another
PHYSFORMER_SHAPE = ("physformer_dim", "physformer_ff_dim", "physformer_heads", "physformer_layers", "patch_size")


def pretrained_p_encoder_fits(detector):
    """Whether the pre-trained P-encoder (built with detectors.umcl's PhysFormer, umcl.training.pretrain)
    loads into ``detector``'s: the same width, heads, depth and patch size. Where a profile sizes a
    detector's PhysFormer smaller (the default's CPML and umcl-released), that P-encoder starts at
    random (docs/deviations/workflow.md); its L-encoder always starts from the LRNet run."""
    if detector == "umcl":
        return True
    dets = CFG.get("detectors") or {}
    mine, umcl = dets.get(detector) or {}, dets.get("umcl") or {}
    return all(mine.get(k) == umcl.get(k) for k in PHYSFORMER_SHAPE)


def methods_option(selection):
    return f"--methods {' '.join(selection.methods)}" if selection.methods else ""


def methods_arg():
    return f"--methods {' '.join(WF.methods)}" if WF.methods else ""


# The first table of `workflow.tables` (Table 3 on every shipped profile) is built first: the data, train
# and evaluate jobs it reads and its report outrank every other job (priority 1), so on a 2-core machine
# its report is ready long before the rest of the run (the scheduler starts the highest-priority ready
# job first). What its UMCL/CPML runs start from -- the P-encoder pre-training and the LRNet runs that
# initialise their L-encoders -- comes before the rest of it (priority 2): those jobs gate the others.
FIRST_TABLE = WF.tables[:1]
FIRST_TABLE_EVALS = {(k.run, testset_of(k)) for t in FIRST_TABLE
                     for c in L.sheet.cells.get(t, []) for k in c.keys}
FIRST_TABLE_RUNS = {run for run, _ in FIRST_TABLE_EVALS}
FIRST_TABLE_STARTS = {r.initialiser for r in FIRST_TABLE_RUNS if r.initialiser is not None}
PRETRAIN_PRIORITY = 2 if any(uses_pretrained(r.detector) for r in FIRST_TABLE_RUNS) else 0
FIRST_TABLE_PARTS = {L.part_of(r.train.dataset) for r in FIRST_TABLE_RUNS} | {
    L.part_of(k.test.dataset) for t in FIRST_TABLE for c in L.sheet.cells.get(t, []) for k in c.keys} | {L.pretrain_part}


def first_table_priority(wildcards):
    """Scheduling priority of a data, train, evaluate or report job: 2 for an LRNet run the first table's
    UMCL/CPML runs start from, 1 for anything else the first table needs, else 0."""
    if "part" in wildcards.keys():
        return int(wildcards.part in FIRST_TABLE_PARTS)
    if "table" in wildcards.keys():
        return int(wildcards.table in FIRST_TABLE)
    run = run_of(wildcards)
    if "testset" in wildcards.keys():
        return int((run, wildcards.testset) in FIRST_TABLE_EVALS)
    return 2 if run in FIRST_TABLE_STARTS else int(run in FIRST_TABLE_RUNS)


def eval_keys(wildcards):
    """The run's cells on the test dataset {testset} (one `umcl evaluate` process for all of them)."""
    return [k for k in L.sheet.evaluations[run_of(wildcards)] if testset_of(k) == wildcards.testset]


def eval_roles(wildcards):
    run = run_of(wildcards)
    return sorted({run.train.dataset} | {k.test.dataset for k in eval_keys(wildcards)})


def eval_manifest_pairs(wildcards):
    """(role, preprocessed manifest) of every role the run's cells read; FF++ twice when a cell tests a
    platform level (Table U's evaluate job, testset ``platforms``: its videos are the ``platforms`` part's)."""
    pairs = [(r, manifest_of_role(r)) for r in eval_roles(wildcards)]
    if any(k.test.compression in PLATFORM_LEVELS for k in eval_keys(wildcards)):
        pairs.append(("ff++", L.preprocessed_of(PLATFORMS_PART)))
    return pairs


def eval_manifests(wildcards):
    return [m for _, m in eval_manifest_pairs(wildcards)]


def eval_manifest_args(wildcards):
    return " ".join(f"{r}={m}" for r, m in eval_manifest_pairs(wildcards))


def eval_tests(wildcards):
    return " ".join(k.test_path for k in eval_keys(wildcards))


def table_evaluations(wildcards):
    return L.evaluation_files([wildcards.table])


def index_summaries():
    """The .json summary of every artefact `rule all` builds (tables, Table 9, figures, claims, studies,
    from L.all_report_files): reports/index.md gets one line per artefact (umcl.report.render.write_index)."""
    return list(dict.fromkeys(os.path.splitext(f)[0] + ".json" for f in L.all_report_files() if f != L.index))


# Figures (workflow/rules/figures.smk; FIGURES = umcl.protocols.figures.figure_specs in the Snakefile)
def figure_inputs(wildcards):
    spec = FIGURES[wildcards.figure]
    inputs = {"config": ancient(RESOLVED), "runs": [L.selection(r) for r in spec.runs.values()]}
    if spec.needs_features:
        inputs["manifest"] = manifest_of_role("ff++")
    return inputs


def figure_args(wildcards):
    """`umcl figure` options: TITLE=RUN pairs, and for the t-SNE figures the test selection."""
    spec = FIGURES[wildcards.figure]
    runs = " ".join(f"'{title}={L.run_dir(run)}'" for title, run in spec.runs.items())
    args = f"--runs {runs}"
    if spec.needs_features:
        args += f" --test-compressions {' '.join(spec.test_compressions)}"
        if spec.methods:
            args += f" --methods {' '.join(spec.methods)}"
    return args


# Studies (workflow/rules/studies.smk): the leakage audit's second checkpoint of each umcl-released
# selection run (umcl.protocols.studies, the leakage study's ``selection`` panel)
def audit_cells():
    """The evaluation keys whose audit checkpoint the leakage report reads (its ``selection`` panel)."""
    return list(dict.fromkeys(k for c in L.sheet.cells.get("leakage", []) if c.decl.panel == "selection"
                              for k in c.keys))


def audit_keys(wildcards):
    run = run_of(wildcards)
    return [k for k in audit_cells() if k.run == run and DATASET_SLUG[k.test.dataset] == wildcards.testset]


def audit_roles(wildcards):
    run = run_of(wildcards)
    return sorted({run.train.dataset} | {k.test.dataset for k in audit_keys(wildcards)})


def audit_files():
    return sorted({L.audit_evaluation(k.run, DATASET_SLUG[k.test.dataset], s) for k in audit_cells()
                   for s in LEAKAGE_AUDIT_SCORINGS})


def audit_manifests(wildcards):
    return [manifest_of_role(r) for r in audit_roles(wildcards)]


def audit_manifest_args(wildcards):
    return " ".join(f"{r}={manifest_of_role(r)}" for r in audit_roles(wildcards))


def audit_tests(wildcards):
    return " ".join(k.test_path for k in audit_keys(wildcards))
