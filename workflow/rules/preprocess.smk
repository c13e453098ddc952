# Preprocessing: every clip of the subset decoded, trimmed and packed into one cache.


rule preprocess_audio:
    input:
        subset=rules.select_subset.output.subset,
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
        "../../envs/torch.yaml"
    threads: 2  # worker processes; each holds torch (~0.7 GB RSS)
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
        max_excluded_fraction=config["preprocess"]["max_excluded_fraction"],
    script:
        "../scripts/preprocess_audio.py"
