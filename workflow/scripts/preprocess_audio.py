"""Snakemake script: decode, resample and trim the subset's clips into the packed cache."""

import sys

from audioclf.preprocess import preprocess_subset

# Snakemake's script: directive defines `snakemake` before running this file.
smk = snakemake  # noqa: F821
sys.stderr = open(smk.log[0], "w", buffering=1)

preprocess_subset(
    subset_csv=smk.input.subset,
    cache_path=smk.output.cache,
    clips_csv=smk.output.clips,
    excluded_csv=smk.output.excluded,
    sample_rate=smk.params.sample_rate,
    top_db=smk.params.top_db,
    pad_ms=smk.params.pad_ms,
    mode=smk.params.mode,
    max_excluded_fraction=smk.params.max_excluded_fraction,
    workers=smk.threads,
)
