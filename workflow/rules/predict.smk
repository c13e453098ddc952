# Prediction: label a configured folder of new audio with every trained model.


rule predict_audio:
    input:
        model=f"results/models/{{model}}/{RUNS[0]}/model.pt",
    output:
        predictions="results/predict/{model}.csv",
    log:
        "logs/predict_audio/{model}.log",
    benchmark:
        "results/benchmarks/predict_audio/{model}.tsv"
    conda:
        "../../envs/evaluate.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        folder=get_predict_folder,
        eval_windows=config["evaluation"]["eval_windows"],
        device=config["device"],
    script:
        "../scripts/predict_audio.py"


rule predict:
    input:
        expand("results/predict/{model}.csv", model=MODELS),
