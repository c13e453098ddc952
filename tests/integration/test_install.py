"""The installable package: the wheel declares the audioclf-predict command and the
dependencies, and installed into a scratch venv it labels audio files with a trained model."""

import email
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile

import pandas as pd
import pytest
import soundfile as sf
from packaging.requirements import Requirement

from conftest import REPO, TINY_SETTINGS, train_tiny

pytestmark = pytest.mark.slow

# what the wheel is built from: the package and what pyproject.toml names
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "workflow/scripts/audioclf")
# the scratch venv's commands run without the test run's PYTHONPATH, as a user's would
CLEAN = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel, built offline from a copy of the sources (so no build files land in the
    repository) with the setuptools of the test environment."""
    if shutil.which("pip", path=str(sysconfig.get_paths()["scripts"])) is None:
        pytest.skip("the test environment has no pip to build the wheel with")
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        copy(REPO / name, source / name)
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "--quiet", "--wheel-dir", str(out), str(source)],
        check=True, timeout=300,
    )  # fmt: skip
    (found,) = out.glob("audioclf-*.whl")
    return found


def dist_info(wheel, name: str) -> str:
    with zipfile.ZipFile(wheel) as archive:
        (path,) = [p for p in archive.namelist() if p.endswith(f".dist-info/{name}")]
        return archive.read(path).decode()


def test_the_wheel_declares_the_command_and_the_dependencies(wheel):
    entry_points = dist_info(wheel, "entry_points.txt")
    assert "[console_scripts]" in entry_points
    assert "audioclf-predict = audioclf.evaluate.predict:main" in entry_points
    metadata = email.message_from_string(dist_info(wheel, "METADATA"))
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    required = [Requirement(r) for r in metadata.get_all("Requires-Dist")]
    for dependency in project["dependencies"]:
        assert Requirement(dependency) in required, dependency
    onnx = [r for r in required if r.name == "onnxruntime"]
    assert onnx and all(r.marker.evaluate({"extra": "onnx"}) for r in onnx), onnx
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "audioclf/evaluate/predict.py" in names
    assert any(n.startswith("audioclf/report/templates/") for n in names)


@pytest.fixture(scope="module")
def scratch(wheel, tmp_path_factory):
    """A fresh venv with the wheel installed --no-deps; it sees the test environment's
    packages (torch, pandas, ...) through a .pth file, never its audioclf."""
    venv = tmp_path_factory.mktemp("scratch") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, env=CLEAN,
    ).stdout.strip()  # fmt: skip
    ours = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    (venv / site.removeprefix(str(venv) + "/") / "test_env.pth").write_text(
        "\n".join(sorted(ours)) + "\n"
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "--quiet", str(wheel)],
        check=True, timeout=300,
    )  # fmt: skip
    return venv


def test_the_installed_command_labels_audio_files(scratch, tmp_path):
    from audioclf.contracts import SPLIT
    from audioclf.preprocess.cache import PackedClips
    from synthetic import synthetic_clips, synthetic_split

    command = scratch / "bin" / "audioclf-predict"
    where = subprocess.run(
        [scratch / "bin" / "python", "-c", "import audioclf; print(audioclf.__file__)"],
        check=True, capture_output=True, text=True, cwd=tmp_path, env=CLEAN,
    ).stdout  # fmt: skip
    assert where.startswith(str(scratch)), f"audioclf imported from {where}, not the wheel"
    helped = subprocess.run(
        [command, "--help"], capture_output=True, text=True, timeout=120, env=CLEAN
    )
    assert helped.returncode == 0 and "audio" in helped.stdout, helped.stderr[-2000:]

    cache = synthetic_clips(n_classes=3, clips_per_class=8, seed=2)
    cache.save(tmp_path / "cache.pt")
    SPLIT.write(tmp_path / "split.csv", synthetic_split(cache))
    settings = {"type": "raw1d", **TINY_SETTINGS["raw1d"], "epochs": 2}
    model = train_tiny(tmp_path, tmp_path / "model", settings).model
    audio = tmp_path / "audio"
    audio.mkdir()
    clips = PackedClips.load(tmp_path / "cache.pt")
    for i in range(4):
        sf.write(audio / f"clip{i}.wav", clips.clip(i).numpy(), clips.sample_rate)
    out = tmp_path / "predictions.csv"
    result = subprocess.run(
        [command, str(model), str(audio), "--out", str(out), "--device", "cpu"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=CLEAN,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    table = pd.read_csv(out)
    assert len(table) == 4 and "predicted" in table.columns
    assert set(table["predicted"]) <= set(clips.labels), table["predicted"].tolist()
