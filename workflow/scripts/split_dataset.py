"""Snakemake entry: the stratified split of the usable clips."""

import sys

# Before any other import, so that import errors land in the log too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.split import write_split  # noqa: E402

write_split(
    snakemake.input.clips,
    snakemake.output.split,
    snakemake.output.counts,
    fractions=dict(snakemake.params.fractions),
    seed=snakemake.params.seed,
)
