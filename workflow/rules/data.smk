# Data: resolve config → (SynthFF: generate → compress | FF++: fetch/check) → manifest → preprocess.


rule resolve_config:
    input:
        profile=CONFIG_FILES[0],
        parents=CONFIG_FILES[1:],
    output:
        RESOLVED,
    log:
        L.log("resolve_config"),
    threads: 1
    resources:
        mem_mb=500,
        gpu=0,
        runtime=5,
    conda:
        "../envs/umcl.yaml"
    shell:
        "umcl validate-config --config {input.profile} --out {output} > {log} 2>&1"


if WF.dataset == "synthff":

    rule generate:
        input:
            ancient(RESOLVED),
        output:
            touch(L.stamp("generate")),
        params:
            root=L.root,
            settings=settings("synthff"),
        log:
            L.log("generate"),
        threads: threads_of("generate")
        resources:
            **res("generate"),
        conda:
            "../envs/umcl.yaml"
        shell:
            "OMP_NUM_THREADS={threads} umcl generate --config {input} --out {params.root} > {log} 2>&1"

    rule compress:
        input:
            config=ancient(RESOLVED),
            raw=L.stamp("generate"),
        output:
            touch(L.stamp("compress")),
        params:
            root=L.root,
            levels=[c for c in WF.compressions if c != "raw"],
            settings=settings("compression"),
        log:
            L.log("compress"),
        threads: threads_of("compress")
        resources:
            **res("compress"),
        conda:
            "../envs/umcl.yaml"
        shell:
            "umcl compress --config {input.config} --root {params.root} --levels {params.levels} > {log} 2>&1"

    DATA_READY = L.stamp("compress")

else:

    rule check_data:
        # FF++ is never downloaded here: the user places it under workflow.root (docs/pipeline.md);
        # this checks the tree at run time, so a dry run works without the data.
        input:
            ancient(RESOLVED),
        output:
            touch(L.stamp("check_data")),
        params:
            dataset=WF.dataset,
            root=L.root,
            compressions=WF.compressions,
            methods=methods_arg(),
        log:
            L.log("check_data"),
        threads: 1
        resources:
            **res("manifest"),
        conda:
            "../envs/umcl.yaml"
        shell:
            "umcl fetch --dataset {params.dataset} --root {params.root} "
            "--compressions {params.compressions} {params.methods} > {log} 2>&1"

    DATA_READY = L.stamp("check_data")


rule manifest:
    input:
        DATA_READY,
    output:
        L.manifest,
    params:
        dataset=WF.dataset,
        root=L.root,
        compressions=WF.compressions,
        methods=methods_arg(),
    log:
        L.log("manifest"),
    threads: 1
    resources:
        **res("manifest"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "umcl manifest --dataset {params.dataset} --root {params.root} --out {output} "
        "--compressions {params.compressions} {params.methods} > {log} 2>&1"


rule preprocess:
    input:
        config=ancient(RESOLVED),
        manifest=L.manifest,
    output:
        manifest=L.preprocessed,
        cache=directory(L.cache),
    params:
        settings=settings("preprocess"),
    log:
        L.log("preprocess"),
    threads: threads_of("preprocess")
    resources:
        **res("preprocess"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "OMP_NUM_THREADS=1 umcl preprocess --config {input.config} --manifest {input.manifest} "
        "--out {output.cache} --out-manifest {output.manifest} --workers {threads} --no-progress "
        "> {log} 2>&1"
