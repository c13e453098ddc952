"""Snakemake script: decode, resample and trim the subset's clips into the packed cache."""

import sys

# Before any other import, so that import errors land in the log too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.preprocess.clips import preprocess_subset  # noqa: E402

# Snakemake's script: directive defines `snakemake` before running this file.
smk = snakemake  # noqa: F821

preprocess_subset(
    subset_csv=smk.input.subset,
    cache_path=smk.output.cache,
    clips_csv=smk.output.clips,
    excluded_csv=smk.output.excluded,
    sample_rate=smk.params.sample_rate,
    top_db=smk.params.top_db,
    pad_ms=smk.params.pad_ms,
    mode=smk.params.mode,
    max_seconds=smk.params.max_seconds,
    too_long=smk.params.too_long,
    max_excluded_fraction=smk.params.max_excluded_fraction,
    workers=smk.threads,
)
