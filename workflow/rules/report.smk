# Reports: the paper's Table 3 beside ours (reports/table3.* for the default profile,
# reports/<profile>/table3.* for the others).


rule report_table3:
    input:
        config=ancient(RESOLVED),
        metrics=L.metrics_files(),
    output:
        tex=f"{L.report_prefix}.tex",
        md=f"{L.report_prefix}.md",
        json=f"{L.report_prefix}.json",
    params:
        prefix=lambda wc, output: os.path.splitext(output.tex)[0],
        profile=PROFILE,
    log:
        L.log("report_table3"),
    threads: 1
    resources:
        **res("report"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "umcl report table3 --config {input.config} --metrics {input.metrics} --out {params.prefix} "
        "--profile {params.profile} > {log} 2>&1"
