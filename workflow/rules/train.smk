# Training: one job per configured model, on the cached clips of the shared split.


rule train_model:
    input:
        cache="results/data/cache.pt",
        split="results/data/split.csv",
    output:
        model="results/models/{model}/model.pt",
        history="results/models/{model}/history.csv",
    log:
        "logs/train_model/{model}.log",
    benchmark:
        "results/benchmarks/train_model/{model}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 8
    params:
        model_name="{model}",
        settings=get_model_settings,
        clip_seconds=config["clip_seconds"],
        device=config["device"],
        seed=config["seed"],
    script:
        "../scripts/train_model.py"
