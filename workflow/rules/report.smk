# Reports: each table of the job sheet beside the paper's values (reports/<table>.* for the default
# profile, reports/<profile>/<table>.* for the others), and reports/index.md linking them. A table
# whose datasets the profile lacks renders the paper's rows and says why ours are missing.


rule report:
    input:
        config=ancient(RESOLVED),
        evaluations=table_evaluations,
    output:
        tex=L.report_prefix("{table}") + ".tex",
        md=L.report_prefix("{table}") + ".md",
        json=L.report_prefix("{table}") + ".json",
        # the Markdown as a page: Snakemake's report shows HTML inline, Markdown only as a download
        html=report(f"{L.report_prefix('{table}')}.html", caption="../report/table.rst", category="Tables"),
    params:
        prefix=lambda wc, output: os.path.splitext(output.tex)[0],
        profile=PROFILE,
        evaluations=lambda wc, input: f"--evaluations {input.evaluations}" if input.evaluations else "",
    log:
        L.log("report", "{table}"),
    benchmark:
        L.benchmark("report", "{table}"),
    threads: 1
    priority: first_table_priority
    resources:
        **res("report"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "umcl report {wildcards.table} --config {input.config} {params.evaluations} --out {params.prefix} "
        "--profile {params.profile} > {log} 2>&1"


rule report_claims:
    input:
        config=ancient(RESOLVED),
        evaluations=L.claims_evaluation_files(),
    output:
        md=f"{L.claims}.md",
        json=f"{L.claims}.json",
        html=report(f"{L.claims}.html", caption="../report/claims.rst", category="Claims"),
    params:
        prefix=lambda wc, output: os.path.splitext(output.json)[0],
        evaluations=lambda wc, input: f"--evaluations {input.evaluations}" if input.evaluations else "",
    log:
        L.log("report_claims"),
    benchmark:
        L.benchmark("report_claims"),
    threads: 1
    resources:
        **res("report"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "umcl report claims --config {input.config} {params.evaluations} --out {params.prefix} > {log} 2>&1"


# Table 9 (paper §5.5): parameters, GFLOPs, inference throughput and peak memory of CPML and UMCL,
# measured by benchmarks/complexity.py on models built from their configs (no trained weights, no data).
# Size: workflow.table9_size (paper; smoke: small); the training-step timing is left out (--no-train).
# Its name is outside the `table` wildcard of `report` (the job sheet's tables), so no ambiguity.
rule report_table9:
    input:
        # from the repository (workflow.basedir), not the working directory: `snakemake --directory D`
        # runs elsewhere. It reads no config file: the size is a param (a change re-runs it).
        script=os.path.join(workflow.basedir, "benchmarks", "complexity.py"),
    output:
        md=L.complexity_files[0],
        json=L.complexity_files[1],
        html=report(L.complexity_files[2], caption="../report/table9.rst", category="Tables"),
        tex=L.complexity_files[3],
    params:
        prefix=lambda wc, output: os.path.splitext(output.json)[0],
        size=WF.table9_size,
    log:
        L.log("report_table9"),
    benchmark:
        L.benchmark("report_table9"),
    threads: threads_of("evaluate")  # forward passes of paper-size models, like the figures' feature runs
    resources:
        **res("evaluate"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "OMP_NUM_THREADS={threads} python {input.script} --size {params.size} --no-train --out {params.prefix} "
        "> {log} 2>&1"


rule report_index:
    input:
        index_summaries(),
    output:
        L.index,
    params:
        profile=PROFILE,
    log:
        L.log("report_index"),
    benchmark:
        L.benchmark("report_index"),
    threads: 1
    resources:
        **res("report"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "umcl report index --tables {input} --out {output} --profile {params.profile} > {log} 2>&1"
