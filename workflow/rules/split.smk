# Split: one stratified (or official) split per split seed, or one per cross-validation fold.


rule split_dataset:
    input:
        subset=rules.select_subset.output.subset,
        clips=rules.preprocess_audio.output.clips,
    output:
        split="results/data/splits/{split}/split.csv",
        counts="results/data/splits/{split}/split_counts.csv",
    log:
        "logs/split_dataset/{split}.log",
    benchmark:
        "results/benchmarks/split_dataset/{split}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        split_id="{split}",
        fractions=config["split"]["fractions"],
        seed=get_fold_valid_seed,
        method=config["split"]["method"],
        test_on=config["split"]["test_on"],
    script:
        "../scripts/split_dataset.py"
