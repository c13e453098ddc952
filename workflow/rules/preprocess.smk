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
    # Worker processes, forked from the parent (about 0.55 GB RSS with torch and the packed
    # cache): they run numpy only, and torch's pages stay shared with the parent. Each adds
    # about 20 MB of its own plus its clip's buffers: up to about 0.4 GB for a 600 s
    # (max_seconds) 44.1 kHz stereo file, measured, within the 500 MB per thread below.
    threads: 2
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
