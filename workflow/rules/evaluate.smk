# Evaluation: ONE job per trained run and test dataset scores the run's validation split (the ACC
# threshold's source) and every evaluation cell the job sheet asks of it on that dataset (all
# tables, all test compressions, subsets and test-time conditions) →
# eval/<run>/<testset>/evaluation.json (index), per-cell metrics.json, per-video scores. Split by
# test dataset so that a table on FF++ alone never waits for the cross-dataset data.


rule evaluate:
    input:
        config=ancient(RESOLVED),
        manifests=eval_manifests,
        selection=L.selection(RUN),
    output:
        L.evaluation(RUN, "{testset}"),
    params:
        run=lambda wc, input: os.path.dirname(input.selection),
        out=lambda wc, output: os.path.dirname(output[0]),
        key=RUN,
        tests=eval_tests,
        manifests=eval_manifest_args,
        settings=settings("evaluation"),
    log:
        L.log("evaluate", RUN, "{testset}"),
    benchmark:
        L.benchmark("evaluate", RUN, "{testset}"),
    threads: threads_of("evaluate")
    priority: first_table_priority
    resources:
        **res("evaluate"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "OMP_NUM_THREADS={threads} umcl evaluate --config {input.config} --run {params.run} "
        "--key {params.key} --tests {params.tests} --manifests {params.manifests} --out {params.out} "
        "--no-progress > {log} 2>&1"
