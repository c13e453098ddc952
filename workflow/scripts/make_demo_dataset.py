"""Snakemake script: write the synthetic FSDKaggle2018-shaped demo dataset."""

import sys

# Before any other import, so that import errors land in the log too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.datasets.demo import make_demo_dataset  # noqa: E402

# Snakemake's script: directive defines `snakemake` before running this file.
smk = snakemake  # noqa: F821

make_demo_dataset(smk.output.root, labels=list(smk.params.labels), **dict(smk.params.demo))
