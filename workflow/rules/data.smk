# Data stages: dataset -> subset -> packed cache of trimmed clips -> split.


rule make_demo_dataset:
    output:
        root=directory("resources/demo"),
    log:
        "logs/make_demo_dataset/demo.log",
    benchmark:
        "results/benchmarks/make_demo_dataset/demo.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        labels=get_demo_labels(),
        demo=DATASET.get("demo", {}),
    script:
        "../scripts/make_demo_dataset.py"


rule download_metadata:
    output:
        meta=directory("resources/FSDKaggle2018/FSDKaggle2018.meta"),
    log:
        "logs/download_metadata/FSDKaggle2018.log",
    benchmark:
        "results/benchmarks/download_metadata/FSDKaggle2018.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=15,
    params:
        root=lambda wildcards, output: Path(output.meta).parent,
        base_url=DATASET.get("base_url"),
        url_template=lambda wildcards: DATASET.get("url_template"),
        archive=DATASET.get("archives", {}).get("meta"),
        download=DATASET.get("download", {}),
    script:
        "../scripts/download_metadata.py"


rule select_subset:
    input:
        meta=get_meta_input(),
    output:
        subset="results/data/subset.csv",
    log:
        "logs/select_subset/subset.log",
    benchmark:
        "results/benchmarks/select_subset/subset.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        kind=KIND,
        labels=config["labels"],
        include_test_clips=config["include_test_clips"],
        manually_verified_only=config["manually_verified_only"],
        folder=get_folder_settings(),
    script:
        "../scripts/select_subset.py"


rule download_audio:
    input:
        subset="results/data/subset.csv",
    output:
        manifest="resources/FSDKaggle2018/clips_manifest.csv",
    log:
        "logs/download_audio/FSDKaggle2018.log",
    benchmark:
        "results/benchmarks/download_audio/FSDKaggle2018.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=180,
    params:
        root=lambda wildcards, output: Path(output.manifest).parent,
        base_url=DATASET.get("base_url"),
        url_template=lambda wildcards: DATASET.get("url_template"),
        archives=DATASET.get("archives"),
        download=DATASET.get("download", {}),
    script:
        "../scripts/download_audio.py"


rule preprocess_audio:
    input:
        subset="results/data/subset.csv",
        audio=get_audio_input(),
    output:
        cache="results/data/cache.pt",
        clips="results/data/clips.csv",
        excluded="results/data/excluded.csv",
    log:
        "logs/preprocess_audio/preprocess.log",
    benchmark:
        "results/benchmarks/preprocess_audio/preprocess.tsv"
    conda:
        "../../envs/preprocess.yaml"
    threads: 2  # worker processes; each holds torch (~0.7 GB RSS)
    resources:
        mem_mb=lambda wildcards, threads: 1500 + 500 * threads,
        runtime=30,
    params:
        sample_rate=config["preprocess"]["sample_rate"],
        top_db=config["preprocess"]["top_db"],
        pad_ms=config["preprocess"]["pad_ms"],
        mode=config["preprocess"]["mode"],
        max_excluded_fraction=config["preprocess"]["max_excluded_fraction"],
    script:
        "../scripts/preprocess_audio.py"


rule split_dataset:
    input:
        clips="results/data/clips.csv",
    output:
        split="results/data/split.csv",
        counts="results/data/split_counts.csv",
    log:
        "logs/split_dataset/split.log",
    benchmark:
        "results/benchmarks/split_dataset/split.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        fractions=config["split"]["fractions"],
        seed=config["split"]["seed"],
    script:
        "../scripts/split_dataset.py"


rule split_dataset_per_seed:
    input:
        clips="results/data/clips.csv",
    output:
        split="results/data/splits/seed{seed}/split.csv",
        counts="results/data/splits/seed{seed}/split_counts.csv",
    log:
        "logs/split_dataset_per_seed/seed{seed}.log",
    benchmark:
        "results/benchmarks/split_dataset_per_seed/seed{seed}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        fractions=config["split"]["fractions"],
        seed=lambda wildcards: int(wildcards.seed),
    script:
        "../scripts/split_dataset.py"


rule split_fold:
    input:
        subset="results/data/subset.csv",
        clips="results/data/clips.csv",
    output:
        split="results/data/splits/fold{fold}/split.csv",
        counts="results/data/splits/fold{fold}/split_counts.csv",
    log:
        "logs/split_fold/fold{fold}.log",
    benchmark:
        "results/benchmarks/split_fold/fold{fold}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        fold="{fold}",
        valid_fraction=get_fold_valid_fraction(),
        seed=config["split"]["seed"],
    script:
        "../scripts/split_fold.py"
