"""Snakemake entry: paired statistics for every pair of models and every configured contrast."""

import sys

# Snakemake's script: directive runs this file with `snakemake` defined. Its output goes
# to the job's log, from before any other import so that import errors land there too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

from audioclf.evaluate.compare import compare_models  # noqa: E402

sm = snakemake  # noqa: F821
names = sm.params.models
models = {
    name: {
        "summary": sm.input.summaries[i],
        "runs": list(sm.input[f"runs_{name}"]),
        "predictions": list(sm.input[f"predictions_{name}"]),
    }
    for i, name in enumerate(names)
}
compare_models(models, sm.output.comparison, sm.params.contrasts)
