# Training: one job per detector × training compression × seed; the epoch is selected on the
# validation split of the training compression (never on a test set).


rule train:
    input:
        unpack(train_inputs),
    output:
        selection=L.selection("{detector}", "{train}", "{seed}"),
        best=L.best_checkpoint("{detector}", "{train}", "{seed}"),
        job_config=L.job_config("{detector}", "{train}", "{seed}"),
    params:
        run=lambda wc, output: os.path.dirname(output.selection),
        overrides=job_overrides,
        settings=lambda wc: detector_settings(wc.detector),
    log:
        L.log("train", "{detector}", "{train}", "seed{seed}"),
    threads: threads_of("train")
    resources:
        **res("train"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "(umcl validate-config --config {input.config} {params.overrides} --out {output.job_config} && "
        "OMP_NUM_THREADS={threads} umcl train --config {output.job_config} --detector {wildcards.detector} "
        "--manifest {input.manifest} --train-compression {wildcards.train} --seed {wildcards.seed} "
        "--out {params.run} --if-exists resume-or-restart --no-progress) > {log} 2>&1"
