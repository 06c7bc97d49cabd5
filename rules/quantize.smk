# FP32 IR → INT8 IR with NNCF post-training quantization.


rule quantize:
    input:
        xml=PATHS.ir_xml("{model}", "FP32"),
        bin=PATHS.ir_bin("{model}", "FP32"),
        calibration=PATHS.calibration_list,
    output:
        xml=PATHS.ir_xml("{model}", "INT8"),
        bin=PATHS.ir_bin("{model}", "INT8"),
    params:
        preset=config["quantization"]["preset"],
    log:
        PATHS.log("{model}/quantize"),
    threads: workflow.cores
    resources:
        mem_mb=6000,
    script:
        "../scripts/quantize.py"
