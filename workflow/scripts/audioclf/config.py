"""Config validation against the JSON schema, with errors that name the key."""

from __future__ import annotations

import os

import jsonschema
import yaml

from audioclf.learn.limits import check_settings


class ConfigError(ValueError):
    """The configuration does not match workflow/schemas/config.schema.yaml."""


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return f"{error.message}; allowed keys here: {', '.join(allowed)}"
    if error.validator == "oneOf" and error.context:
        return "; or ".join(sorted({e.message for e in error.context}))
    return error.message


def validate_config(config: dict, schema_path: str | os.PathLike) -> dict:
    """Raise ConfigError naming every wrong key; fill schema defaults; return the config."""
    with open(schema_path) as handle:
        schema = yaml.safe_load(handle)
    validator_cls = jsonschema.validators.validator_for(schema)
    errors = sorted(validator_cls(schema).iter_errors(config), key=lambda e: list(e.path))
    if errors:
        lines = [f"  {_key(e.absolute_path)}: {_message(e)}" for e in errors]
        raise ConfigError(
            "the configuration is invalid (see config/README.md for every key):\n"
            + "\n".join(lines)
        )
    _fill_defaults(config, schema)
    check_models(config)
    check_split(config)
    check_pretraining(config)
    return config


def check_pretraining(config: dict) -> None:
    """Every `pretrained: autoencoder:<name>` names a pretraining config whose encoder is of
    the model's own type (one type's first layers do not fit another's; its shape is
    checked when the encoder is loaded, by the registry's encoder_settings); each pool has
    what it draws from."""
    pretrain = config.get("pretrain") or {}
    kind = config.get("dataset", {}).get("kind")
    wrong = []
    for name, p in pretrain.items():
        pool = p.get("pool", "train")
        if pool == "folder" and not p.get("folders"):
            wrong.append(f"  pretrain.{name}.folders: pool folder needs one or more folders of "
                         "unlabeled audio; list them, or use pool: train")  # fmt: skip
        missing = [f for f in p.get("folders") or [] if not os.path.isdir(f)]
        if pool == "folder" and missing:
            wrong.append(f"  pretrain.{name}.folders: {missing} not a folder (paths are relative "
                         "to the working directory); fix the path(s)")  # fmt: skip
        if pool != "folder" and p.get("folders"):
            wrong.append(f"  pretrain.{name}.folders: set, but pool is {pool}; set pool: "
                         "folder or remove folders")  # fmt: skip
        if pool == "other_labels" and kind not in OFFICIAL_KINDS:
            wrong.append(f"  pretrain.{name}.pool: other_labels needs dataset.kind "
                         f"{' or '.join(OFFICIAL_KINDS)} (labels to leave out), not {kind}; "
                         "use train or folder")  # fmt: skip
        try:
            check_settings(p.get("settings") or {}, _sample_rate(config))
        except ValueError as err:
            wrong.append(f"  pretrain.{name}.settings: {err}")
    for model, settings in (config.get("models") or {}).items():
        pretrained = settings.get("pretrained")
        if not (isinstance(pretrained, str) and pretrained.startswith("autoencoder:")):
            continue
        name = pretrained.split(":", 1)[1]
        type_ = settings.get("type")
        if name not in pretrain:
            wrong.append(f"  models.{model}.pretrained: {pretrained} names no pretraining "
                         f"config; pretrain has {sorted(pretrain) or 'none'}")  # fmt: skip
        elif pretrain[name].get("encoder") != type_:
            wrong.append(f"  models.{model}.pretrained: pretrain.{name} has a "
                         f"{pretrain[name].get('encoder')} encoder, which does not fit type "
                         f"{type_}; pretrain an encoder: {type_}")  # fmt: skip
    if wrong:
        raise ConfigError(
            "the configuration is invalid (see config/README.md for every key):\n"
            + "\n".join(wrong)
        )


def _sample_rate(config: dict) -> int:
    return int(config.get("preprocess", {}).get("sample_rate", 16000))


# datasets with their own test set and a manually_verified flag per clip
OFFICIAL_KINDS = ("fsdkaggle2018", "demo")


def check_split(config: dict) -> None:
    """split.method official and split.test_on verified need a dataset that has its own
    test set and label checks (a folder of the user's audio has neither); train_fractions
    must hold 1.0 and whole percents."""
    kind = config.get("dataset", {}).get("kind")
    split = config.get("split", {})
    wrong = []
    if split.get("method") == "official" and kind not in OFFICIAL_KINDS:
        wrong.append(f"  split.method: official needs dataset.kind {' or '.join(OFFICIAL_KINDS)}"
                     f" (its own test set), not {kind}; use stratified or folds")  # fmt: skip
    if split.get("test_on") == "verified" and kind not in OFFICIAL_KINDS:
        wrong.append(f"  split.test_on: verified needs a dataset with label checks "
                     f"({' or '.join(OFFICIAL_KINDS)}), not {kind}; use all")  # fmt: skip
    fractions = [float(f) for f in config.get("train_fractions", [1.0])]
    if 1.0 not in fractions:
        wrong.append(f"  train_fractions: {fractions} must include 1.0, the whole train split, "
                     "which every model's scores and comparisons use")  # fmt: skip
    for f in fractions:
        if f < 1 and abs(100 * f - round(100 * f)) > 1e-9:
            wrong.append(f"  train_fractions: {f} must be a whole percent (0.25, not 0.255)")
    if wrong:
        raise ConfigError(
            "the configuration is invalid (see config/README.md for every key):\n"
            + "\n".join(wrong)
        )


def check_models(config: dict) -> None:
    """Model settings the schema cannot check (they depend on each other or on the sample
    rate), each error naming the model's key: learn/limits.py's check_settings."""
    sample_rate = _sample_rate(config)
    errors = []
    for name, settings in (config.get("models") or {}).items():
        try:
            check_settings(settings, sample_rate)
        except ValueError as err:
            errors.append(f"  models.{name}: {err} (at preprocess.sample_rate {sample_rate} Hz)")
    if errors:
        raise ConfigError(
            "the configuration is invalid (see config/README.md for every key):\n"
            + "\n".join(errors)
        )


def _fill_defaults(config: dict, schema: dict) -> None:
    for key, sub in schema.get("properties", {}).items():
        if key not in config and "default" in sub:
            config[key] = sub["default"]
        if isinstance(config.get(key), dict) and sub.get("type") == "object":
            _fill_defaults(config[key], sub)
