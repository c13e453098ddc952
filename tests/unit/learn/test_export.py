"""ONNX export: a model type its registry entry marks unexportable is refused by name, and
predict's --help and the ONNX scoring module import no torch."""

import subprocess
import sys

import pytest

from audioclf.learn.checkpoint import load_checkpoint, save_checkpoint
from audioclf.learn.export import ExportError, export_model
from audioclf.learn.registry import MODEL_TYPES, register
from conftest import REPO


@pytest.fixture
def unexportable_type():
    """A type registered with onnx_export=False (raw1d's network), removed afterwards."""
    raw1d = MODEL_TYPES["raw1d"]
    register(
        "test_unexportable",
        description="raw1d that claims it cannot export",
        waveform_input=True,
        onnx_export=False,
        defaults=raw1d.defaults,
    )(raw1d.builder)
    try:
        yield "test_unexportable"
    finally:
        del MODEL_TYPES["test_unexportable"]


def test_an_unexportable_type_is_refused_by_name(tiny, tmp_path, unexportable_type):
    checkpoint = load_checkpoint(tiny.models["raw1d"].model)
    checkpoint["type"] = unexportable_type
    checkpoint["settings"] = {**checkpoint["settings"], "type": unexportable_type}
    save_checkpoint(tmp_path / "model.pt", checkpoint)
    with pytest.raises(ExportError, match="'test_unexportable' does not export to ONNX"):
        export_model(tmp_path / "model.pt", tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
        capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    return set(out.stdout.split())


def test_predict_help_imports_neither_torch_nor_pandas():
    loaded = _modules_after(
        "from audioclf.evaluate.predict import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert "argparse" in loaded
    assert not {"torch", "pandas"} & loaded


def test_scoring_with_onnx_imports_no_torch():
    loaded = _modules_after(
        "from audioclf.evaluate.onnx_model import load_onnx, onnx_probabilities\n"
        "from audioclf.evaluate.tables import prediction_table"
    )
    assert "audioclf.evaluate.onnx_model" in loaded
    assert "torch" not in loaded
