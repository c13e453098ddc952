"""Snakemake entry: write the self-contained HTML report and its figure files."""

import sys

# Snakemake's script: directive runs this file with `snakemake` defined. Its output goes
# to the job's log, from before any other import so that import errors land there too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from pathlib import Path  # noqa: E402

from audioclf.report.build import (  # noqa: E402
    build_report,
    figures_dir_of,
    model_paths,
    per_model,
)

sm = snakemake  # noqa: F821
build_report(
    sm.output.html,
    figures_dir_of(sm.output.figures),
    config=sm.params.config,
    subset_csv=sm.input.subset,
    clips_csv=sm.input.clips,
    excluded_csv=sm.input.excluded,
    split_csv=sm.input.split,
    split_counts_csv=sm.input.split_counts,
    cache_path=sm.input.cache,
    models=model_paths(
        sm.params.model_names,
        metrics=sm.input.metrics,
        predictions=sm.input.predictions,
        history=per_model(sm.input.history, len(sm.params.model_names)),
        model=sm.input.models,
    ),
    benchmark_tsvs=list(sm.input.benchmarks),
    comparison_json=sm.input.comparison,
    curves_csv=sm.input.curves,
    encoder_files=dict(zip(sm.params.encoder_names, sm.input.encoders, strict=True)),
    settings=sm.params.settings,
)
report = Path(sm.output.html).resolve()
print(f"report written: {report}\nopen it in a browser: {report.as_uri()}")
