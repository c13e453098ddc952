"""Snakemake entry: write results/data/subset.csv for the configured labels."""

import sys

# Before any other import, so that import errors land in the log too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.datasets.subset import write_subset  # noqa: E402

p = snakemake.params
folder = p.kind == "folder"
write_subset(
    snakemake.output.subset,
    kind=p.kind,
    labels=p.labels,
    include_test_clips=p.include_test_clips,
    manually_verified_only=p.manually_verified_only,
    meta_dir=None if folder else snakemake.input.meta,
    folder=p.catalog if folder else None,
    esc50=p.catalog if p.kind == "esc50" else None,
)
