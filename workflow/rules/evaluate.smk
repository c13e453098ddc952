# Evaluation of every run on its test split, a summary per model, the paired statistics,
# the data-size curve, and prediction: label a configured folder of new audio with every
# trained model.


rule evaluate_model:
    input:
        cache=rules.preprocess_audio.output.cache,
        split=get_split_file,
        model=rules.train_model.output.model,
        history=rules.train_model.output.history,
    output:
        predictions="results/eval/{model}/{run}/predictions.csv",
        metrics="results/eval/{model}/{run}/metrics.json",
    log:
        "logs/evaluate_model/{model}/{run}.log",
    benchmark:
        "results/benchmarks/evaluate_model/{model}/{run}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 8
    resources:
        mem_mb=lambda wildcards, attempt: 6000 * attempt,
        runtime=30,
        gpu=0,
    params:
        eval_windows=config["evaluation"]["eval_windows"],
        batch_size=config["evaluation"]["batch_size"],
        device=config["device"],
        fold=get_run_fold,
    script:
        "../scripts/evaluate_model.py"


rule summarize_model:
    input:
        metrics=get_run_files("metrics"),
        predictions=get_run_files("predictions"),
    output:
        metrics="results/eval/{model}/metrics.json",
        predictions="results/eval/{model}/predictions.csv",
    log:
        "logs/summarize_model/{model}.log",
    benchmark:
        "results/benchmarks/summarize_model/{model}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/summarize_model.py"


rule compare_models:
    input:
        **get_comparison_inputs(),
        summaries=get_eval_outputs("metrics"),
    output:
        comparison="results/eval/comparison.json",
    log:
        "logs/compare_models/comparison.log",
    benchmark:
        "results/benchmarks/compare_models/comparison.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=15,
    params:
        models=MODELS,
        contrasts=config["contrasts"],
    script:
        "../scripts/compare_models.py"


rule collect_curves:
    input:
        metrics=get_curve_files(),
    output:
        curves="results/eval/curves.csv",
    log:
        "logs/collect_curves/curves.log",
    benchmark:
        "results/benchmarks/collect_curves/curves.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        runs=get_curve_runs(),
    script:
        "../scripts/collect_curves.py"


rule predict_audio:
    input:
        model=get_first_run_model(),
    output:
        predictions="results/predict/{model}.csv",
    log:
        "logs/predict_audio/{model}.log",
    benchmark:
        "results/benchmarks/predict_audio/{model}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        folder=get_predict_folder,
        listing=get_predict_listing,
        eval_windows=config["evaluation"]["eval_windows"],
        device=config["device"],
    script:
        "../scripts/predict_audio.py"


rule predict:
    input:
        expand(rules.predict_audio.output.predictions, model=MODELS),
