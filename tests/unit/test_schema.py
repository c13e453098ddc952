"""What makes the workflow findable and citable: a config schema whose every key has a
description and a default, config/README.md naming every key, the catalog's usage matching
the README, CITATION.cff and LICENSE."""

import importlib

import pytest
import yaml

from conftest import REPO

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
# A model's settings default per model type (audioclf/learn/registry.py), and a pretraining
# config's per entry; the schema cannot give one value for every type.
PER_ENTRY = ("definitions.model.", "pretrain.*.")


def encoder_types() -> list[str]:
    """The model types whose first layer(s) an autoencoder can pretrain."""
    from audioclf.learn.registry import MODEL_TYPES

    return [name for name, entry in MODEL_TYPES.items() if entry.encoder is not None]


# Every Python constant that lists a key's allowed values, and the key in the schema whose
# enum lists them too ("*": any name of a mapping, "[]": an item of a list). The package
# cannot read the schema (it has no path to it) nor the schema import Python, so this table
# keeps the two equal: a value in one and not the other fails here. A dict's keys are its
# values; a function computes them.
ALLOWED_VALUES = [
    ("audioclf.datasets.kinds:KINDS", "dataset.kind"),
    ("audioclf.datasets.benchmarks:BENCHMARKS", "dataset.benchmark"),
    ("audioclf.datasets.download.remote_zip:METHODS", "dataset.download.method"),
    ("audioclf.choices:SILENCE_MODES", "preprocess.mode"),
    ("audioclf.choices:TOO_LONG", "preprocess.too_long"),
    ("audioclf.split.write:METHODS", "split.method"),
    ("audioclf.split.write:TEST_ON", "split.test_on"),
    ("audioclf.choices:DEVICE_CHOICES", "device"),
    ("audioclf.devices:SWITCH_CHOICES", "deterministic"),
    ("audioclf.devices:SWITCH_CHOICES", "definitions.model.mixed_precision"),
    ("audioclf.learn.registry:MODEL_TYPES", "definitions.model.type"),
    ("audioclf.learn.models:ARCHES", "definitions.model.arch"),
    ("audioclf.learn.limits:FILTERBANK_INITS", "definitions.model.init"),
    ("audioclf.pretrain:POOLS", "pretrain.*.pool"),
    ("audioclf.pretrain.autoencoder:LOSSES", "pretrain.*.loss"),
    (encoder_types, "pretrain.*.encoder"),
    ("audioclf.procedure:FACTORS", "contrasts.[].factor"),
    ("audioclf.learn.crop:EVAL_WINDOWS", "evaluation.eval_windows"),
    ("audioclf.report.layout:FIGURE_FORMATS", "report.figure_format"),
]


def keys(node: dict, where: str = "", required=()):
    """(dotted key, its schema, required?) of every key below `node`, definitions included."""
    for name, sub in node.get("properties", {}).items():
        yield f"{where}{name}", sub, name in required
        yield from keys(sub, f"{where}{name}.", sub.get("required", ()))
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        yield from keys(extra, f"{where}*.", extra.get("required", ()))
    for name, sub in node.get("definitions", {}).items():
        yield from keys(sub, f"definitions.{name}.", sub.get("required", ()))


def test_every_schema_key_has_a_description_and_a_default():
    schema = yaml.safe_load(SCHEMA.read_text())
    found = list(keys(schema, required=schema["required"]))
    assert len(found) > 100
    undescribed = [key for key, sub, _ in found if not sub.get("description")]
    # a required key has no default by definition: the config must set it
    no_default = [
        key
        for key, sub, required in found
        if "default" not in sub and not required and not key.startswith(PER_ENTRY)
    ]
    # a required key is set by every config, so a default of it would never be used
    required_with_default = [key for key, sub, required in found if required and "default" in sub]
    assert undescribed == [] and no_default == [] and required_with_default == []


def test_config_readme_names_every_top_level_and_dataset_key():
    schema = yaml.safe_load(SCHEMA.read_text())
    readme = (REPO / "config/README.md").read_text()
    names = [f"`{k}" for k in schema["properties"]]
    names += [f"`dataset.{k}" for k in schema["properties"]["dataset"]["properties"]]
    assert [n for n in names if n not in readme] == []


def test_catalog_usage_matches_the_readme_and_the_citation_names_the_license():
    catalog = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())
    usage = catalog["usage"]
    readme = (REPO / "README.md").read_text()
    assert f"snakemake {usage['mandatory-flags']['flags']}" in readme
    assert usage["software-stack-deployment"]["conda"] is True and "--sdm conda" in readme
    assert usage["report"] is True and "snakemake --report" in readme
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0" and citation["license"] == "MIT"
    assert (REPO / "LICENSE").read_text().startswith("MIT License")


def python_values(where) -> list:
    if callable(where):
        return list(where())
    module, name = where.split(":")
    return list(getattr(importlib.import_module(module), name))


def schema_enum(schema: dict, key: str) -> list:
    """The enum of dotted `key`, null left out (null means "not set", never a choice)."""
    node, parts = schema, key.split(".")
    if parts[0] == "definitions":
        node, parts = schema["definitions"][parts[1]], parts[2:]
    for part in parts:
        if part == "*":
            node = node["additionalProperties"]
        elif part == "[]":
            node = node["items"]
        else:
            node = node["properties"][part]
    return [value for value in node["enum"] if value is not None]


@pytest.mark.parametrize("where, key", ALLOWED_VALUES, ids=[key for _, key in ALLOWED_VALUES])
def test_every_python_list_of_allowed_values_is_the_schemas_enum(where, key):
    schema = yaml.safe_load(SCHEMA.read_text())
    assert sorted(python_values(where), key=repr) == sorted(schema_enum(schema, key), key=repr)


def enum_keys(node: dict, where: str = ""):
    """The dotted key of every enum below `node`, in ALLOWED_VALUES's notation."""
    if "enum" in node:
        yield where.rstrip(".")
    for name, sub in node.get("properties", {}).items():
        yield from enum_keys(sub, f"{where}{name}.")
    for part, field in (("*", "additionalProperties"), ("[]", "items")):
        if isinstance(node.get(field), dict):
            yield from enum_keys(node[field], f"{where}{part}.")
    for name, sub in node.get("definitions", {}).items():
        yield from enum_keys(sub, f"definitions.{name}.")


def test_every_enum_of_the_schema_has_its_python_constant_in_the_table():
    schema = yaml.safe_load(SCHEMA.read_text())
    assert sorted(enum_keys(schema)) == sorted({key for _, key in ALLOWED_VALUES})
