"""Snakemake entry: download, md5-check and unpack the whole ESC-50 archive."""

import sys

# Snakemake's script: directive runs this file with `snakemake` defined. Its output goes
# to the job's log, from before any other import so that import errors land there too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.datasets.esc50 import fetch_esc50  # noqa: E402
from audioclf.datasets.fsdkaggle import http_options  # noqa: E402

sm = snakemake  # noqa: F821
fetch_esc50(
    sm.params.root,
    sm.output.data,
    sm.params.url,
    sm.params.md5,
    **http_options(dict(sm.params.download)),
)
