"""The procedure record: how one model was trained and scored, as one flat dict, and the
table of what each contrast factor owns, so two records can say what else differs.

Torch-free: the Snakefile checks the configured contrasts with it before any job starts
(`config_record`), and compare_models diffs the records that evaluate_model wrote into each
run's metrics.json (`run_record`). A record's keys:

- `type`, `architecture.<key>` (the type's own settings: channels, blocks, dropout, ...),
  `front_end.<key>` (n_fft, hop_length, n_mels, init, front_end_lr_mult),
  `whole_clip.<key>` (max_seconds,
  batch_seconds) and, once built, `n_params`;
- `weights` (random, imagenet, the name of published weights such as audioset,
  autoencoder:<name> or file <path>) and, once loaded,
  `weights_source`;
- `schedule` (one_cycle or fine_tune), `freeze_epochs`, `lr_groups` (each parameter
  group's peak learning rate), `lr`, `batch_size`, `weight_decay`; configured `epochs` and
  `min_steps`, or, once trained, `epochs_run` and `optimizer_steps`;
- `augmentation` (none, or the kinds in use) and `augmentation.<key>` for each active step;
- `mixed_precision` as configured, or, once run, `train_precision` and `eval_precision`;
- `crop_seconds` (null for a whole-clip model) and `eval_windows`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from audioclf.learn.limits import (
    AUGMENT_DEFAULTS,
    FRONT_END_DEFAULTS,
    MASK_SETTINGS,
    TRAINING_DEFAULTS,
    WHOLE_CLIP_DEFAULTS,
)
from audioclf.learn.published import published

# fastai's fine_tune: the body trains at lr / FINE_TUNE_LR_MULT of the head's after
# unfreezing, and fastai halves the head's lr then (Learner.fine_tune: base_lr /= 2).
FINE_TUNE_LR_MULT = 100

MASK_KEYS = tuple(key for pair in MASK_SETTINGS for key in pair)
FRONT_END_KEYS = (*(k for k in FRONT_END_DEFAULTS if k not in MASK_KEYS), "init",
                  "front_end_lr_mult")  # fmt: skip
WHOLE_CLIP_KEYS = tuple(WHOLE_CLIP_DEFAULTS)

# What each factor owns: the record keys a contrast of that factor is meant to change. A
# name owns the key of that name and every `<name>.<key>`. No factor owns a key unless it is
# listed here: everything else must be the same on both sides or it is reported.
FACTORS: dict[str, tuple[str, ...]] = {
    "weights": ("weights", "weights_source"),
    "architecture": ("type", "architecture", "n_params"),
    # log-mel vs waveform at equal capacity: the parameter counts must stay within
    # N_PARAMS_TOLERANCE, so `input` does not own them
    "input": ("type", "architecture", "front_end"),
    # a learnable front end's own learning rate is part of it (lr_groups); the base lr is not
    "front_end": ("type", "front_end", "lr_groups"),
    "init": ("front_end.init",),
    # whole clips read with their lengths: no crop, one pass per clip, batches by length
    "whole_clip": (
        "type",
        "architecture",
        "whole_clip",
        "crop_seconds",
        "eval_windows",
        "optimizer_steps",
        "n_params",
    ),  # fmt: skip
    "schedule": ("schedule", "freeze_epochs", "lr_groups"),
    "lr": ("lr", "lr_groups"),
    "batch_size": ("batch_size", "optimizer_steps"),
    "weight_decay": ("weight_decay",),
    "epochs": ("epochs", "min_steps", "epochs_run", "optimizer_steps"),
    "augmentation": ("augmentation",),
    "crop_seconds": ("crop_seconds",),
    "eval_windows": ("eval_windows",),
    "precision": ("mixed_precision", "train_precision", "eval_precision"),
}
# Parameter counts within this share of the larger one count as equal where no factor owns
# them (the "equal capacity" of an input contrast).
N_PARAMS_TOLERANCE = 0.10


def weights_kind(pretrained) -> str:
    """What `pretrained` asks for, in the record's words."""
    if pretrained in (None, False):
        return "random"
    if pretrained is True:
        return "imagenet"
    if published(pretrained) is not None:
        return str(pretrained)
    text = str(pretrained)
    return text if text.startswith("autoencoder:") else f"file {text}"


def schedule_plan(settings: Mapping, loads_weights: bool) -> dict:
    """The schedule train() runs: fastai's fine_tune (`freeze_epochs` with the loaded body
    frozen, then the body at lr / 200 and the head at lr / 2) when weights are loaded and
    `freeze_epochs` > 0; else one-cycle at `lr` for every parameter group, but a learnable
    front end's (a type with `front_end_lr_mult`: group_hypers)."""
    lr = float(settings["lr"])
    frozen = int(settings["freeze_epochs"]) if loads_weights else 0
    mult = settings.get("front_end_lr_mult")
    if frozen > 0:
        # fastai's freeze() keeps the body's batch norm training, at slice(lr)'s lr / 10
        groups = (
            f"frozen: head {lr:g}, body batch norm {lr / 10:g}; "
            f"then body {lr / 2 / FINE_TUNE_LR_MULT:g}, head {lr / 2:g}"
        )
        if mult is not None:
            groups += "; front end without weight decay"
        return {"schedule": "fine_tune", "freeze_epochs": frozen, "lr_groups": groups}
    groups = f"all {lr:g}"
    if mult is not None:
        groups = f"front end {lr * float(mult):g} without weight decay, rest {lr:g}"
    return {"schedule": "one_cycle", "freeze_epochs": 0, "lr_groups": groups}


def group_hypers(settings: Mapping, n_groups: int) -> tuple[list[float], list[float]]:
    """(peak lr, weight decay) of each of `n_groups` parameter groups for one-cycle: `lr`
    and `weight_decay` for all, but a learnable front end's group (the first, when the
    type has `front_end_lr_mult`) learns at lr x front_end_lr_mult without weight decay,
    so the filterbank keeps the layout it starts from (benchmarks/filterbank_drift.py
    measures how far its centres move). The weight decays hold
    for fine_tune too, whose lrs are fastai's."""
    lr, wd = float(settings["lr"]), float(settings["weight_decay"])
    lrs, wds = [lr] * n_groups, [wd] * n_groups
    if settings.get("front_end_lr_mult") is not None:
        lrs[0], wds[0] = lr * float(settings["front_end_lr_mult"]), 0.0
    return lrs, wds


def _active(value) -> bool:
    return value is not None and float(value) > 0


def augmentation_record(settings: Mapping) -> dict:
    """`augmentation` (none, waveform, spectrogram masks or both) and each active step's
    settings, from the augmentation keys `settings` holds (a type without a step has no key
    for it, so its settings hold none)."""
    record, kinds = {}, []
    waveform = {k: settings[k] for k in AUGMENT_DEFAULTS if _active(settings.get(k))}
    if waveform:
        kinds.append("waveform")
        record.update({f"augmentation.{k}": float(v) for k, v in waveform.items()})
    masks = {}
    for count, width in MASK_SETTINGS:
        if _active(settings.get(count)) and _active(settings.get(width)):
            masks.update({count: int(settings[count]), width: int(settings[width])})
    if masks:
        kinds.append("spectrogram masks")
        record.update({f"augmentation.{k}": v for k, v in masks.items()})
    return {"augmentation": ", ".join(kinds) or "none", **record}


def _group(key: str) -> str | None:
    """The record prefix of a model setting: None for `type` and the training settings,
    which the record holds under names of their own."""
    if key == "type" or key in TRAINING_DEFAULTS:
        return None
    if key in AUGMENT_DEFAULTS or key in MASK_KEYS:
        return "augmentation"
    if key in FRONT_END_KEYS:
        return "front_end"
    return "whole_clip" if key in WHOLE_CLIP_KEYS else "architecture"


def _scalar(value):
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def settings_record(
    settings: Mapping, clip_seconds: float | None, eval_windows: str, type_keys: Collection[str]
) -> dict:
    """The part of a record that settings alone decide: `settings` as resolved for a run,
    limited to the training settings and the type's own (`type_keys`, its registry
    defaults), so a key the type ignores never counts."""
    kept = {k: v for k, v in settings.items() if k in TRAINING_DEFAULTS or k in type_keys}
    whole = any(k in kept for k in WHOLE_CLIP_KEYS)
    record = {"type": settings.get("type")}
    for key in sorted(kept):
        if _group(key) == "architecture":
            record[f"architecture.{key}"] = _scalar(kept[key])
    record.update({f"front_end.{k}": _scalar(kept[k]) for k in FRONT_END_KEYS if k in kept})
    record.update({f"whole_clip.{k}": float(kept[k]) for k in WHOLE_CLIP_KEYS if k in kept})
    record["weights"] = weights_kind(kept.get("pretrained"))
    record.update(schedule_plan(kept, record["weights"] != "random"))
    record.update(
        {k: float(kept[k]) if k != "batch_size" else int(kept[k])
         for k in ("lr", "batch_size", "weight_decay")}
    )  # fmt: skip
    record.update(augmentation_record(kept))
    whole_or_unknown = whole or clip_seconds is None
    record["crop_seconds"] = None if whole_or_unknown else float(clip_seconds)
    record["eval_windows"] = "whole" if whole else str(eval_windows)
    return record


def config_record(settings: Mapping, clip_seconds: float, eval_windows: str) -> dict:
    """What a model's config says of its procedure before anything runs, for the
    config-time warning: the training settings (their defaults filled in), and each other
    key the config sets, as it sets it. A type's own defaults are known only to the
    registry, which needs torch, so a key one config leaves out is not compared here
    (config_differences); the run records compared in comparison.json have them all."""
    merged = {**TRAINING_DEFAULTS, **settings}
    record = {"type": merged.get("type"), "weights": weights_kind(merged.get("pretrained"))}
    plan = schedule_plan(merged, record["weights"] != "random")
    # lr_groups also follows type defaults (a front end's lr multiple), unknown here
    record.update({k: v for k, v in plan.items() if k != "lr_groups"})
    record.update(
        {k: merged[k] for k in TRAINING_DEFAULTS if k not in ("pretrained", "freeze_epochs")}
    )
    for key in sorted(settings):
        if _group(key) is not None:
            record[f"{_group(key)}.{key}"] = _scalar(settings[key])
    whole = any(k in settings for k in WHOLE_CLIP_KEYS)
    record["crop_seconds"] = None if whole else float(clip_seconds)
    record["eval_windows"] = "whole" if whole else str(eval_windows)
    return record


def config_differences(record_a: Mapping, record_b: Mapping, factor: str | None) -> list[dict]:
    """also_differs for two config_records, leaving out keys that only one config sets."""
    return [
        row
        for row in also_differs(record_a, record_b, factor)
        if row["key"] in record_a and row["key"] in record_b
    ]


def run_record(
    checkpoint: Mapping, *, eval_windows: str, eval_precision: str | None,
    type_keys: Collection[str],
) -> dict:  # fmt: skip
    """One run's record, from its model.pt (`settings` resolved when it was trained), how
    evaluate_model scored it, and its type's own keys (the registry's defaults)."""
    settings = checkpoint["settings"]
    clip = checkpoint.get("clip_seconds")
    record = settings_record(settings, clip, eval_windows, type_keys)
    if not checkpoint.get("pretrained"):
        record["weights"] = "random"
        record.update(schedule_plan(settings, False))
    record["eval_windows"] = str(eval_windows)
    record.update(
        {
            "weights_source": checkpoint.get("weight_source"),
            "n_params": checkpoint.get("n_params"),
            "epochs_run": checkpoint.get("epochs_run"),
            "optimizer_steps": checkpoint.get("optimizer_steps"),
            "train_precision": checkpoint.get("train_precision"),
            "eval_precision": eval_precision,
        }
    )
    return record


def metrics_record(metrics: Mapping) -> dict:
    """A run's record from its metrics.json: the one evaluate_model wrote, or, for a
    metrics.json without one, one rebuilt from what it holds (its crop length is not kept
    there: null; every key its settings hold counts as the type's)."""
    if "procedure" in metrics:
        return dict(metrics["procedure"])
    settings = dict(metrics.get("settings") or {})
    checkpoint = {
        "settings": {**TRAINING_DEFAULTS, **settings, "type": metrics.get("type")},
        **{k: metrics.get(k) for k in ("pretrained", "weight_source", "n_params",
                                        "epochs_run", "optimizer_steps", "train_precision")},
    }  # fmt: skip
    return run_record(
        checkpoint, eval_windows=str(metrics.get("eval_windows")),
        eval_precision=metrics.get("eval_precision"), type_keys=settings,
    )  # fmt: skip


def owns(factor: str | None, key: str) -> bool:
    """Whether `factor` owns record key `key` (no factor owns nothing)."""
    return any(key == name or key.startswith(f"{name}.") for name in FACTORS.get(factor, ()))


def _same(key: str, a, b) -> bool:
    if key == "n_params" and isinstance(a, int) and isinstance(b, int) and max(a, b) > 0:
        return abs(a - b) <= N_PARAMS_TOLERANCE * max(a, b)
    return a == b


def also_differs(record_a: Mapping, record_b: Mapping, factor: str | None) -> list[dict]:
    """[{key, a, b}] for each key outside `factor` whose values differ (a key one record
    lacks counts as null there), in record order; parameter counts within
    N_PARAMS_TOLERANCE count as equal."""
    keys = list(dict.fromkeys([*record_a, *record_b]))
    return [
        {"key": k, "a": record_a.get(k), "b": record_b.get(k)}
        for k in keys
        if not owns(factor, k) and not _same(k, record_a.get(k), record_b.get(k))
    ]


def factor_differs(record_a: Mapping, record_b: Mapping, factor: str | None) -> bool:
    """Whether the two records differ in a key `factor` owns (for no factor: in any key)."""
    keys = {*record_a, *record_b}
    if factor is None:
        return any(not _same(k, record_a.get(k), record_b.get(k)) for k in keys)
    return any(owns(factor, k) and record_a.get(k) != record_b.get(k) for k in keys)


def unmeasured_reason(a: str, b: str, factor: str | None, record_a: Mapping) -> str:
    """Why a contrast of `factor` measures nothing: its two models are the same there."""
    if factor is None:
        return (
            f"not measured here: {a} and {b} were trained and scored by identical recorded "
            "procedures (the contrast names no factor)"
        )
    if factor == "weights" and record_a.get("weights") == "random":
        return (
            f"not measured here: neither {a} nor {b} loads pretrained weights (both start "
            "from random weights), so the two differ in no weights to compare"
        )
    held = [f"{k} {record_a[k]}" for k in record_a if owns(factor, k)]
    same = f" (both: {', '.join(held)})" if held else ""
    return f"not measured here: {a} and {b} do not differ in {factor}{same}"


def differences_text(differences: list[dict]) -> str:
    """ "lr 0.003 vs 0.001; augmentation waveform vs none" (a's value first)."""
    return "; ".join(f"{d['key']} {d['a']} vs {d['b']}" for d in differences)
