"""Snakemake script: download, md5-check and unpack the whole ESC-50 archive."""

import sys

# Before any other import, so that import errors land in the log too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.datasets.esc50 import fetch_esc50  # noqa: E402
from audioclf.datasets.fsdkaggle import http_options  # noqa: E402

# Snakemake's script: directive defines `snakemake` before running this file.
smk = snakemake  # noqa: F821

p = smk.params
fetch_esc50(p.root, smk.output.data, p.url, p.md5, **http_options(dict(p.download)))
