"""Snakemake entry: the stratified split of the usable clips."""

import sys

from audioclf.split import write_split

sys.stderr = sys.stdout = open(snakemake.log[0], "w")
write_split(
    snakemake.input.clips,
    snakemake.output.split,
    snakemake.output.counts,
    fractions=dict(snakemake.params.fractions),
    seed=snakemake.params.seed,
)
