"""Snakemake entry: decode and trim a pool's files once into its own packed cache."""

import sys

# Snakemake's script: directive runs this file with `snakemake` defined. Its output goes
# to the job's log, from before any other import so that import errors land there too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.preprocess.clips import preprocess_subset  # noqa: E402

sm = snakemake  # noqa: F821
preprocess_subset(
    subset_csv=sm.input.subset,
    cache_path=sm.output.cache,
    clips_csv=sm.output.clips,
    excluded_csv=sm.output.excluded,
    sample_rate=sm.params.sample_rate,
    top_db=sm.params.top_db,
    pad_ms=sm.params.pad_ms,
    mode=sm.params.mode,
    max_seconds=sm.params.max_seconds,
    too_long=sm.params.too_long,
    min_ms=sm.params.min_ms,
    # an unlabeled pool lists what it cannot use and goes on; pretraining fails if too
    # little is left, naming the pool and its size
    max_excluded_fraction=1.0,
    require_every_label=False,
    not_in=sm.input.dataset,
    workers=sm.threads,
)
