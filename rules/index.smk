# The index page: every model's headline (verdict, ΔAP, speed-ups, size), linking its report.


rule index:
    input:
        headlines=expand(PATHS.report_headline("{model}"), model=MODELS),
        html=expand(PATHS.report_html("{model}"), model=MODELS),
        md=expand(PATHS.report_md("{model}"), model=MODELS),
    output:
        md=PATHS.index_md,
        html=report(
            PATHS.index_html,
            category="Report",
            subcategory="All models",
            caption="../report/index.rst",
        ),
    log:
        PATHS.log("index"),
    conda:
        "../envs/report.yaml"
    threads: 1
    script:
        "../scripts/index.py"
