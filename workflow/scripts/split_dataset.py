"""Snakemake entry: the split of one split id (a seed's stratified split, or a fold's)."""

import sys

# Snakemake's script: directive runs this file with `snakemake` defined. Its output goes
# to the job's log, from before any other import so that import errors land there too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.split.write import write_split  # noqa: E402

sm = snakemake  # noqa: F821
write_split(
    sm.params.split_id,
    sm.input.subset,
    sm.input.clips,
    sm.output.split,
    sm.output.counts,
    fractions=dict(sm.params.fractions),
    seed=sm.params.seed,
    method=sm.params.method,
    test_on=sm.params.test_on,
)
