# One comparison report per model.


rule report:
    input:
        accuracy=expand(
            PATHS.accuracy("{{model}}", PRIMARY_DATASET, "{precision}"),
            precision=PRECISIONS,
        ),
        extra_accuracy=expand(
            PATHS.accuracy("{{model}}", "{dataset}", "{precision}"),
            dataset=DATASETS[1:],
            precision=PRECISIONS,
        ),
        benchmark=expand(
            PATHS.benchmark("{{model}}", "{precision}"), precision=PRECISIONS
        ),
        samples=expand(
            PATHS.samples_dir("{{model}}", "{precision}"), precision=PRECISIONS
        ),
        deltas=(
            expand(PATHS.accuracy_delta("{{model}}", "{dataset}"), dataset=DATASETS)
            if "FP32" in PRECISIONS and len(PRECISIONS) > 1
            else []
        ),
        bins=expand(PATHS.ir_bin("{{model}}", "{precision}"), precision=PRECISIONS),
        archive=lambda wc: PATHS.download(model_spec(wc.model).archive.name),
        calibration=PATHS.calibration_list,
    output:
        md=PATHS.report_md("{model}"),
        html=report(
            PATHS.report_html("{model}"),
            category="Report",
            caption="../report/report.rst",
        ),
    log:
        PATHS.log("{model}/report"),
    conda:
        "../envs/report.yaml"
    threads: 1
    params:
        precisions=PRECISIONS,
        spec=lambda wc: model_spec(wc.model),
        config=config,
        command=reproduce_command(),
    script:
        "../scripts/report.py"
