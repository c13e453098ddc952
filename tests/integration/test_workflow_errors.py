"""What a new user meets first, through snakemake's real command line: config given with
--config, and a failed download's hint on the console (not only in its log)."""

import socket

import pytest

from conftest import jobs_of, make_workdir, snakemake

pytestmark = pytest.mark.slow

DEMO = {"dataset": {"kind": "demo"}, "seeds": [0]}


@pytest.mark.parametrize(
    "entry, check",
    [
        ("seeds=[0,1]", lambda jobs: jobs["train_model"] == 2 * jobs["summarize_model"]),
        ("models={raw: {lr: 0.001, epochs: 3}}", lambda jobs: jobs["train_model"] > 0),
        ("split={vary_with_seed: true, seed: 4}", lambda jobs: jobs["split_dataset"] == 1),
        ("clip_seconds=2.5", lambda jobs: jobs["train_model"] > 0),
    ],
)
def test_command_line_config_is_read_as_the_schema_types(tmp_path, entry, check):
    workdir = make_workdir(tmp_path, DEMO)
    out = snakemake(workdir, "-n", "--configfile", "config/test.yaml", "--config", entry)
    assert check(jobs_of(out.stdout)), out.stdout[-2000:]


def test_a_command_line_value_of_the_wrong_type_fails_naming_the_key(tmp_path):
    workdir = make_workdir(tmp_path, DEMO)
    out = snakemake(workdir, "-n", "--configfile", "config/test.yaml",
                    "--config", "seeds=[0,x]", check=False)  # fmt: skip
    assert out.returncode != 0
    assert "seeds.1: 'x' (from --config) is not integer; fix that --config entry" in (
        out.stdout + out.stderr
    )


def test_an_offline_download_prints_its_hint_on_the_console(tmp_path):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = {"dataset": {"kind": "fsdkaggle2018", "base_url": f"http://127.0.0.1:{port}",
                          "download": {"retries": 0}}}  # fmt: skip
    workdir = make_workdir(tmp_path, config)
    out = snakemake(workdir, "--cores", "1", "--configfile", "config/test.yaml", check=False)
    assert out.returncode != 0
    console = out.stdout + out.stderr
    assert "run the offline demo instead" in console, console[-3000:]
