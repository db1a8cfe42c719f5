# Reports: each table of the job sheet beside the paper's values (reports/<table>.* for the default
# profile, reports/<profile>/<table>.* for the others), and reports/index.md linking them. A table
# whose datasets the profile lacks renders the paper's rows and says why ours are missing.


rule report:
    input:
        config=ancient(RESOLVED),
        evaluations=table_evaluations,
    output:
        tex=L.report_prefix("{table}") + ".tex",
        md=report(f"{L.report_prefix('{table}')}.md", caption="../report/table.rst", category="Tables"),
        json=L.report_prefix("{table}") + ".json",
    params:
        prefix=lambda wc, output: os.path.splitext(output.tex)[0],
        profile=PROFILE,
        evaluations=lambda wc, input: f"--evaluations {input.evaluations}" if input.evaluations else "",
    log:
        L.log("report", "{table}"),
    threads: 1
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
        evaluations=L.evaluation_files(),
    output:
        md=report(f"{L.claims}.md", caption="../report/claims.rst", category="Claims"),
        json=f"{L.claims}.json",
    params:
        prefix=lambda wc, output: os.path.splitext(output.json)[0],
        evaluations=lambda wc, input: f"--evaluations {input.evaluations}" if input.evaluations else "",
    log:
        L.log("report_claims"),
    threads: 1
    resources:
        **res("report"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "umcl report claims --config {input.config} {params.evaluations} --out {params.prefix} > {log} 2>&1"


rule report_index:
    input:
        [f"{L.report_prefix(t)}.json" for t in [*WF.tables, *L.figures]] + [f"{L.claims}.json"],
    output:
        L.index,
    params:
        profile=PROFILE,
    log:
        L.log("report_index"),
    threads: 1
    resources:
        **res("report"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "umcl report index --tables {input} --out {output} --profile {params.profile} > {log} 2>&1"
