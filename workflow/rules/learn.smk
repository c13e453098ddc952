# Learning: one training job per configured model and run (seed, or fold and seed).


rule train_model:
    input:
        unpack(get_encoder_input),
        cache=rules.preprocess_audio.output.cache,
        split=get_split_file,
    output:
        model="results/models/{model}/{run}/model.pt",
        history="results/models/{model}/{run}/history.csv",
    log:
        "logs/train_model/{model}/{run}.log",
    benchmark:
        "results/benchmarks/train_model/{model}/{run}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 8
    resources:
        mem_mb=lambda wildcards, attempt: 8000 * attempt,
        runtime=180,
        gpu=0,
    params:
        model_name="{model}",
        settings=get_model_settings,
        clip_seconds=config["clip_seconds"],
        device=config["device"],
        seed=get_run_seed,
        deterministic=config["deterministic"],
    script:
        "../scripts/train_model.py"


rule export_model:
    input:
        model=rules.train_model.output.model,
    output:
        onnx="results/models/{model}/{run}/model.onnx",
    log:
        "logs/export_model/{model}/{run}.log",
    benchmark:
        "results/benchmarks/export_model/{model}/{run}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    script:
        "../scripts/export_model.py"


rule export:
    input:
        expand(rules.export_model.output.onnx, model=MODELS, run=RUNS),
