# FP32 IR → INT8 IR with NNCF post-training quantization.


rule quantize:
    input:
        xml=PATHS.ir_xml("{model}", "FP32"),
        bin=PATHS.ir_bin("{model}", "FP32"),
        calibration=PATHS.calibration_list,
    output:
        xml=PATHS.ir_xml("{model}", "INT8"),
        bin=PATHS.ir_bin("{model}", "INT8"),
    log:
        PATHS.log("{model}/quantize"),
    conda:
        "../envs/openvino.yaml"
    threads: workflow.cores
    resources:
        mem_mb=6000,
    params:
        preset=config["quantization"]["preset"],
        spec=lambda wc: model_spec(wc.model),
    script:
        "../scripts/quantize.py"
