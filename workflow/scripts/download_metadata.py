"""Snakemake script: download, md5-check and unpack the FSDKaggle2018 metadata archive."""

import sys

# Before any other import, so that import errors land in the log too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.datasets.fsdkaggle import fetch_metadata  # noqa: E402

# Snakemake's script: directive defines `snakemake` before running this file.
smk = snakemake  # noqa: F821

p = smk.params
fetch_metadata(
    p.root, p.base_url, p.url_template, p.archive["name"], p.archive["md5"], **dict(p.download)
)
