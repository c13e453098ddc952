"""The package mirrors the stages: one subpackage per rules file, each saying what it owns."""

import ast

import pytest

from conftest import REPO

PACKAGE = REPO / "workflow" / "scripts" / "audioclf"
STAGES = {  # subpackage -> its rules file
    "datasets": "datasets.smk",
    "preprocess": "preprocess.smk",
    "split": "split.smk",
    "pretrain": "pretrain.smk",
    "learn": "learn.smk",
    "evaluate": "evaluate.smk",
    "report": "report.smk",
}


def test_every_rules_file_but_common_has_its_subpackage():
    rules = {p.name for p in (REPO / "workflow" / "rules").glob("*.smk")} - {"common.smk"}
    assert rules == set(STAGES.values())


@pytest.mark.parametrize("name", sorted(STAGES))
def test_each_subpackage_says_what_it_owns_and_which_rules_call_it(name):
    docstring = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text()))
    assert docstring and len(docstring.split()) >= 20, name
    rules = (REPO / "workflow" / "rules" / STAGES[name]).read_text()
    called = [r.split(":")[0] for r in rules.split("\nrule ")[1:] if "script:" in r]
    assert called, STAGES[name]
    assert all(rule in docstring for rule in called), (name, called)
