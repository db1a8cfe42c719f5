# Issue 12's studies beyond the paper's tables (umcl.protocols.studies; their runs and evaluations are in
# the job sheet and go through the same train/evaluate rules as every table):
#   reports[/P]/paper_vs_released.{tex,md,json}  UMCL (paper) vs umcl-released, and the one-switch ablation
#   reports[/P]/leakage.{md,json}                checkpoint selection, CPML's label-fed classifier, leaked prompts
# plus the leakage audit's other checkpoints of each umcl-released selection run (one per audit scoring,
# umcl.training.scoring), scored by the same `umcl evaluate` (--selection selection_<scoring>.json) into
# results/P/eval_audit/<scoring>/. Functions: common.smk.


rule evaluate_audit:
    input:
        config=ancient(RESOLVED),
        manifests=audit_manifests,
        selection=L.selection(RUN),
    output:
        L.audit_evaluation(RUN, "{testset}", "{scoring}"),
    wildcard_constraints:
        scoring=one_of(LEAKAGE_AUDIT_SCORINGS),
    params:
        run=lambda wc, input: os.path.dirname(input.selection),
        out=lambda wc, output: os.path.dirname(output[0]),
        key=RUN,
        tests=audit_tests,
        manifests=audit_manifest_args,
        settings=settings("evaluation"),
        selection=lambda wc: audit_selection_files(wc.scoring)[0],
    log:
        L.log("evaluate_audit", RUN, "{testset}", "{scoring}"),
    benchmark:
        L.benchmark("evaluate_audit", RUN, "{testset}", "{scoring}"),
    threads: threads_of("evaluate")
    resources:
        **res("evaluate"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "OMP_NUM_THREADS={threads} umcl evaluate --config {input.config} --run {params.run} "
        "--key {params.key} --tests {params.tests} --manifests {params.manifests} --out {params.out} "
        "--selection {params.selection} --no-progress > {log} 2>&1"


rule report_paper_vs_released:
    input:
        config=ancient(RESOLVED),
        evaluations=L.evaluation_files(["paper_vs_released"]),
    output:
        tex=L.study_files("paper_vs_released")[0],
        md=L.study_files("paper_vs_released")[1],
        json=L.study_files("paper_vs_released")[2],
        html=report(L.study_files("paper_vs_released")[3], caption="../report/study.rst", category="Studies"),
    params:
        prefix=lambda wc, output: os.path.splitext(output.json)[0],
        profile=PROFILE,
        evaluations=lambda wc, input: f"--evaluations {input.evaluations}" if input.evaluations else "",
    log:
        L.log("report", "paper_vs_released"),
    benchmark:
        L.benchmark("report", "paper_vs_released"),
    threads: 1
    resources:
        **res("report"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "umcl report paper_vs_released --config {input.config} {params.evaluations} --out {params.prefix} "
        "--profile {params.profile} > {log} 2>&1"


rule report_leakage:
    input:
        config=ancient(RESOLVED),
        evaluations=L.evaluation_files(["leakage"]),
        audit=audit_files(),
    output:
        md=L.study_files("leakage")[0],
        json=L.study_files("leakage")[1],
        html=report(L.study_files("leakage")[2], caption="../report/study.rst", category="Studies"),
    params:
        prefix=lambda wc, output: os.path.splitext(output.json)[0],
        profile=PROFILE,
        evaluations=lambda wc, input: f"--evaluations {input.evaluations}" if input.evaluations else "",
        audit=lambda wc, input: f"--audit-evaluations {input.audit}" if input.audit else "",
    log:
        L.log("report", "leakage"),
    benchmark:
        L.benchmark("report", "leakage"),
    threads: 1
    resources:
        **res("report"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "umcl report leakage --config {input.config} {params.evaluations} {params.audit} --out {params.prefix} "
        "--profile {params.profile} > {log} 2>&1"


# reports[/P]/pulse.{md,json,png}: SynthFF's pulse read zero-shot by open-rppg's PURE/RLAP PhysFormers and
# POS/CHROM/GREEN (umcl.pulse_study) on a SynthFF set of its own (workflow.pulse_study; the pipeline's clips
# are too short for a 160-frame window). Built by `rule all` when workflow.pulse_study.enabled.
rule report_pulse:
    input:
        config=ancient(RESOLVED),
    output:
        md=L.pulse_files[0],
        json=L.pulse_files[1],
        png=L.pulse_files[2],
    params:
        prefix=lambda wc, output: os.path.splitext(output.json)[0],
        work=L.pulse_work,
    log:
        L.log("report", "pulse"),
    benchmark:
        L.benchmark("report", "pulse"),
    # all of the data stages' cores: with one, it starts in the first free core of the run and holds back the
    # data stages (which need them all) until it ends; with them, it waits its turn after the first table
    threads: threads_of("generate")
    resources:
        **res("evaluate"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "OMP_NUM_THREADS={threads} umcl pulse-study --config {input.config} --work {params.work} "
        "--out {params.prefix} > {log} 2>&1"
