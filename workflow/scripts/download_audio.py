"""Snakemake entry: fetch the subset's FSDKaggle2018 clips and write their manifest."""

import sys

# Snakemake's script: directive runs this file with `snakemake` defined. Its output goes
# to the job's log, from before any other import so that import errors land there too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.datasets.fsdkaggle import fetch_audio  # noqa: E402

sm = snakemake  # noqa: F821
fetch_audio(
    sm.input.subset,
    sm.params.root,
    sm.output.manifest,
    sm.params.base_url,
    sm.params.url_template,
    dict(sm.params.archives),
    **dict(sm.params.download),
)
