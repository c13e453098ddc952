# Evaluation of each trained model on the test split.


rule evaluate_model:
    input:
        cache="results/data/cache.pt",
        split="results/data/split.csv",
        model="results/models/{model}/model.pt",
        history="results/models/{model}/history.csv",
    output:
        predictions="results/eval/{model}/predictions.csv",
        metrics="results/eval/{model}/metrics.json",
    log:
        "logs/evaluate_model/{model}.log",
    benchmark:
        "results/benchmarks/evaluate_model/{model}.tsv"
    conda:
        "../../envs/evaluate.yaml"
    threads: 8
    params:
        eval_windows=config["evaluation"]["eval_windows"],
        batch_size=config["evaluation"]["batch_size"],
        device=config["device"],
    script:
        "../scripts/evaluate_model.py"
