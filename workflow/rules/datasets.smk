# Datasets: the audio on disk (demo, FSDKaggle2018 or ESC-50 download, or your folder) and
# the subset.


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


rule download_esc50:
    output:
        data=directory("resources/ESC-50/data"),
    log:
        "logs/download_esc50/ESC-50.log",
    benchmark:
        "results/benchmarks/download_esc50/ESC-50.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        root=lambda wildcards, output: Path(output.data).parent,
        url=DATASET.get("esc50", {}).get("url"),
        md5=DATASET.get("esc50", {}).get("md5"),
        download=get_http_download_options(),
    script:
        "../scripts/download_esc50.py"


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
        include_test_clips=INCLUDE_TEST_CLIPS,
        manually_verified_only=config["manually_verified_only"],
        # snakemake compares params by value: only what the kind reads (None for demo and
        # fsdkaggle2018), so a setting it ignores does not redo finished runs
        catalog=get_catalog_settings(),
    script:
        "../scripts/select_subset.py"


rule download_audio:
    input:
        subset=rules.select_subset.output.subset,
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
