"""Snakemake entry: write the subset table of one pretraining config's own pool."""

import sys

# Snakemake's script: directive runs this file with `snakemake` defined. Its output goes
# to the job's log, from before any other import so that import errors land there too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.pretrain.pool import write_pool  # noqa: E402

sm = snakemake  # noqa: F821
selection = dict(sm.params.selection)
write_pool(
    sm.output.subset,
    sm.params.name,
    selection,
    kind=sm.params.kind,
    labels=selection.get("labels"),
    meta_dir=sm.input.meta if selection["pool"] == "other_labels" else None,
)
