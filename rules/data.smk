# COCO val2017 and model archives: downloads, extraction, image selection.


rule download:
    output:
        PATHS.download("{filename}"),
    log:
        PATHS.log("download/{filename}"),
    conda:
        "../envs/data.yaml"
    threads: 1
    params:
        spec=lambda wc: archive_spec(wc.filename),
        mirror=config["mirror"],
    script:
        "../scripts/download.py"


rule extract_coco_images:
    input:
        PATHS.download(catalog.coco_archives()["images"].name),
    output:
        directory(PATHS.coco_images),
    log:
        PATHS.log("extract_coco_images"),
    conda:
        "../envs/data.yaml"
    threads: 1
    params:
        spec=catalog.coco_archives()["images"],
    script:
        "../scripts/extract_coco_images.py"


rule extract_coco_annotations:
    input:
        PATHS.download(catalog.coco_archives()["annotations"].name),
    output:
        PATHS.coco_annotations,
    log:
        PATHS.log("extract_coco_annotations"),
    conda:
        "../envs/data.yaml"
    threads: 1
    params:
        spec=catalog.coco_archives()["annotations"],
    script:
        "../scripts/extract_coco_annotations.py"


rule hold_out_calibration_images:
    input:
        annotations=coco_annotations(),
    output:
        PATHS.held_out_ids,
    log:
        PATHS.log("hold_out_calibration_images"),
    conda:
        "../envs/data.yaml"
    threads: 1
    params:
        reserve=settings.calibration_reserve(config),
        seed=config["coco"]["seed"],
    script:
        "../scripts/hold_out_calibration_images.py"


rule select_eval_images:
    input:
        annotations=lambda wc: dataset_annotations(wc.dataset),
        calibration=lambda wc: (
            PATHS.calibration_list if shares_calibration_folder(wc.dataset) else []
        ),
    output:
        PATHS.eval_ids("{dataset}"),
    log:
        PATHS.log("select_eval_images_{dataset}"),
    conda:
        "../envs/data.yaml"
    threads: 1
    params:
        max_images=lambda wc: dataset_selection(wc.dataset)["max_images"],
        reserve=lambda wc: dataset_selection(wc.dataset)["reserve"],
        seed=lambda wc: dataset_selection(wc.dataset)["seed"],
    script:
        "../scripts/select_eval_images.py"


rule select_calibration_images:
    input:
        annotations=coco_annotations(),
        images=config["calibration"]["images"] or coco_images(),
        held_out=[] if config["calibration"]["images"] else PATHS.held_out_ids,
    output:
        PATHS.calibration_list,
    log:
        PATHS.log("select_calibration_images"),
    conda:
        "../envs/data.yaml"
    threads: 1
    params:
        subset_size=config["calibration"]["subset_size"],
        seed=config["calibration"]["seed"],
    script:
        "../scripts/select_calibration.py"
