# benchmark_app throughput/latency of every precision. A benchmark takes every
# core so no other job of this run distorts it.


rule benchmark:
    input:
        xml=PATHS.ir_xml("{model}", "{precision}"),
    output:
        report(
            PATHS.benchmark("{model}", "{precision}"),
            category="Benchmark",
            caption="../report/benchmark.rst",
        ),
    params:
        device=config["benchmark"]["device"],
        duration=config["benchmark"]["duration"],
        hint=config["benchmark"]["hint"],
    log:
        PATHS.log("{model}/benchmark_{precision}"),
    threads: workflow.cores
    resources:
        benchmark_slot=1,
    script:
        "../scripts/benchmark.py"
