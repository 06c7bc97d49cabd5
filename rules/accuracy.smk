# COCO bbox accuracy of every precision on every evaluation set, and each precision vs FP32.
# Detection can be split into `accuracy.shards` jobs (e.g. on a cluster); their detections are
# merged before COCOeval, so the metrics do not depend on the sharding.

SHARDS = config["accuracy"]["shards"]


rule detect:
    input:
        xml=PATHS.ir_xml("{model}", "{precision}"),
        annotations=lambda wc: dataset_annotations(wc.dataset),
        images=lambda wc: dataset_images(wc.dataset),
        eval_ids=PATHS.eval_ids("{dataset}"),
    output:
        temp(
            PATHS.detection_shard(
                "{model}", "{dataset}", "{precision}", "{shard}", "{shards}"
            )
        ),
    log:
        PATHS.log("{model}/detect_{dataset}_{precision}_{shard}of{shards}"),
    benchmark:
        PATHS.usage("detect", "{model}/{dataset}_{precision}_{shard}of{shards}")
    conda:
        "../envs/openvino.yaml"
    threads: ALL_CORES
    resources:
        mem_mb=lambda wc, input: sizing.mem_mb(
            "detect", eval_images(input.eval_ids) / int(wc.shards)
        ),
        runtime=lambda wc, input, threads: sizing.runtime(
            "detect", eval_images(input.eval_ids) / int(wc.shards), threads
        ),
    params:
        device=config["inference"]["device"],
        precision_hint=config["inference"]["precision_hint"],
        preprocessing=lambda wc: model_spec(wc.model).input,
        labels=lambda wc: model_spec(wc.model).labels,
        only_model_classes=config["accuracy"]["only_model_classes"],
    script:
        "../scripts/detect.py"


rule accuracy:
    input:
        shards=expand(
            PATHS.detection_shard(
                "{{model}}", "{{dataset}}", "{{precision}}", "{shard}", str(SHARDS)
            ),
            shard=range(SHARDS),
        ),
        annotations=lambda wc: dataset_annotations(wc.dataset),
        eval_ids=PATHS.eval_ids("{dataset}"),
    output:
        detections=PATHS.detections("{model}", "{dataset}", "{precision}"),
        accuracy=report(
            PATHS.accuracy("{model}", "{dataset}", "{precision}"),
            category="Accuracy",
            subcategory="{dataset}",
            caption="../report/accuracy.rst",
        ),
    log:
        PATHS.log("{model}/accuracy_{dataset}_{precision}"),
    benchmark:
        PATHS.usage("accuracy", "{model}/{dataset}_{precision}")
    conda:
        "../envs/openvino.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, input: sizing.mem_mb("accuracy", eval_images(input.eval_ids)),
        runtime=lambda wc, input: sizing.runtime(
            "accuracy", eval_images(input.eval_ids)
        ),
    params:
        device=config["inference"]["device"],
        precision_hint=config["inference"]["precision_hint"],
        selection=lambda wc: dataset_selection(wc.dataset),
        labels=lambda wc: model_spec(wc.model).labels,
        only_model_classes=config["accuracy"]["only_model_classes"],
    script:
        "../scripts/accuracy.py"


# Inputs: each precision's accuracy record and detections, named by ovflow.paths.input_key.
rule accuracy_delta:
    input:
        **{
            input_key(kind, p): path("{model}", "{dataset}", p)
            for p in PRECISIONS
            for kind, path in (
                ("accuracy", PATHS.accuracy),
                ("detections", PATHS.detections),
            )
        },
        annotations=lambda wc: dataset_annotations(wc.dataset),
        eval_ids=PATHS.eval_ids("{dataset}"),
    output:
        report(
            PATHS.accuracy_delta("{model}", "{dataset}"),
            category="Accuracy",
            subcategory="{dataset}",
            caption="../report/accuracy_delta.rst",
        ),
    log:
        PATHS.log("{model}/accuracy_delta_{dataset}"),
    benchmark:
        PATHS.usage("accuracy_delta", "{model}/{dataset}")
    conda:
        "../envs/openvino.yaml"
    # The bootstrap scores its resamples on every thread it is given.
    threads: ALL_CORES
    resources:
        mem_mb=lambda wc, input: sizing.mem_mb(
            "accuracy_delta", delta_work(input.eval_ids)
        ),
        runtime=lambda wc, input, threads: sizing.runtime(
            "accuracy_delta", delta_work(input.eval_ids), threads
        ),
    params:
        precisions=PRECISIONS,
        resamples=config["accuracy"]["bootstrap_resamples"],
        seed=config["accuracy"]["seed"],
        labels=lambda wc: model_spec(wc.model).labels,
        only_model_classes=config["accuracy"]["only_model_classes"],
    script:
        "../scripts/accuracy_delta.py"
