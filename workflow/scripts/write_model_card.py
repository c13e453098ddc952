"""Snakemake entry: write one model's MODEL_CARD.md from its report inputs."""

import sys

# Snakemake's script: directive runs this file with `snakemake` defined. Its output goes
# to the job's log, from before any other import so that import errors land there too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.report.card import write_model_card  # noqa: E402

sm = snakemake  # noqa: F821
write_model_card(
    sm.output.card,
    sm.wildcards.model,
    {key: sm.input[key] for key in ("metrics", "predictions", "model")}
    | {"history": list(sm.input.history)},
    split_counts_csv=sm.input.split_counts,
    data_source=sm.params.data_source,
    model_files=list(sm.params.model_files),
    onnx_file=sm.params.onnx_file,
    split_varies=sm.params.split_varies,
)
print(f"model card written: {sm.output.card}")
