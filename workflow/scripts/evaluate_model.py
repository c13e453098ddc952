"""Snakemake entry: score one trained model on the test split."""

import sys

# Snakemake's script: directive runs this file with `snakemake` defined. Its output goes
# to the job's log, from before any other import so that import errors land there too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.evaluate.scoring import evaluate  # noqa: E402

sm = snakemake  # noqa: F821
evaluate(
    sm.input.cache,
    sm.input.split,
    sm.input.model,
    sm.output.predictions,
    sm.output.metrics,
    history_csv=sm.input.history,
    eval_windows=sm.params.eval_windows,
    device=sm.params.device,
    batch_size=int(sm.params.batch_size),
    threads=sm.threads,
    fold=sm.params.fold,
)
