"""Snakemake entry: write results/data/subset.csv for the configured labels."""

import sys

# Snakemake's script: directive runs this file with `snakemake` defined. Its output goes
# to the job's log, from before any other import so that import errors land there too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.datasets.subset import write_subset  # noqa: E402

sm = snakemake  # noqa: F821
write_subset(
    sm.output.subset,
    kind=sm.params.kind,
    labels=sm.params.labels,
    include_test_clips=sm.params.include_test_clips,
    manually_verified_only=sm.params.manually_verified_only,
    # a folder's catalog reads its CSV from its settings, not from this input
    meta_dir=sm.input.meta,
    settings=sm.params.catalog,
)
