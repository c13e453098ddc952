"""What makes the workflow findable and citable: a config schema whose every key has a
description and a default, config/README.md naming every key, the catalog's usage matching
the README, CITATION.cff and LICENSE."""

import yaml

from conftest import REPO

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
# A model's settings default per model type (audioclf/learn/registry.py), and a pretraining
# config's per entry; the schema cannot give one value for every type.
PER_ENTRY = ("definitions.model.", "pretrain.*.")


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
