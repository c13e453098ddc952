"""Snakemake entry: paired statistics for every pair of models and every configured contrast."""

import sys

# Before any other import, so that import errors land in the log too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.evaluate.compare import compare_models  # noqa: E402

names = snakemake.params.models
models = {
    name: {
        "summary": snakemake.input.summaries[i],
        "runs": list(snakemake.input[f"runs_{name}"]),
        "predictions": list(snakemake.input[f"predictions_{name}"]),
    }
    for i, name in enumerate(names)
}
compare_models(models, snakemake.output.comparison, snakemake.params.contrasts)
