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


def rule_blocks() -> dict[str, str]:
    """Each rule of workflow/rules/*.smk -> its text."""
    rules = "\n".join(p.read_text() for p in sorted((REPO / "workflow" / "rules").glob("*.smk")))
    blocks = re.split(r"^rule ", rules, flags=re.M)[1:]
    return {block.split(":")[0]: block for block in blocks}


def rule_envs() -> dict[str, str]:
    """Each rule that runs code -> the env file its conda: directive names (envs/<name>)."""
    envs = {}
    for name, block in rule_blocks().items():
        match = re.search(r'conda:\s*"\.\./\.\./(envs/[\w.]+)"', block)
        if match:
            envs[name] = match.group(1)
    return envs


# The rules that download, generate, select and split: they start without torch
LIGHT_RULES = ("download_metadata", "download_esc50", "download_audio", "download_pool_audio",
               "make_demo_dataset", "select_subset", "select_pool", "split_dataset")  # fmt: skip


def test_every_rule_has_an_existing_env_log_and_benchmark():
    blocks = rule_blocks()
    assert len(blocks) >= 5
    envs = rule_envs()
    for name, block in blocks.items():
        runs_code = any(key in block for key in ("script:", "shell:", "run:", "wrapper:"))
        if "output:" not in block and not runs_code:
            continue  # a target rule (all, predict): it runs nothing
        for key in ("log:", "benchmark:", "conda:"):
            assert key in block, f"rule {name} has no {key}"
        assert name in envs, f"rule {name}: conda: names no file in envs/"
        assert (REPO / envs[name]).is_file(), f"rule {name}: {envs[name]} is missing"


def test_one_torch_stack_and_light_rules_without_torch():
    """`--sdm conda` builds each env file once: torch (GBs) at most twice, and the light
    rules never wait for it."""
    envs = rule_envs()
    with_torch = sorted({env for env in envs.values() if "torch" in env_pins(REPO / env)})
    assert 1 <= len(with_torch) <= 2, with_torch
    for name in LIGHT_RULES:
        assert name in envs, f"{name} is not a rule any more; update LIGHT_RULES"
        assert "torch" not in env_pins(REPO / envs[name]), f"{name}: {envs[name]} installs torch"


def test_every_env_file_is_used_by_a_rule():
    used = set(rule_envs().values())
    assert {f"envs/{path.name}" for path in ENVS} <= used, "an env file no rule names"
