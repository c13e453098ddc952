"""Snakemake entry: the split of one split id (a seed's stratified split, or a fold's)."""

import sys

# Before any other import, so that import errors land in the log too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.split.write import write_split  # noqa: E402

write_split(
    snakemake.params.split_id,
    snakemake.input.subset,
    snakemake.input.clips,
    snakemake.output.split,
    snakemake.output.counts,
    fractions=dict(snakemake.params.fractions),
    seed=snakemake.params.seed,
    method=snakemake.params.method,
    test_on=snakemake.params.test_on,
)
