"""Snakemake entry: train one configured model on the packed cache."""

import sys

# Snakemake's script: directive runs this file with `snakemake` defined. Its output goes
# to the job's log, from before any other import so that import errors land there too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.learn.train import train  # noqa: E402

sm = snakemake  # noqa: F821
train(
    sm.input.cache,
    sm.input.split,
    sm.output.model,
    sm.output.history,
    model_name=sm.params.model_name,
    model_settings=dict(sm.params.settings),
    clip_seconds=float(sm.params.clip_seconds),
    device=sm.params.device,
    seed=int(sm.params.seed),
    threads=sm.threads,
    deterministic=sm.params.deterministic,
    encoder_path=sm.input.get("encoder"),
    weights_path=sm.input.get("weights"),
)
