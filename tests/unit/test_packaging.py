"""pyproject.toml: its dependency ranges admit the versions requirements.txt pins, and its
command points at a function that exists."""

import ast
import importlib
import sys
import tomllib

from packaging.requirements import Requirement
from test_envs import requirement_pins

from conftest import REPO

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def declared(extras: bool = True) -> list[Requirement]:
    lines = list(PROJECT["dependencies"])
    if extras:
        lines += [line for group in PROJECT["optional-dependencies"].values() for line in group]
    return [Requirement(line) for line in lines]


def test_every_range_admits_the_tested_pin():
    pins = requirement_pins()
    for requirement in declared(extras=False):
        assert requirement.name.lower() in pins, f"{requirement.name}: not in requirements.txt"
    for requirement in declared():
        name = requirement.name.lower()
        assert name not in pins or requirement.specifier.contains(pins[name]), (
            f"pyproject.toml: {requirement} excludes the tested {name}=={pins[name]}"
        )


# import name -> the declared distribution that provides it (its own, or a dependency's)
PROVIDED_BY = {
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
    "jsonschema": "snakemake",  # snakemake's dependency, for config validation
    "urllib3": "requests",  # requests' dependency, for its retry policy
}


def imported_modules(path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_the_package_imports_only_what_it_declares():
    """Every third-party module imported under workflow/scripts/audioclf is provided by a
    declared dependency."""
    names = {r.name.lower() for r in declared()}
    package = REPO / "workflow" / "scripts" / "audioclf"
    found = set().union(*(imported_modules(p) for p in package.rglob("*.py")))
    third_party = found - set(sys.stdlib_module_names) - {"__future__", "audioclf"}
    missing = {m for m in third_party if PROVIDED_BY.get(m, m).lower() not in names}
    assert not missing, f"imported but not declared in pyproject.toml: {sorted(missing)}"


def test_the_predict_command_points_at_a_main():
    target = PROJECT["scripts"]["audioclf-predict"]
    module, function = target.split(":")
    assert module == "audioclf.evaluate.predict" and function == "main"
    assert callable(getattr(importlib.import_module(module), function))
