"""Snakemake entry: test accuracy against train clips, one row per model and run."""

import sys

# Snakemake's script: directive runs this file with `snakemake` defined. Its output goes
# to the job's log, from before any other import so that import errors land there too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.evaluate.curves import collect_curves  # noqa: E402

sm = snakemake  # noqa: F821
collect_curves(
    sm.input.metrics,
    [tuple(run) for run in sm.params.runs],
    sm.output.curves,
)
