"""The result in words: models ranked by test accuracy, and what exactly was run."""

from __future__ import annotations

from audioclf.report.formatting import duration, percent, points
from audioclf.report.inputs import ModelRun

MODEL_TYPE_WORDS = {
    "raw1d": "1D CNN on the raw waveform",
    "spectrogram": "CNN on the mel spectrogram",
}


def ranked(runs: list[ModelRun]) -> list[ModelRun]:
    """Best test accuracy first; ties keep the configured order."""
    return sorted(runs, key=lambda run: -run.accuracy)


def describe(run: ModelRun) -> str:
    kind = MODEL_TYPE_WORDS.get(run.metrics.get("type"), run.metrics.get("type") or "model")
    return f"the {run.name} model ({kind})"


def summary_sentence(runs: list[ModelRun]) -> str:
    """One sentence a newcomer understands: 'The spectrogram model ... 31.4 points more ...'."""
    order = ranked(runs)
    best = order[0]
    same_test = len({int(r.metrics["n_test"]) for r in order}) == 1
    clips = "the" if same_test else "its"
    text = (
        f"{describe(best)[0].upper()}{describe(best)[1:]} classified {percent(best.accuracy)} "
        f"of {clips} {int(best.metrics['n_test']):,} test clips correctly"
    )
    if len(order) == 1:
        return text + "."
    runner_up = order[1]
    # Difference of the rounded values, so the reader's own subtraction agrees with the page.
    gap = points(best.accuracy) - points(runner_up.accuracy)
    if round(gap, 1) == 0:
        text += f", the same as {describe(runner_up)}"
    else:
        text += (
            f", {gap:.1f} points more than {describe(runner_up)}, "
            f"which got {percent(runner_up.accuracy)}"
        )
    if len(order) > 2:
        others = "; ".join(f"{r.name}: {percent(r.accuracy)}" for r in order[2:])
        text += f" (then {others})"
    return text + "."


def chance_sentence(n_labels: int) -> str:
    return (
        f"Guessing one of the {n_labels} labels at random would be right "
        f"{percent(1 / n_labels)} of the time."
    )


def weights_words(metrics: dict) -> str:
    if not metrics.get("pretrained"):
        return "from random initial weights"
    source = metrics.get("weight_source")
    return f"from pretrained weights ({source})" if source else "from pretrained weights"


def plural(n, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def what_was_run(run: ModelRun) -> str:
    """'raw: 30 epochs on cpu, seed 42, from random initial weights, training took 3 min 2 s.'"""
    m = run.metrics
    seed = f", seed {m['seed']}" if m.get("seed") is not None else ""
    epochs = plural(m["epochs"], "epoch")
    frozen = int((m.get("settings") or {}).get("freeze_epochs") or 0) if m.get("pretrained") else 0
    if frozen:
        # fine_tune: the frozen-body epochs come first and are not part of `epochs`
        epochs = f"{plural(frozen, 'epoch')} with the pretrained body frozen, then {epochs}"
    return (
        f"{run.name}: {epochs} on {m['device']}{seed}, {weights_words(m)}; "
        f"training took {duration(m.get('train_seconds'))}."
    )
