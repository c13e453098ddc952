"""Snakemake entry: download published pretrained weights into resources/weights/."""

import sys

# Snakemake's script: directive runs this file with `snakemake` defined. Its output goes
# to the job's log, from before any other import so that import errors land there too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.datasets.fsdkaggle import http_options  # noqa: E402
from audioclf.learn.published import fetch_weights  # noqa: E402

sm = snakemake  # noqa: F821
fetch_weights(sm.params.name, sm.output.weights, **http_options(dict(sm.params.download)))
