# Pretraining: a waveform model's first layer(s) as an autoencoder's encoder, once per
# pretraining config and split for the train pool (that split's train clips only), once
# per config for a pool of its own (a folder of audio, or the labels left out), which is
# selected, fetched and decoded once into its own cache.


rule select_pool:
    input:
        meta=get_pool_meta_input,
    output:
        subset="results/pretrain/{name}/pool/subset.csv",
    log:
        "logs/select_pool/{name}.log",
    benchmark:
        "results/benchmarks/select_pool/{name}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        name="{name}",
        selection=get_pool_selection,
        kind=KIND,
    script:
        "../scripts/select_pool.py"


rule download_pool_audio:
    input:
        subset=rules.select_pool.output.subset,
        # after the dataset's own download: one job at a time on the archive and its limits
        after=rules.download_audio.output.manifest,
    output:
        manifest="resources/FSDKaggle2018/pools/{name}_manifest.csv",
    log:
        "logs/download_pool_audio/{name}.log",
    benchmark:
        "results/benchmarks/download_pool_audio/{name}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=180,
    params:
        root=lambda wildcards, output: Path(output.manifest).parent.parent,
        base_url=DATASET.get("base_url"),
        url_template=lambda wildcards: DATASET.get("url_template"),
        archives=DATASET.get("archives"),
        download=DATASET.get("download", {}),
    script:
        "../scripts/download_audio.py"


rule cache_pool:
    input:
        subset=rules.select_pool.output.subset,
        audio=get_pool_audio_input,
        dataset=rules.preprocess_audio.output.cache,
    output:
        cache="results/pretrain/{name}/pool/cache.pt",
        clips="results/pretrain/{name}/pool/clips.csv",
        excluded="results/pretrain/{name}/pool/excluded.csv",
    log:
        "logs/cache_pool/{name}.log",
    benchmark:
        "results/benchmarks/cache_pool/{name}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 2  # worker processes, as preprocess_audio
    resources:
        mem_mb=lambda wildcards, threads, attempt: (1500 + 500 * threads) * attempt,
        runtime=30,
    params:
        sample_rate=config["preprocess"]["sample_rate"],
        top_db=config["preprocess"]["top_db"],
        pad_ms=config["preprocess"]["pad_ms"],
        mode=config["preprocess"]["mode"],
        max_seconds=config["preprocess"]["max_seconds"],
        too_long=config["preprocess"]["too_long"],
        min_ms=config["preprocess"]["min_ms"],
    script:
        "../scripts/cache_pool.py"


rule pretrain_frontend:
    input:
        unpack(get_pretrain_input),
    output:
        encoder="results/pretrain/{name}/{scope}/encoder.pt",
        history="results/pretrain/{name}/{scope}/history.csv",
    log:
        "logs/pretrain_frontend/{name}/{scope}.log",
    benchmark:
        "results/benchmarks/pretrain_frontend/{name}/{scope}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 8
    resources:
        mem_mb=lambda wildcards, attempt: 8000 * attempt,
        runtime=120,
        gpu=0,
    params:
        name="{name}",
        settings=get_pretrain_settings,
        device=config["device"],
        seed=config["split"]["seed"],
        deterministic=config["deterministic"],
    script:
        "../scripts/pretrain_frontend.py"
