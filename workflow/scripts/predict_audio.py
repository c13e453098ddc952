"""Snakemake entry: one row per audio file of predict.folder, from one trained model."""

import sys

# Snakemake's script: directive runs this file with `snakemake` defined. Its output goes
# to the job's log, from before any other import so that import errors land there too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.evaluate.predict import predict_files  # noqa: E402

sm = snakemake  # noqa: F821
predict_files(
    sm.input.model,
    [sm.params.folder],  # its audio files; the rest named in `error`
    sm.output.predictions,
    eval_windows=sm.params.eval_windows,
    device=sm.params.device,
)
