# Model archive → frozen graph → FP32 IR (→ FP16 IR); IR models get their FP32 IR in ir.smk.


rule extract_model:
    input:
        lambda wc: PATHS.download(model_spec(wc.model).archive.name),
    output:
        graph=PATHS.frozen_graph("{model}"),
        pipeline=PATHS.pipeline_config("{model}"),
    log:
        PATHS.log("{model}/extract_model"),
    wildcard_constraints:
        model=models_from("archive"),
    conda:
        "../envs/openvino.yaml"
    threads: 1
    params:
        folder=lambda wc: model_spec(wc.model).archive.folder,
    script:
        "../scripts/extract_model.py"


rule convert:
    input:
        graph=PATHS.frozen_graph("{model}"),
        pipeline=PATHS.pipeline_config("{model}"),
    output:
        xml=PATHS.ir_xml("{model}", "FP32"),
        bin=PATHS.ir_bin("{model}", "FP32"),
        info=PATHS.conversion_info("{model}"),
    log:
        PATHS.log("{model}/convert"),
    benchmark:
        PATHS.usage("convert", "{model}")
    wildcard_constraints:
        model=models_from("archive"),
    conda:
        "../envs/openvino.yaml"
    threads: 1
    resources:
        mem_mb=sizing.mem_mb("convert"),
        runtime=sizing.runtime("convert"),
    params:
        spec=lambda wc: model_spec(wc.model),
        score_threshold=config["postprocess"]["score_threshold"],
    script:
        "../scripts/convert.py"


rule compress_fp16:
    input:
        xml=PATHS.ir_xml("{model}", "FP32"),
        bin=PATHS.ir_bin("{model}", "FP32"),
    output:
        xml=PATHS.ir_xml("{model}", "FP16"),
        bin=PATHS.ir_bin("{model}", "FP16"),
    log:
        PATHS.log("{model}/compress_fp16"),
    conda:
        "../envs/openvino.yaml"
    threads: 1
    script:
        "../scripts/compress_fp16.py"
