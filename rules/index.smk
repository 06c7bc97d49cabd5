# The index page: every model's headline (verdict, ΔAP, speed-ups, size), linking its report.


rule index:
    input:
        unpack(index_inputs),
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
    params:
        models=MODELS,
    script:
        "../scripts/index.py"
