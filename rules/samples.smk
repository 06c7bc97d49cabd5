# Every precision on a few images, drawn with class names and scores.


rule samples:
    input:
        xml=PATHS.ir_xml("{model}", "{precision}"),
        annotations=coco_annotations(),
        images=coco_images(),
        eval_ids=PATHS.eval_ids(PRIMARY_DATASET),
    output:
        report(
            directory(PATHS.samples_dir("{model}", "{precision}")),
            patterns=["{name}.jpg"],
            category="Samples",
            subcategory="{model} {precision}",
            caption="../report/samples.rst",
        ),
    log:
        PATHS.log("{model}/samples_{precision}"),
    conda:
        "../envs/openvino.yaml"
    threads: 1
    params:
        preprocessing=lambda wc: model_spec(wc.model).input,
        labels=lambda wc: model_spec(wc.model).labels,
        n_images=config["samples"]["count"],
        image_ids=config["samples"]["image_ids"],
        score_threshold=config["samples"]["score_threshold"],
        device=config["inference"]["device"],
        precision_hint=config["inference"]["precision_hint"],
    script:
        "../scripts/samples.py"
