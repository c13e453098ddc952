"""Snakemake entry: write results/data/subset.csv for the configured labels."""

import sys

# Before any other import, so that import errors land in the log too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.datasets.subset import write_subset  # noqa: E402

p = snakemake.params
write_subset(
    snakemake.output.subset,
    kind=p.kind,
    labels=p.labels,
    include_test_clips=p.include_test_clips,
    manually_verified_only=p.manually_verified_only,
    # a folder's catalog reads its CSV from its settings, not from this input
    meta_dir=snakemake.input.meta,
    settings=p.catalog,
)
