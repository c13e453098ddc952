"""Snakemake entry: test accuracy against train clips, one row per model and run."""

import sys

# Before any other import, so that import errors land in the log too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.evaluate.curves import collect_curves  # noqa: E402

collect_curves(
    snakemake.input.metrics,
    [tuple(run) for run in snakemake.params.runs],
    snakemake.output.curves,
)
