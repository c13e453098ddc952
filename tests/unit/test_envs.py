"""Every rule has a pinned env, and every env pin agrees with requirements.txt."""

import re

import pytest
import yaml

from conftest import REPO

PIN = re.compile(r"^([A-Za-z0-9_.-]+)\s*==\s*(\S+)$")


def requirement_pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def env_pins(path) -> dict[str, str]:
    env = yaml.safe_load(path.read_text())
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for line in dep["pip"]:
                match = PIN.match(line)
                assert match, f"{path.name}: pip dependency {line!r} is not pinned with =="
                pins[match.group(1).lower()] = match.group(2)
    return pins


ENVS = sorted((REPO / "envs").glob("*.yaml"))


def test_requirements_pin_the_tested_stack():
    pins = requirement_pins()
    expected = {"torch": "2.14.1", "torchvision": "0.29.1", "torchaudio": "2.11.0",
                "fastai": "2.8.12", "snakemake": "9.27.1"}  # fmt: skip
    assert {k: pins.get(k) for k in expected} == expected


@pytest.mark.parametrize("path", ENVS, ids=[p.stem for p in ENVS])
def test_env_pins_agree_with_requirements(path):
    pins, required = env_pins(path), requirement_pins()
    assert pins, f"{path.name} pins nothing"
    for name, version in pins.items():
        assert name in required, f"{path.name}: {name} is not in requirements.txt"
        assert version == required[name], (
            f"{path.name}: {name}=={version} but requirements.txt has {required[name]}"
        )


def test_every_rule_has_an_existing_env_log_and_benchmark():
    rules = "\n".join(p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk"))
    blocks = re.split(r"^rule ", rules, flags=re.M)[1:]
    assert len(blocks) >= 5
    for block in blocks:
        name = block.split(":")[0]
        if "output:" not in block:
            continue  # a target rule (all, predict): it runs nothing
        for key in ("log:", "benchmark:", "conda:"):
            assert key in block, f"rule {name} has no {key}"
        env = re.search(r'conda:\s*"\.\./\.\./(envs/[\w.]+)"', block).group(1)
        assert (REPO / env).is_file(), f"rule {name}: {env} is missing"
