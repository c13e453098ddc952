# The report: one self-contained HTML page comparing every configured model.


rule make_report:
    input:
        subset="results/data/subset.csv",
        clips="results/data/clips.csv",
        excluded="results/data/excluded.csv",
        split=get_first_split("split.csv"),
        split_counts=get_first_split("split_counts.csv"),
        cache="results/data/cache.pt",
        metrics=get_eval_outputs("metrics.json"),
        predictions=get_eval_outputs("predictions.csv"),
        history=get_first_run_outputs("history.csv"),
        models=get_first_run_outputs("model.pt"),
        comparison="results/eval/comparison.json",
        curves="results/eval/curves.csv",
        encoders=[path for _, path in get_report_encoders()],
        benchmarks=get_benchmark_inputs(),
    output:
        html="results/report.html",
        figures=get_report_figures(),
    log:
        "logs/make_report/report.log",
    benchmark:
        "results/benchmarks/make_report/report.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        model_names=MODELS,
        encoder_names=[name for name, _ in get_report_encoders()],
        config=config,
        settings=config["report"],
    script:
        "../scripts/make_report.py"


onsuccess:
    if Path("results/report.html").exists():
        page = Path("results/report.html").resolve()
        print(f"\nThe report: {page}\nOpen it in a browser: {page.as_uri()}")
