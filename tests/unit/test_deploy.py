"""Deployable as the Snakemake catalog expects: workflow/Snakefile is the workflow, every
relative path in it and its rules files resolves from the file that names it, and CI runs
the gates on a hosted runner."""

import re

import yaml

from conftest import REPO

WORKFLOW = REPO / "workflow"
# A quoted path that a Snakefile or rules file names relative to itself
RELATIVE = re.compile(r'"((?:\.\./)+[^"{}]+\.(?:yaml|py|rst|smk))"')


def test_workflow_snakefile_is_the_workflow_and_the_top_one_includes_it():
    top = (REPO / "Snakefile").read_text()
    assert re.findall(r"^include: (.+)$", top, flags=re.M) == ['"workflow/Snakefile"']
    assert "rule all:" in (WORKFLOW / "Snakefile").read_text()


def test_every_relative_path_resolves_from_the_file_that_names_it():
    entry = (WORKFLOW / "Snakefile").read_text()
    named = re.findall(r'^(?:include|report): "([^"]+)"$', entry, flags=re.M)
    assert len(named) >= 9
    for path in named:
        assert (WORKFLOW / path).is_file(), f"workflow/Snakefile: {path}"
    for rules_file in sorted((WORKFLOW / "rules").glob("*.smk")):
        paths = RELATIVE.findall(rules_file.read_text())
        for path in paths:
            assert (rules_file.parent / path).resolve().is_file(), f"{rules_file.name}: {path}"
    common = (WORKFLOW / "rules" / "common.smk").read_text()
    assert "../../config/config.yaml" in common and "../schemas/config.schema.yaml" in common


def test_nothing_resolves_from_the_base_directory_or_the_working_directory():
    """workflow.basedir is the repository from the top Snakefile and workflow/ from
    workflow/Snakefile; a module's is the user's folder."""
    for path in [WORKFLOW / "Snakefile", *sorted((WORKFLOW / "rules").glob("*.smk"))]:
        text = path.read_text()
        assert "workflow.basedir" not in text, path.name
        assert "os.getcwd" not in text and "Path.cwd" not in text, path.name


def test_ci_runs_the_lint_gates_and_the_unit_tests_on_a_hosted_runner():
    ci = yaml.safe_load((REPO / ".github" / "workflows" / "main.yml").read_text())
    (job,) = ci["jobs"].values()
    assert job["runs-on"].startswith("ubuntu-")
    commands = [step["run"] for step in job["steps"] if "run" in step]
    assert "make lint" in commands and ".venv/bin/pytest tests/unit" in commands
    lint = (REPO / "Makefile").read_text().split("\nlint:")[1].split("\n\n")[0]
    for gate in ("snakefmt --check", "snakemake --lint", "ruff check", "ruff format --check"):
        assert gate in lint, gate
