# One comparison report per model: report.md, a self-contained report.html, its charts as
# PNGs (also in `snakemake --report`) and headline.yaml for the index page.

from ovflow.report_charts import DELTA_CHART, SPEED_CHARTS, chart_names, class_chart

# Each chart's PNG: an output named after the chart (scripts/report.py finds it so), captioned.
CAPTIONS = {
    DELTA_CHART: "delta_plot",
    **dict.fromkeys(SPEED_CHARTS, "speed_plot"),
    **{class_chart(d): "class_plot" for d in DATASETS},
}
PLOTS = {
    name: report(
        PATHS.plot("{model}", name),
        category="Plots",
        subcategory="{model}",
        caption=f"../report/{CAPTIONS[name]}.rst",
    )
    for name in chart_names(DATASETS)
}


rule report:
    input:
        unpack(report_inputs),
    output:
        **PLOTS,
        md=PATHS.report_md("{model}"),
        html=report(
            PATHS.report_html("{model}"),
            category="Report",
            subcategory="{model}",
            caption="../report/report.rst",
        ),
        headline=PATHS.report_headline("{model}"),
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
        meta=lambda wc: {
            "model": wc.model,
            "description": model_spec(wc.model).description,
            "max_drop": config["quantization"]["max_drop"],
            "sample_score_threshold": config["samples"]["score_threshold"],
            "config": config,
            "commands": [
                reproduce_command(),
                f"{reproduce_command()} --report report.zip",
            ],
        },
    script:
        "../scripts/report.py"
