"""Snakemake entry: decode, resample and trim the subset's clips into the packed cache."""

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
    max_excluded_fraction=sm.params.max_excluded_fraction,
    workers=sm.threads,
)
