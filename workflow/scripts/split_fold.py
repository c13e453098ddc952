"""Snakemake entry: the split of one cross-validation fold (its clips are the test set)."""

import sys

# Before any other import, so that import errors land in the log too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.folds import write_fold_split  # noqa: E402

write_fold_split(
    snakemake.input.subset,
    snakemake.input.clips,
    snakemake.params.fold,
    snakemake.output.split,
    snakemake.output.counts,
    valid_fraction=snakemake.params.valid_fraction,
    seed=snakemake.params.seed,
)
