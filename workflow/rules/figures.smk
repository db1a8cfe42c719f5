# Figures 6, 8 and 9 (umcl.report.figures): each from trained runs (umcl.protocols.figures names them),
# never retrained; PNG + PDF + the data drawn (npz/csv) + the numbers beside the picture (json/md).
# The PNGs and number captions are report() outputs: `snakemake --report reports/report.html`.
# Functions: common.smk (figure_inputs, figure_args); FIGURES: the Snakefile.
FIGURE = L.report_prefix("{figure}")  # reports[/P]/{figure}


rule figure_tsne:
    input:
        unpack(figure_inputs),
    output:
        png=report(f"{FIGURE}.png", caption="../report/figure.rst", category="Figures"),
        pdf=f"{FIGURE}.pdf",
        data=f"{FIGURE}.npz",
        json=f"{FIGURE}.json",
        md=report(f"{FIGURE}.md", caption="../report/figure_numbers.rst", category="Figures"),
    wildcard_constraints:
        figure="figure6|figure8",
    params:
        args=figure_args,
        prefix=lambda wc, output: os.path.splitext(output.png)[0],
    log:
        L.log("figure", "{figure}"),
    benchmark:
        L.benchmark("figure", "{figure}"),
    threads: threads_of("evaluate")
    resources:
        **res("evaluate"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "OMP_NUM_THREADS={threads} umcl figure {wildcards.figure} --config {input.config} {params.args} "
        "--manifest {input.manifest} --out {params.prefix} > {log} 2>&1"


rule figure_affinity:
    input:
        unpack(figure_inputs),
    output:
        png=report(f"{FIGURE}.png", caption="../report/figure.rst", category="Figures"),
        pdf=f"{FIGURE}.pdf",
        data=report(f"{FIGURE}.csv", caption="../report/figure_numbers.rst",
                    category="Figures"),
        json=f"{FIGURE}.json",
        md=f"{FIGURE}.md",
    wildcard_constraints:
        figure="figure9",
    params:
        args=figure_args,
        prefix=lambda wc, output: os.path.splitext(output.png)[0],
    log:
        L.log("figure", "{figure}"),
    benchmark:
        L.benchmark("figure", "{figure}"),
    threads: 1
    resources:
        **res("report"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "umcl figure {wildcards.figure} --config {input.config} {params.args} --out {params.prefix} > {log} 2>&1"
