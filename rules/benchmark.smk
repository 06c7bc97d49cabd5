# benchmark_app throughput and latency of every precision, in every configuration a user
# compares (FP32 as true f32 and as the device default; FP16, INT8), repeated.


rule benchmark:
    input:
        xml=PATHS.ir_xml("{model}", "{precision}"),
        bin=PATHS.ir_bin("{model}", "{precision}"),
    output:
        report(
            PATHS.benchmark("{model}", "{precision}"),
            category="Benchmark",
            caption="../report/benchmark.rst",
        ),
    log:
        PATHS.log("{model}/benchmark_{precision}"),
    benchmark:
        PATHS.usage("benchmark", "{model}/{precision}")
    conda:
        "../envs/openvino.yaml"
    # All cores: the local scheduler never runs jobs whose threads add up to more than
    # --cores, so nothing else of this run shares the machine while a benchmark runs.
    threads: ALL_CORES
    resources:
        mem_mb=sizing.mem_mb("benchmark"),
        runtime=lambda wc: sizing.runtime("benchmark", benchmark_seconds(wc.precision)),
    params:
        settings=config["benchmark"],
    script:
        "../scripts/benchmark.py"
