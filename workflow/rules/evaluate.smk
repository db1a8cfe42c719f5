# Evaluation: every trained run on every test compression → scores.csv + metrics.json.


rule evaluate:
    input:
        config=ancient(RESOLVED),
        manifest=L.preprocessed,
        selection=L.selection("{detector}", "{train}", "{seed}"),
    output:
        metrics=L.metrics("{detector}", "{train}", "{seed}", "{test}"),
        scores=L.scores("{detector}", "{train}", "{seed}", "{test}"),
    params:
        run=lambda wc, input: os.path.dirname(input.selection),
        out=lambda wc, output: os.path.dirname(output.metrics),
        settings=settings("evaluation"),
    log:
        L.log("evaluate", "{detector}", "{train}", "seed{seed}", "{test}"),
    threads: threads_of("evaluate")
    resources:
        **res("evaluate"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "OMP_NUM_THREADS={threads} umcl evaluate --config {input.config} --run {params.run} "
        "--manifest {input.manifest} --test-compression {wildcards.test} --out {params.out} "
        "--no-progress > {log} 2>&1"
