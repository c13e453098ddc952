# The report: one self-contained HTML page comparing every configured model, and a model
# card per model (MODEL_CARD.md beside its runs) from the same files.


rule make_report:
    input:
        subset=rules.select_subset.output.subset,
        clips=rules.preprocess_audio.output.clips,
        excluded=rules.preprocess_audio.output.excluded,
        split=get_first_split("split"),
        split_counts=get_first_split("counts"),
        cache=rules.preprocess_audio.output.cache,
        metrics=get_eval_outputs("metrics"),
        predictions=get_eval_outputs("predictions"),
        history=get_every_run_outputs("history"),
        models=get_first_run_outputs("model"),
        comparison=rules.compare_models.output.comparison,
        curves=rules.collect_curves.output.curves,
        encoders=[path for _, path in get_report_encoders()],
        benchmarks=get_benchmark_inputs(),
    output:
        html="results/report.html",
        figures=get_report_figures(),
    log:
        "logs/make_report/report.log",
    benchmark:
        "results/benchmarks/make_report/report.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        model_names=MODELS,
        encoder_names=[name for name, _ in get_report_encoders()],
        config=config,
        settings=config["report"],
    script:
        "../scripts/make_report.py"


rule write_model_card:
    input:
        metrics=rules.summarize_model.output.metrics,
        predictions=rules.summarize_model.output.predictions,
        history=get_run_trained("history"),
        model=get_first_run_file("model"),
        split_counts=get_first_split("counts"),
    output:
        card="results/models/{model}/MODEL_CARD.md",
    log:
        "logs/write_model_card/{model}.log",
    benchmark:
        "results/benchmarks/write_model_card/{model}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        data_source=get_data_source(),
        model_files=get_run_trained("model"),
        onnx_file=path_of(rules.export_model.output.onnx, run=RUNS[0]),
        split_varies=SPLIT["vary_with_seed"],
    script:
        "../scripts/write_model_card.py"


rule cards:
    input:
        expand(rules.write_model_card.output.card, model=MODELS),


onsuccess:
    if Path(rules.make_report.output.html).exists():
        page = Path(rules.make_report.output.html).resolve()
        print(f"\nThe report: {page}\nOpen it in a browser: {page.as_uri()}")
