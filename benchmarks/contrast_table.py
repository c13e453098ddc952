"""The contrast table of a finished run: difference, CI, p, Holm-adjusted p and what else
differs, as the report's "What explains the gap" reads it.

For a run made before contrasts named their factor (no `factor`, no `procedure` in its
metrics.json), the factor of each (a, b) pair is taken from config/config.yaml and the
procedure records are rebuilt from the run's model.pt files with today's
audioclf.procedure.run_record, so "also differs" says what its pairs really differed in;
its interval and p are the ones it printed then (two-level bootstrap, McNemar per seed).

    .venv/bin/python benchmarks/contrast_table.py --workdir /path/to/run [--label before]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from audioclf.learn.checkpoint import load_checkpoint
from audioclf.learn.registry import model_type
from audioclf.procedure import also_differs, differences_text, factor_differs, run_record

REPO = Path(__file__).resolve().parents[1]


def factors_by_pair() -> dict:
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    return {(c["a"], c["b"]): c["factor"] for c in config["contrasts"]}


def first_record(workdir: Path, model: str) -> dict:
    """The first run's procedure record: from metrics.json, else rebuilt from model.pt."""
    run = sorted(p for p in (workdir / "results/eval" / model).iterdir() if p.is_dir())[0]
    metrics = json.loads((run / "metrics.json").read_text())
    if "procedure" in metrics:
        return metrics["procedure"]
    checkpoint = load_checkpoint(workdir / "results/models" / model / run.name / "model.pt")
    return run_record(
        checkpoint,
        eval_windows=metrics["eval_windows"],
        eval_precision=metrics.get("eval_precision"),
        type_keys=model_type(checkpoint["type"]).defaults,
    )


def rows(workdir: Path) -> list[dict]:
    comparison = json.loads((workdir / "results/eval/comparison.json").read_text())
    factors = factors_by_pair()
    table = []
    for c in comparison["contrasts"]:
        a, b = c["model_a"], c["model_b"]
        factor = c.get("factor", factors.get((a, b)))
        differs, note = c.get("also_differs"), ""
        if differs is None:
            records = first_record(workdir, a), first_record(workdir, b)
            differs = also_differs(*records, factor)
            if not factor_differs(*records, factor):
                note = " (today: not measured here, no difference in its factor)"
        row = {"name": c["name"], "factor": factor, "pair": f"{a} - {b}"}
        if c.get("measured", True):
            p = c.get("p_value")
            row.update(
                difference=f"{c['difference']:+.1f}{note}",
                ci=f"{c['low']:.1f} to {c['high']:.1f}",
                p=f"{p:.2g}" if p is not None else f"McNemar {c['p_min']:.2g}",
                p_adjusted=f"{c['p_adjusted']:.2g}" if "p_adjusted" in c else "(none)",
                also_differs=differences_text(differs) or "nothing",
            )
        else:
            row.update(difference="not measured", ci="", p="", p_adjusted="",
                       also_differs=c["reason"])  # fmt: skip
        table.append(row)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=REPO)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    columns = ("name", "factor", "pair", "difference", "ci", "p", "p_adjusted", "also_differs")
    print(f"{args.label} ({args.workdir})" if args.label else str(args.workdir))
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows(args.workdir):
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")


if __name__ == "__main__":
    main()
