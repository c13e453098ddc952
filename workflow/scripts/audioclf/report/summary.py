"""The result in words: models ranked by mean test accuracy, and what exactly was run."""

from __future__ import annotations

from audioclf.learn.augment import AUGMENT_DEFAULTS, NOISE_SNR_SPAN_DB
from audioclf.learn.registry import MODEL_TYPES
from audioclf.report.formatting import duration, number, percent, points
from audioclf.report.inputs import ModelRun


def type_words(model_type: str | None) -> str:
    """The registry's one-line description of a model type ('unknown type' if none)."""
    entry = MODEL_TYPES.get(model_type)
    return entry.description if entry else "unknown type"


def reads_waveform(run: ModelRun) -> bool:
    entry = MODEL_TYPES.get(run.metrics.get("type"))
    return bool(entry and entry.waveform_input)


def augments_waveform(run: ModelRun) -> bool:
    entry = MODEL_TYPES.get(run.metrics.get("type"))
    return bool(entry and entry.augmentation == "waveform")


def ranked(runs: list[ModelRun]) -> list[ModelRun]:
    """Best mean test accuracy first; ties keep the configured order."""
    return sorted(runs, key=lambda run: -run.accuracy)


def describe(run: ModelRun) -> str:
    return f"the {run.name} model ({type_words(run.metrics.get('type'))})"


def plural(n, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def listed(values) -> str:
    return ", ".join(str(v) for v in values)


def mean_words(run: ModelRun) -> str:
    """' (mean of 3 runs)', or '' for a single run."""
    return f" (mean of {run.n_runs} runs)" if run.n_runs > 1 else ""


def summary_sentence(runs: list[ModelRun]) -> str:
    """One sentence a newcomer understands: 'The spectrogram model ... 31.4 points more ...'."""
    order = ranked(runs)
    best = order[0]
    same_test = len({int(r.metrics["n_test"]) for r in order}) == 1
    clips = "the" if same_test else "its"
    text = (
        f"{describe(best)[0].upper()}{describe(best)[1:]} classified {percent(best.accuracy)} "
        f"of {clips} {int(best.metrics['n_test']):,} test clips correctly{mean_words(best)}"
    )
    if len(order) == 1:
        return text + "."
    runner_up = order[1]
    # Difference of the rounded values, so the reader's own subtraction agrees with the page.
    gap = points(best.accuracy) - points(runner_up.accuracy)
    runner_up_runs = mean_words(runner_up) if runner_up.n_runs != best.n_runs else ""
    if round(gap, 1) == 0:
        text += f", the same as {describe(runner_up)}{runner_up_runs}"
    else:
        text += (
            f", {gap:.1f} points more than {describe(runner_up)}, "
            f"which got {percent(runner_up.accuracy)}{runner_up_runs}"
        )
    if len(order) > 2:
        others = "; ".join(f"{r.name}: {percent(r.accuracy)}" for r in order[2:])
        text += f" (then {others})"
    return text + "."


def runs_words(run: ModelRun) -> str:
    """'trained and tested with 3 seeds (0, 1, 2) on each of 2 folds (1, 2): 6 runs'."""
    if run.n_runs == 1:
        fold = f", fold {run.folds[0]}" if run.folds else ""
        return f"trained and tested once (seed {run.first_seed}{fold})"
    text = f"trained and tested with {plural(len(run.seeds), 'seed')} ({listed(run.seeds)})"
    if run.folds:
        text += (
            f" on each of {plural(len(run.folds), 'cross-validation fold')} ({listed(run.folds)})"
        )
    return f"{text}: {run.n_runs} runs"


def runs_sentence(runs: list[ModelRun]) -> str:
    """How often the models were trained and tested, and what the page's scores are."""
    shapes = {(tuple(map(str, r.seeds)), tuple(map(str, r.folds))) for r in runs}
    if len(shapes) == 1:
        subject = "Every model was" if len(runs) > 1 else "The model was"
        text = f"{subject} {runs_words(runs[0])}."
    else:
        text = "; ".join(f"{r.name} was {runs_words(r)}" for r in runs)
        text = f"{text[0].upper()}{text[1:]}."
    if any(r.n_runs > 1 for r in runs):
        text += (
            " Scores are means over a model's runs, shown ± their standard deviation; "
            "confusion matrices add up all runs."
        )
    return text


def history_words(runs: list[ModelRun]) -> str:
    """The run each model's first history.csv and model.pt come from: 'seed 0, fold 1'."""

    def words(run: ModelRun) -> str:
        fold = run.first_run.get("fold")
        return f"seed {run.first_run.get('seed')}" + (f", fold {fold}" if fold is not None else "")

    shown = {words(run) for run in runs}
    if len(shown) == 1:
        return shown.pop()
    return "; ".join(f"{run.name}: {words(run)}" for run in runs)


def first_run_note(runs: list[ModelRun]) -> str:
    """Which runs the errors show: 'Errors: seed 0, the first seed'."""
    seeds = {str(r.first_seed) for r in runs}
    if len(seeds) == 1:
        text = f"Errors: seed {runs[0].first_seed}, the first seed"
    else:
        text = "Errors: " + "; ".join(f"seed {r.first_seed} for {r.name}" for r in runs)
    if any(r.folds for r in runs):
        text += " (that seed's test predictions over all folds)"
    return text + (
        ". The other runs count in the scores but are not shown clip by clip; the training "
        "curves show every run."
    )


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


def windows_words(metrics: dict) -> str:
    """How test clips were scored: the window rule, or a whole-clip model's reading."""
    rule = str(metrics.get("eval_windows"))
    if rule != "whole":
        return rule
    settings = metrics.get("settings") or {}
    words = f"each whole clip in one pass, up to its first {settings.get('max_seconds')} s"
    if metrics.get("n_cut") is not None:
        runs = int(metrics.get("n_runs") or 1)
        scored = metrics.get("n_predictions", metrics.get("n_test"))
        what = "scored test clips" if runs == 1 else f"test clips scored over its {runs} runs"
        words += f" ({metrics['n_cut']} of the {scored} {what} were longer and were cut there)"
    return words


def augment_words(settings: dict) -> str:
    """The waveform augmentation of a raw1d_deep model in words, from its recorded settings."""
    merged = {**AUGMENT_DEFAULTS, **{k: v for k, v in settings.items() if k in AUGMENT_DEFAULTS}}
    steps = []
    if merged["shift_fraction"]:
        share = percent(float(merged["shift_fraction"]), 0)
        steps.append(f"is shifted in time (circularly) by up to {share} of the window")
    if merged["gain_db"]:
        steps.append(f"has its gain changed by up to ±{number(float(merged['gain_db']), 1)} dB")
    if merged["noise_snr_db"]:
        low = float(merged["noise_snr_db"])
        steps.append(
            f"gets noise at a signal-to-noise ratio of {number(low, 0)} to "
            f"{number(low + NOISE_SNR_SPAN_DB, 0)} dB"
        )
    if not steps:
        return "no waveform augmentation (all of its steps are off)"
    listing = steps[0] if len(steps) == 1 else f"{', '.join(steps[:-1])} and {steps[-1]}"
    return f"in training only, each clip {listing}, drawn anew for every clip and epoch"


def what_was_run(run: ModelRun) -> str:
    """'raw: 30 epochs on cpu, seeds 0, 1, 2 (420 optimizer steps in the first run), from
    random initial weights; training took ...'."""
    m = run.metrics
    seeds = [s for s in run.seeds if s is not None]
    seed = f", {'seed' if len(seeds) == 1 else 'seeds'} {listed(seeds)}" if seeds else ""
    folds = f", {'fold' if len(run.folds) == 1 else 'folds'} {listed(run.folds)}"
    frozen = int((m.get("settings") or {}).get("freeze_epochs") or 0) if m.get("pretrained") else 0
    configured = int(m["epochs"])
    # a metrics.json without epochs_run ran its configured epochs
    ran = m.get("epochs_run")
    unfrozen = configured if ran is None else int(ran) - frozen
    epochs = plural(unfrozen, "epoch")
    if unfrozen != configured:
        epochs += f" (raised from {configured} by min_steps: the train split is small)"
    if frozen:
        # fine_tune: the frozen-body epochs come first and are not part of `epochs`
        epochs = f"{plural(frozen, 'epoch')} with the pretrained body frozen, then {epochs}"
    first = " in the first run" if run.n_runs > 1 else ""
    counted = m.get("optimizer_steps")
    if counted is None:
        steps = "optimizer steps not recorded"
    else:
        steps = f"{int(counted):,} optimizer steps{first}"
    took = duration(m.get("train_seconds"))
    if run.n_runs > 1:
        took = f"{took} per run on average ({run.n_runs} runs)"
    return (
        f"{run.name}: {epochs} on {m['device']}{seed}{folds if run.folds else ''} "
        f"({steps}), {weights_words(m)}; training took {took}."
    )
