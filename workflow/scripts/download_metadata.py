"""Snakemake script: download, md5-check and unpack the FSDKaggle2018 metadata archive."""

import sys

from audioclf.fsdkaggle import fetch_metadata

# Snakemake's script: directive defines `snakemake` before running this file.
smk = snakemake  # noqa: F821
sys.stderr = open(smk.log[0], "w", buffering=1)

p = smk.params
fetch_metadata(
    p.root, p.base_url, p.url_template, p.archive["name"], p.archive["md5"], **dict(p.download)
)
