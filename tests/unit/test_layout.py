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


SCRIPTS = sorted((REPO / "workflow" / "scripts").glob("*.py"))
# What every rule's script starts with, after its one-line docstring and before its imports
PREAMBLE = """
import sys

# Snakemake's script: directive runs this file with `snakemake` defined. Its output goes
# to the job's log, from before any other import so that import errors land there too.
sys.stderr = sys.stdout = open(snakemake.log[0], "w", buffering=1)  # noqa: F821

"""
ALIAS = "sm = snakemake  # noqa: F821"


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_every_script_starts_with_the_same_preamble_and_alias(path):
    text = path.read_text()
    body = ast.parse(text).body
    docstring = ast.get_docstring(ast.Module(body=body[:1], type_ignores=[]))
    assert docstring and docstring.startswith("Snakemake entry: "), path.name
    after_docstring = text.split('"""', 2)[2]
    assert after_docstring.startswith("\n" + PREAMBLE), f"{path.name}: not the preamble"
    # then its imports, then the alias: the only other place `snakemake` is named
    rest = body[3:]
    imports = next(
        i for i, node in enumerate(rest) if not isinstance(node, ast.ImportFrom | ast.Import)
    )
    assert imports >= 1 and text.splitlines()[rest[imports].lineno - 1] == ALIAS, path.name
    assert text.count("snakemake") == PREAMBLE.count("snakemake") + 1, (
        f"{path.name}: uses `snakemake` beyond the preamble; use `sm`"
    )
    # no second name for the object or its parts (`p = sm.params`)
    for node in ast.walk(ast.Module(body=rest[imports + 1 :], type_ignores=[])):
        if isinstance(node, ast.Assign):
            value = node.value.value if isinstance(node.value, ast.Attribute) else node.value
            assert not (isinstance(value, ast.Name) and value.id == "sm"), (
                f"{path.name}: {ast.get_source_segment(text, node)}: write sm.<...> in place"
            )
