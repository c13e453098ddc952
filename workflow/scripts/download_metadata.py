"""Snakemake entry: download, md5-check and unpack the FSDKaggle2018 metadata archive."""

import sys

# Snakemake's script: directive runs this file with `snakemake` defined. Its output goes
# to the job's log, from before any other import so that import errors land there too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.datasets.fsdkaggle import fetch_metadata  # noqa: E402

sm = snakemake  # noqa: F821
fetch_metadata(
    sm.params.root,
    sm.params.base_url,
    sm.params.url_template,
    sm.params.archive["name"],
    sm.params.archive["md5"],
    **dict(sm.params.download),
)
