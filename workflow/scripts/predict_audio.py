"""Snakemake entry: one row per audio file of predict.folder, from one trained model."""

import sys

# Before any other import, so that import errors land in the log too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.evaluate.predict import predict_files  # noqa: E402

predict_files(
    snakemake.input.model,
    [snakemake.params.folder],  # its audio files; the rest named in `error`
    snakemake.output.predictions,
    eval_windows=snakemake.params.eval_windows,
    device=snakemake.params.device,
)
