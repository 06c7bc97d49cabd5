# One comparison report per model: report.md, a self-contained report.html, its charts as
# PNGs (also in `snakemake --report`) and headline.yaml for the index page.

COMPARES = "FP32" in PRECISIONS and len(PRECISIONS) > 1


rule report:
    input:
        # Set by set, each set's precisions in order: scripts/report.py reads them so.
        accuracy=[PATHS.accuracy("{model}", d, p) for d in DATASETS for p in PRECISIONS],
        deltas=(
            expand(PATHS.accuracy_delta("{{model}}", "{dataset}"), dataset=DATASETS)
            if COMPARES
            else []
        ),
        benchmark=expand(
            PATHS.benchmark("{{model}}", "{precision}"), precision=PRECISIONS
        ),
        samples=expand(
            PATHS.samples_dir("{{model}}", "{precision}"), precision=PRECISIONS
        ),
        bins=expand(PATHS.ir_bin("{{model}}", "{precision}"), precision=PRECISIONS),
        quantization=(
            PATHS.quantization_info("{model}") if "INT8" in PRECISIONS else []
        ),
        pipeline=PATHS.pipeline_config("{model}"),
    output:
        md=PATHS.report_md("{model}"),
        html=report(
            PATHS.report_html("{model}"),
            category="Report",
            subcategory="{model}",
            caption="../report/report.rst",
        ),
        headline=PATHS.report_headline("{model}"),
        # Chart files are named after the charts ovflow.report draws (it checks they match).
        delta_plot=report(
            PATHS.plot("{model}", "delta_ap"),
            category="Plots",
            subcategory="{model}",
            caption="../report/delta_plot.rst",
        ),
        speed_plots=[
            report(
                PATHS.plot("{model}", mode),
                category="Plots",
                subcategory="{model}",
                caption="../report/speed_plot.rst",
            )
            for mode in ("throughput", "latency")
        ],
        class_plots=[
            report(
                PATHS.plot("{model}", f"class_delta_{d}"),
                category="Plots",
                subcategory="{model}",
                caption="../report/class_plot.rst",
            )
            for d in DATASETS
        ],
    log:
        PATHS.log("{model}/report"),
    benchmark:
        PATHS.usage("report", "{model}")
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=sizing.mem_mb("report"),
        runtime=sizing.runtime("report"),
    params:
        datasets=DATASETS,
        precisions=PRECISIONS,
        spec=lambda wc: model_spec(wc.model),
        config=config,
        commands=[reproduce_command(), f"{reproduce_command()} --report report.zip"],
    script:
        "../scripts/report.py"
