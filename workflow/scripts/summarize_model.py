"""Snakemake entry: one model's summary over its runs (seeds, folds)."""

import sys

# Before any other import, so that import errors land in the log too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.evaluate.compare import summarize_model  # noqa: E402

summarize_model(
    snakemake.input.metrics,
    snakemake.input.predictions,
    snakemake.output.metrics,
    snakemake.output.predictions,
)
