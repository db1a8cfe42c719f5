# Pre-training of the P-encoder (PhysFormer) on the real training videos' pulse (section `pretrain`).


rule pretrain:
    input:
        config=ancient(RESOLVED),
        manifest=L.preprocessed_of(L.pretrain_part),
    output:
        L.pretrained,
    params:
        settings=settings("pretrain"),
    log:
        L.log("pretrain"),
    benchmark:
        L.benchmark("pretrain"),
    threads: threads_of("pretrain")
    priority: PRETRAIN_PRIORITY
    resources:
        **res("pretrain"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "OMP_NUM_THREADS={threads} umcl pretrain --config {input.config} --manifest {input.manifest} "
        "--out {output} --no-progress > {log} 2>&1"
