# COCO bbox accuracy of every precision on the evaluation images.


rule accuracy:
    input:
        xml=PATHS.ir_xml("{model}", "{precision}"),
        annotations=coco_annotations(),
        images=coco_images(),
        eval_ids=PATHS.eval_ids,
    output:
        detections=PATHS.detections("{model}", "{precision}"),
        accuracy=report(
            PATHS.accuracy("{model}", "{precision}"),
            category="Accuracy",
            caption="../report/accuracy.rst",
        ),
    log:
        PATHS.log("{model}/accuracy_{precision}"),
    conda:
        "../envs/openvino.yaml"
    threads: workflow.cores
    resources:
        mem_mb=4000,
    params:
        device=config["inference"]["device"],
        precision_hint=config["inference"]["precision_hint"],
        coco=config["coco"],
    script:
        "../scripts/accuracy.py"
