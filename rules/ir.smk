# IR models (catalog source `ir`): their .xml and .bin fetched and checksum-verified, then
# checked and saved as the FP32 IR, where rule convert puts it for archive models.


rule fetch_ir:
    input:
        # A local file is an input, so replacing it reruns what depends on it.
        ir_local_files,
    output:
        xml=PATHS.ir_source("{model}", "xml"),
        bin=PATHS.ir_source("{model}", "bin"),
    log:
        PATHS.log("{model}/fetch_ir"),
    wildcard_constraints:
        model=models_from("ir"),
    conda:
        "../envs/data.yaml"
    threads: 1
    params:
        ir=lambda wc: model_spec(wc.model).ir,
        mirror=config["mirror"],
    script:
        "../scripts/fetch_ir.py"


rule import_ir:
    input:
        xml=PATHS.ir_source("{model}", "xml"),
        bin=PATHS.ir_source("{model}", "bin"),
    output:
        xml=PATHS.ir_xml("{model}", "FP32"),
        bin=PATHS.ir_bin("{model}", "FP32"),
        info=PATHS.conversion_info("{model}"),
    log:
        PATHS.log("{model}/import_ir"),
    wildcard_constraints:
        model=models_from("ir"),
    conda:
        "../envs/openvino.yaml"
    threads: 1
    params:
        spec=lambda wc: model_spec(wc.model),
    script:
        "../scripts/import_ir.py"
