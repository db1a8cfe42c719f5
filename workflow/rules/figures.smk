# Figures 6, 8 and 9 (umcl.report.figures): each from trained runs (umcl.protocols.figures names them),
# never retrained; PNG + PDF + the data drawn (npz/csv) + the numbers beside the picture (json/md).
# The PNGs and number captions are report() outputs: `snakemake --report reports/report.html`.
from umcl.protocols.figures import figure_specs

FIGURES = figure_specs(WF)


def figure_inputs(wildcards):
    spec = FIGURES[wildcards.figure]
    inputs = {"config": ancient(RESOLVED), "runs": [L.selection(r) for r in spec.runs.values()]}
    if spec.needs_features:
        inputs["manifest"] = manifest_of_role("ff++")
    return inputs


def figure_args(wildcards):
    """`umcl figure` options: TITLE=RUN pairs, and for the t-SNE figures the test selection."""
    spec = FIGURES[wildcards.figure]
    runs = " ".join(f"'{title}={L.run_dir(run)}'" for title, run in spec.runs.items())
    args = f"--runs {runs}"
    if spec.needs_features:
        args += f" --test-compressions {' '.join(spec.test_compressions)}"
        if spec.methods:
            args += f" --methods {' '.join(spec.methods)}"
    return args


rule figure_tsne:
    input:
        unpack(figure_inputs),
    output:
        png=report(L.report_prefix("{figure}") + ".png", caption="../report/figure.rst", category="Figures"),
        pdf=L.report_prefix("{figure}") + ".pdf",
        data=L.report_prefix("{figure}") + ".npz",
        json=L.report_prefix("{figure}") + ".json",
        md=report(L.report_prefix("{figure}") + ".md", caption="../report/figure_numbers.rst", category="Figures"),
    wildcard_constraints:
        figure="figure6|figure8",
    params:
        args=figure_args,
        prefix=lambda wc, output: os.path.splitext(output.png)[0],
    log:
        L.log("figure", "{figure}"),
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
        png=report(L.report_prefix("{figure}") + ".png", caption="../report/figure.rst", category="Figures"),
        pdf=L.report_prefix("{figure}") + ".pdf",
        data=report(L.report_prefix("{figure}") + ".csv", caption="../report/figure_numbers.rst",
                    category="Figures"),
        json=L.report_prefix("{figure}") + ".json",
        md=L.report_prefix("{figure}") + ".md",
    wildcard_constraints:
        figure="figure9",
    params:
        args=figure_args,
        prefix=lambda wc, output: os.path.splitext(output.png)[0],
    log:
        L.log("figure", "{figure}"),
    threads: 1
    resources:
        **res("report"),
    conda:
        "../envs/umcl.yaml"
    shell:
        "umcl figure {wildcards.figure} --config {input.config} {params.args} --out {params.prefix} > {log} 2>&1"
