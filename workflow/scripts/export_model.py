"""Snakemake entry: write one trained model.pt as model.onnx, checked against torch."""

import sys

# Snakemake's script: directive runs this file with `snakemake` defined. Its output goes
# to the job's log, from before any other import so that import errors land there too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.learn.export import export_model  # noqa: E402

sm = snakemake  # noqa: F821
export_model(sm.input.model, sm.output.onnx)
