"""Config validation against the JSON schema, with errors that name the key."""

from __future__ import annotations

import math
import os
import sys

import jsonschema
import yaml

from audioclf.datasets.benchmarks import benchmark_name
from audioclf.datasets.files import check_path_template
from audioclf.datasets.kinds import OFFICIAL_SPLIT_KINDS
from audioclf.learn.limits import check_pretrained, check_sample_rate, check_settings
from audioclf.pretrain import DEFAULT_POOL
from audioclf.procedure import (
    config_differences,
    config_record,
    differences_text,
    factor_differs,
    unmeasured_reason,
)
from audioclf.runs import train_percent
from audioclf.split.fractions import fractions_problem


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


def validate_config(config: dict, schema_path: str | os.PathLike, cli: dict | None = None) -> dict:
    """Raise ConfigError naming every wrong key; fill schema defaults; return the config.

    `cli` is what `snakemake --config` set (Snakemake parses nested values as strings):
    those values are converted to the schema's types first (see from_command_line).
    """
    with open(schema_path) as handle:
        schema = yaml.safe_load(handle)
    if cli:
        from_command_line(config, cli, schema)
    leave_out_models(config)
    validator_cls = jsonschema.validators.validator_for(schema)
    errors = sorted(validator_cls(schema).iter_errors(config), key=lambda e: list(e.path))
    if errors:
        lines = [f"  {_key(e.absolute_path)}: {_message(e)}" for e in errors]
        raise ConfigError(
            "the configuration is invalid (see config/README.md for every key):\n"
            + "\n".join(lines)
        )
    _fill_defaults(config, schema)
    resolve_split_method(config)
    check_models(config)
    check_split(config)
    check_pretraining(config)
    for warning in config_warnings(config):
        print(f"warning: {warning}", file=sys.stderr)
    return config


def apply_defaults(config: dict, defaults_path: str | os.PathLike) -> dict:
    """Put the workflow's own config file (`defaults_path`, config/config.yaml) beneath
    `config`, in place: a key `config` sets wins, as a later config file's does (mappings
    merge key by key, anything else is replaced), and every other key comes from the file.
    Merging it again changes nothing."""
    # Snakemake's own merge of one config file over another, so the two cannot differ;
    # imported here, as validation alone needs none of snakemake
    from snakemake.utils import update_config

    with open(defaults_path) as handle:
        merged = yaml.safe_load(handle) or {}
    update_config(merged, config)
    config.clear()
    config.update(merged)
    return config


def leave_out_models(config: dict) -> None:
    """Drop each model a later config file sets to null (`models: {name: null}`): config
    files merge key by key, so null is how one leaves out a model an earlier file names;
    a contrast of a model left out is listed as skipped."""
    models = config.get("models")
    if isinstance(models, dict):
        config["models"] = {name: m for name, m in models.items() if m is not None}


def config_warnings(config: dict) -> list[str]:
    """What the config sets that will not mean what it seems: a contrast whose two models
    differ outside its factor (naming the keys) or not in its factor at all, and settings no
    longer used. Settings alone (audioclf.procedure.config_record); the records written when
    the models are trained and scored (parameter counts, precision, weights loaded) are
    compared again by compare_models, and the report prints what differs."""
    warnings = []
    models = config.get("models") or {}
    evaluation = config.get("evaluation") or {}
    for position, contrast in enumerate(config.get("contrasts") or []):
        a, b, factor = contrast.get("a"), contrast.get("b"), contrast.get("factor")
        if a not in models or b not in models:
            continue
        where = f"contrasts.{position} ({contrast.get('name')}: {a} vs {b})"
        if factor is None:
            warnings.append(f"{where} names no factor: every difference will be listed")
        records = [
            config_record(models[m], float(config.get("clip_seconds", 5)),
                          str(evaluation.get("eval_windows", "sliding")))
            for m in (a, b)
        ]  # fmt: skip
        differences = config_differences(*records, factor)
        if differences:
            warnings.append(
                f"{where} is meant to differ in {factor} alone, but also differs in "
                f"{differences_text(differences)}; give both models the same settings there, "
                "or name the factor these measure"
            )
        if factor is not None and not factor_differs(*records, factor):
            # (settings alone: a key one config leaves to its type's default counts as
            # unknown, so this says "not measured" only when what both set is the same)
            warnings.append(f"{where}: {unmeasured_reason(a, b, factor, records[0])}")
    for key in ("bootstrap_draws", "bootstrap_seed"):
        if evaluation.get(key) is not None:
            warnings.append(
                f"evaluation.{key} is no longer used: intervals are t intervals over seeds "
                "and test clips (config/README.md); remove it"
            )
    return warnings


def check_pretraining(config: dict) -> None:
    """Every `pretrained: autoencoder:<name>` names a pretraining config whose encoder is of
    the model's own type (one type's first layers do not fit another's; its shape is
    checked when the encoder is loaded, by the registry's encoder_settings); each pool has
    what it draws from."""
    pretrain = config.get("pretrain") or {}
    kind = config.get("dataset", {}).get("kind")
    wrong = []
    for name, p in pretrain.items():
        pool = p.get("pool", DEFAULT_POOL)
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
        if pool == "other_labels" and kind not in OFFICIAL_SPLIT_KINDS:
            wrong.append(f"  pretrain.{name}.pool: other_labels needs dataset.kind "
                         f"{' or '.join(OFFICIAL_SPLIT_KINDS)} (labels to leave out), not {kind}; "
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


def resolve_split_method(config: dict) -> None:
    """split.method null is the dataset's own protocol: folds for a benchmark with official
    folds (esc50, or a folder that sets dataset.benchmark), else stratified. Resolved here,
    so the rules' params hold the method."""
    split = config.setdefault("split", {})
    if split.get("method") is None:
        dataset = config.get("dataset", {})
        has_folds = benchmark_name(dataset) is not None
        split["method"] = "folds" if has_folds else "stratified"


def check_split(config: dict) -> None:
    """split.method official and split.test_on verified need a dataset that has its own
    test set and label checks (a folder of the user's audio has neither); split.fractions
    must add up to 1; train_fractions must hold 1.0 and whole percents; a folder's
    dataset.path_template must stay inside dataset.path (datasets/files.py)."""
    kind = config.get("dataset", {}).get("kind")
    split = config.get("split", {})
    wrong = []
    official = " or ".join(OFFICIAL_SPLIT_KINDS)
    if split.get("method") == "official" and kind not in OFFICIAL_SPLIT_KINDS:
        wrong.append(f"  split.method: official needs dataset.kind {official}"
                     f" (its own test set), not {kind}; use stratified or folds")  # fmt: skip
    if split.get("test_on") == "verified" and kind not in OFFICIAL_SPLIT_KINDS:
        wrong.append(f"  split.test_on: verified needs a dataset with label checks "
                     f"({official}), not {kind}; use all")  # fmt: skip
    problem = fractions_problem(split.get("fractions") or {})
    if problem:
        wrong.append(f"  split.fractions: {problem}; fix them")
    template = config.get("dataset", {}).get("path_template")
    if kind == "folder" and template:
        try:
            check_path_template(template)
        except ValueError as err:
            wrong.append(f"  {err}")
    fractions = [float(f) for f in config.get("train_fractions", [1.0])]
    if 1.0 not in fractions:
        wrong.append(f"  train_fractions: {fractions} must include 1.0, the whole train split, "
                     "which every model's scores and comparisons use")  # fmt: skip
    for f in fractions:
        try:
            train_percent(f)
        except ValueError as err:
            wrong.append(f"  {err}")
    if wrong:
        raise ConfigError(
            "the configuration is invalid (see config/README.md for every key):\n"
            + "\n".join(wrong)
        )


def check_models(config: dict) -> None:
    """Model settings the schema cannot check (they depend on each other, on the type or on
    the sample rate), each error naming the model's key: learn/limits.py's check_settings,
    check_sample_rate (a type defined at one rate) and check_pretrained (weights that fit
    the type), before any download or preprocessing."""
    sample_rate = _sample_rate(config)
    errors = []
    for name, settings in (config.get("models") or {}).items():
        try:
            check_settings(settings, sample_rate)
        except ValueError as err:
            errors.append(f"  models.{name}: {err} (at preprocess.sample_rate {sample_rate} Hz)")
        try:
            check_sample_rate(settings.get("type"), sample_rate)
        except ValueError as err:
            errors.append(f"  models.{name}.type: {err}")
        try:
            check_pretrained(settings.get("type"), settings.get("pretrained"))
        except ValueError as err:
            errors.append(f"  models.{name}.pretrained: {err}")
    if errors:
        raise ConfigError(
            "the configuration is invalid (see config/README.md for every key):\n"
            + "\n".join(errors)
        )


# YAML 1.1's words for booleans and null, as a YAML file would read them
_BOOLEANS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
_NULLS = {"null", "~"}


def from_command_line(config: dict, cli: dict, schema: dict) -> None:
    """Convert, in place, each value `snakemake --config` set to the schema's type.

    Snakemake reads `--config seeds=[0,1]` as the list ["0", "1"] and
    `--config 'models={raw: {lr: 0.001}}'` as {"raw": {"lr": "0.001"}}: every nested
    scalar is a string. Each such string is read as the schema asks at its key (integer,
    number, boolean, null; a list or a map given as one string is parsed as YAML first),
    so the values mean what they would in a config file. A value the schema's type cannot
    take raises ConfigError naming the key and the `--config` entry to fix.
    """
    _apply(config, cli, schema, schema, "")


def _apply(config: dict, cli: dict, node: dict, schema: dict, where: str) -> None:
    """Convert the values `cli` set in `config` (they won the merge with the config files),
    leaving what the files set as it is."""
    for key, value in cli.items():
        if key not in config:
            continue
        sub, path = _node(schema, node, key), f"{where}{key}"
        if isinstance(value, dict) and isinstance(config[key], dict):
            _apply(config[key], value, sub, schema, f"{path}.")
        else:
            config[key] = _convert(config[key], sub, schema, path)


def _node(schema: dict, node: dict, key) -> dict:
    """The schema of `key` inside object schema `node` ({} when it says nothing)."""
    node = _resolve(schema, node)
    if key in node.get("properties", {}):
        return _resolve(schema, node["properties"][key])
    extra = node.get("additionalProperties")
    return _resolve(schema, extra) if isinstance(extra, dict) else {}


def _resolve(schema: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        target = schema
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node or {}


def _types(node: dict) -> list[str]:
    kinds = node.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    for option in node.get("oneOf", []) + node.get("anyOf", []):
        kinds += _types(option)
    return kinds


def _convert(value, node: dict, schema: dict, where: str):
    kinds = _types(node)
    if (
        isinstance(value, str)
        and value.strip()[:1] in ("[", "{")
        and ("array" in kinds or "object" in kinds)
    ):
        try:
            value = yaml.load(value, Loader=yaml.BaseLoader)  # strings, as Snakemake's own
        except yaml.YAMLError as err:
            first = str(err).splitlines()[0] if str(err) else "unreadable"
            raise _cli_error(where, value, f"is not a YAML list or map ({first})") from None
    if isinstance(value, list):
        items = _resolve(schema, node.get("items", {}))
        return [_convert(v, items, schema, f"{where}.{i}") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {
            k: _convert(v, _node(schema, node, k), schema, f"{where}.{k}") for k, v in value.items()
        }
    if (
        not isinstance(value, str)
        or not kinds
        or "string" in kinds
        and not ({"boolean", "null"} & set(kinds) and value.lower() in {*_BOOLEANS, *_NULLS})
    ):
        return value
    text = value.strip()
    if "null" in kinds and text.lower() in _NULLS:
        return None
    if "boolean" in kinds and text.lower() in _BOOLEANS:
        return _BOOLEANS[text.lower()]
    if "integer" in kinds:
        try:
            return int(text)
        except ValueError:
            number = _finite(text)
            if number is not None and number.is_integer():  # 1.0, as a file may write it
                return int(number)
    if "number" in kinds:
        number = _finite(text)
        if number is not None:
            return number
    if "string" in kinds:
        return value
    raise _cli_error(where, value, f"is not {' or '.join(kinds)}")


def _finite(text: str) -> float | None:
    """The number `text` reads as, or None (also for nan and infinities: no key takes them)."""
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _cli_error(where: str, value, problem: str) -> ConfigError:
    return ConfigError(
        "the configuration is invalid (see config/README.md for every key):\n"
        f"  {where}: {value!r} (from --config) {problem}; fix that --config entry"
    )


def _fill_defaults(config: dict, schema: dict) -> None:
    for key, sub in schema.get("properties", {}).items():
        if key not in config and "default" in sub:
            config[key] = sub["default"]
        if isinstance(config.get(key), dict) and sub.get("type") == "object":
            _fill_defaults(config[key], sub)
