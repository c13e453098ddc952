# Pretraining: a waveform model's first layer(s) as an autoencoder's encoder, once per
# pretraining config and split (the train pool is that split's train clips only).


rule pretrain_frontend:
    input:
        cache="results/data/cache.pt",
        split="results/data/splits/{split}/split.csv",
    output:
        encoder="results/pretrain/{name}/{split}/encoder.pt",
        history="results/pretrain/{name}/{split}/history.csv",
    log:
        "logs/pretrain_frontend/{name}/{split}.log",
    benchmark:
        "results/benchmarks/pretrain_frontend/{name}/{split}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 8
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=0,
    params:
        name="{name}",
        settings=get_pretrain_settings,
        device=config["device"],
        seed=config["split"]["seed"],
    script:
        "../scripts/pretrain_frontend.py"
