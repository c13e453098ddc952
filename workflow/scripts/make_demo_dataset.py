"""Snakemake script: write the synthetic FSDKaggle2018-shaped demo dataset."""

import sys

from audioclf.demo import make_demo_dataset

# Snakemake's script: directive defines `snakemake` before running this file.
smk = snakemake  # noqa: F821
sys.stderr = open(smk.log[0], "w", buffering=1)

make_demo_dataset(smk.output.root, labels=list(smk.params.labels), **dict(smk.params.demo))
