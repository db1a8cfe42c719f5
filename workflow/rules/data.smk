# Data: (the merged config is written by the Snakefile) (SynthFF: generate → compress | FF++: check the user's tree) → manifest
# → preprocess. `{part}` is `data` (the main dataset), for FF++ profiles `pretrain_data` (SynthFF
# with ground-truth pulse for P-encoder pre-training), and the cross-dataset parts `celebdf`, `dfd`,
# `dfdc` (SynthFF look-alikes on SynthFF profiles, the user's folders otherwise); see umcl/workflow.py.


rule generate:
    input:
        ancient(RESOLVED),
    output:
        touch(L.stamp("generate", "{part}")),
    params:
        root=lambda wc: L.root_of(wc.part),
        variant=lambda wc: variant_arg(wc.part),
        settings=settings("synthff"),
    log:
        L.log("generate", "{part}"),
    benchmark:
        L.benchmark("generate", "{part}"),
    threads: threads_of("generate")
    priority: first_table_priority
    resources:
        **res("generate"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "OMP_NUM_THREADS=1 umcl generate --config {input} --out {params.root} --workers {threads} {params.variant} "
        "> {log} 2>&1"


rule compress:
    input:
        L.stamp("generate", "{part}"),
    output:
        touch(L.stamp("compress", "{part}")),
    params:
        root=lambda wc: L.root_of(wc.part),
        levels=lambda wc: " ".join(compress_levels(wc.part)),
    log:
        L.log("compress", "{part}"),
    benchmark:
        L.benchmark("compress", "{part}"),
    threads: threads_of("compress")
    priority: first_table_priority
    resources:
        **res("compress"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "umcl compress --root {params.root} --levels {params.levels} --workers {threads} > {log} 2>&1"


rule check_data:
    # FF++ is never downloaded here: the user places it under workflow.root (docs/pipeline.md);
    # this checks the tree at run time, so a dry run works without the data.
    input:
        ancient(RESOLVED),
    output:
        touch(L.stamp("check_data", "{part}")),
    params:
        dataset=lambda wc: L.dataset_of(wc.part),
        root=lambda wc: L.root_of(wc.part),
        compressions=lambda wc: fetch_compressions(wc.part),
        methods=lambda wc: methods_arg() if wc.part == "data" else "",
    log:
        L.log("check_data", "{part}"),
    benchmark:
        L.benchmark("check_data", "{part}"),
    threads: 1
    resources:
        **res("manifest"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "umcl fetch --dataset {params.dataset} --root {params.root} "
        "{params.compressions} {params.methods} > {log} 2>&1"


rule manifest:
    wildcard_constraints:
        part=one_of(p for p in L.parts if p != PLATFORMS_PART),  # the platforms part's: rule platforms
    input:
        data_ready,
    output:
        L.manifest_of("{part}"),
    params:
        dataset=lambda wc: L.dataset_of(wc.part),
        root=lambda wc: L.root_of(wc.part),
        compressions=lambda wc: " ".join(part_compressions(wc.part)),
        methods=lambda wc: methods_arg() if wc.part == "data" else "",
    log:
        L.log("manifest", "{part}"),
    benchmark:
        L.benchmark("manifest", "{part}"),
    threads: 1
    priority: first_table_priority
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
        manifest=L.manifest_of("{part}"),
    output:
        manifest=L.preprocessed_of("{part}"),
        cache=directory(L.cache_of("{part}")),
    params:
        settings=settings("preprocess"),
    log:
        L.log("preprocess", "{part}"),
    benchmark:
        L.benchmark("preprocess", "{part}"),
    threads: threads_of("preprocess")
    priority: first_table_priority
    resources:
        **res("preprocess"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "umcl preprocess --config {input.config} --manifest {input.manifest} "
        "--out {output.cache} --out-manifest {output.manifest} --workers {threads} --no-progress "
        "> {log} 2>&1"


# Table U's test videos (umcl/data/platforms.py): the main part's raw test videos re-encoded at each platform
# level the profile tests (codecs at x264's c23/c40 bitrate, re-encoding chains), with their own manifest; the
# rule preprocess then treats them like every other part.
rule platforms:
    input:
        L.manifest_of(MAIN),
    output:
        L.manifest_of(PLATFORMS_PART),
    params:
        out=lambda wc, output: os.path.dirname(output[0]),
        levels=" ".join(L.platform_levels),
        subset=f"--max-videos {WF.platform_max_videos}" if WF.platform_max_videos else "",
    log:
        L.log("platforms"),
    benchmark:
        L.benchmark("platforms"),
    threads: threads_of("compress")
    resources:
        **res("compress"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "umcl platforms --manifest {input} --out {params.out} --levels {params.levels} --workers {threads} "
        "{params.subset} > {log} 2>&1"

