# Training: one job per run of the job sheet (umcl.protocols.sheet): detector[+variant] × training
# selection (dataset, methods, compression) × seed, each trained once whatever tables use it. The
# epoch is selected on the validation split of the training selection (never on a test set). The
# job's config (the resolved config with the run's --set overrides) is validated and written by the
# training process itself (`umcl train --config-out`): one process start-up per run.


rule train:
    input:
        unpack(train_inputs),
    output:
        selection=L.selection(RUN),
        best=L.best_checkpoint(RUN),
        job_config=L.job_config(RUN),
    params:
        run=lambda wc, output: os.path.dirname(output.selection),
        overrides=job_overrides,
        detector=lambda wc: run_of(wc).detector,
        compression=lambda wc: run_of(wc).train.compression,
        methods=lambda wc: methods_option(run_of(wc).train),
        settings=run_settings,
    log:
        L.log("train", RUN),
    benchmark:
        L.benchmark("train", RUN),
    threads: threads_of("train")
    priority: first_table_priority
    resources:
        **res("train"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "OMP_NUM_THREADS={threads} umcl train --config {input.config} {params.overrides} "
        "--config-out {output.job_config} --detector {params.detector} "
        "--manifest {input.manifest} --train-compression {params.compression} {params.methods} "
        "--seed {wildcards.seed} --out {params.run} --if-exists resume-or-restart --no-progress > {log} 2>&1"
