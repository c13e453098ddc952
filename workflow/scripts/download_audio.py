"""Snakemake script: fetch the subset's FSDKaggle2018 clips and write their manifest."""

import sys

# Before any other import, so that import errors land in the log too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.datasets.fsdkaggle import fetch_audio  # noqa: E402

# Snakemake's script: directive defines `snakemake` before running this file.
smk = snakemake  # noqa: F821

p = smk.params
fetch_audio(
    smk.input.subset,
    p.root,
    smk.output.manifest,
    p.base_url,
    p.url_template,
    dict(p.archives),
    **dict(p.download),
)
