"""Snakemake entry: one model's summary over its runs (seeds, folds)."""

import sys

# Snakemake's script: directive runs this file with `snakemake` defined. Its output goes
# to the job's log, from before any other import so that import errors land there too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.evaluate.compare import summarize_model  # noqa: E402

sm = snakemake  # noqa: F821
summarize_model(
    sm.input.metrics,
    sm.input.predictions,
    sm.output.metrics,
    sm.output.predictions,
)
