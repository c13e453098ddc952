# The report: one self-contained HTML page comparing every configured model.


rule make_report:
    input:
        subset="results/data/subset.csv",
        clips="results/data/clips.csv",
        excluded="results/data/excluded.csv",
        split="results/data/split.csv",
        split_counts="results/data/split_counts.csv",
        cache="results/data/cache.pt",
        metrics=get_eval_outputs("metrics.json"),
        predictions=get_eval_outputs("predictions.csv"),
        history=get_model_outputs("history.csv"),
        models=get_model_outputs("model.pt"),
    output:
        html="results/report.html",
        figures=directory("results/report"),
    log:
        "logs/make_report/report.log",
    benchmark:
        "results/benchmarks/make_report/report.tsv"
    conda:
        "../../envs/report.yaml"
    params:
        model_names=MODELS,
        config=config,
        settings=config["report"],
    script:
        "../scripts/make_report.py"
