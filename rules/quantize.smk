# FP32 IR → INT8 IR with NNCF post-training quantization.


rule quantize:
    input:
        xml=PATHS.ir_xml("{model}", "FP32"),
        bin=PATHS.ir_bin("{model}", "FP32"),
        calibration=PATHS.calibration_list,
        annotations=(
            calibration_annotations()
            if config["quantization"]["mode"] == "accuracy_control"
            else []
        ),
    output:
        xml=PATHS.ir_xml("{model}", "INT8"),
        bin=PATHS.ir_bin("{model}", "INT8"),
        info=PATHS.quantization_info("{model}"),
    log:
        PATHS.log("{model}/quantize"),
    benchmark:
        PATHS.usage("quantize", "{model}")
    conda:
        "../envs/openvino.yaml"
    threads: ALL_CORES
    resources:
        mem_mb=sizing.mem_mb("quantize", config["calibration"]["subset_size"]),
        runtime=lambda wc, threads: sizing.runtime(
            "quantize", config["calibration"]["subset_size"], threads
        ),
    params:
        quantization=config["quantization"],
        spec=lambda wc: model_spec(wc.model),
        # Read by accuracy control's validation only: no rerun of default mode when it changes.
        only_model_classes=(
            config["accuracy"]["only_model_classes"]
            if config["quantization"]["mode"] == "accuracy_control"
            else None
        ),
    script:
        "../scripts/quantize.py"
