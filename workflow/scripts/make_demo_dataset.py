"""Snakemake entry: write the synthetic FSDKaggle2018-shaped demo dataset."""

import sys

# Snakemake's script: directive runs this file with `snakemake` defined. Its output goes
# to the job's log, from before any other import so that import errors land there too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.datasets.demo import make_demo_dataset  # noqa: E402

sm = snakemake  # noqa: F821
make_demo_dataset(sm.output.root, labels=list(sm.params.labels), **dict(sm.params.demo))
