"""Snakemake entry: pretrain one config's encoder as an autoencoder on its pool."""

import sys

# Snakemake's script: directive runs this file with `snakemake` defined. Its output goes
# to the job's log, from before any other import so that import errors land there too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.pretrain.train import pretrain  # noqa: E402

sm = snakemake  # noqa: F821
pretrain(
    sm.input.cache,
    sm.input.get("split"),
    sm.output.encoder,
    sm.output.history,
    name=sm.params.name,
    settings=dict(sm.params.settings),
    pool_excluded=sm.input.get("excluded"),
    device=sm.params.device,
    seed=int(sm.params.seed),
    threads=sm.threads,
    deterministic=sm.params.deterministic,
)
