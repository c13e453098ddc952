"""Snakemake script: fetch the subset's FSDKaggle2018 clips and write their manifest."""

import sys

from audioclf.fsdkaggle import fetch_audio

# Snakemake's script: directive defines `snakemake` before running this file.
smk = snakemake  # noqa: F821
sys.stderr = open(smk.log[0], "w", buffering=1)

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
