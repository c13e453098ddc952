# Learning: one training job per configured model and run (seed, or fold and seed), and
# the published weights a model starts from (`pretrained: audioset`), downloaded once.


rule download_weights:
    output:
        weights="resources/weights/{weights_file}",
    log:
        "logs/download_weights/{weights_file}.log",
    benchmark:
        "results/benchmarks/download_weights/{weights_file}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        name=get_weights_name,
        download=get_http_download_options(),
    script:
        "../scripts/download_weights.py"


rule train_model:
    input:
        unpack(get_encoder_input),
        unpack(get_weights_input),
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
