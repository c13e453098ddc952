"""The model registry is the one place a model type is named, and every type works end to end."""

import ast
import json

import pandas as pd
import pytest
import torch
import yaml

from audioclf.evaluate.scoring import evaluate
from audioclf.learn.checkpoint import load_checkpoint, rebuild_model
from audioclf.learn.registry import (
    MODEL_TYPES,
    TRAINING_DEFAULTS,
    ModelType,
    add,
    build_model,
    model_type,
    register,
    resolve_settings,
)
from audioclf.report.summary import type_words
from conftest import REPO, TINY_SETTINGS

PACKAGE = REPO / "workflow" / "scripts" / "audioclf"
# String constants that equal a type's name but mean something else: the report's figure
# of the example clip's spectrogram.
# And the torch-free record of a published weights file, which names the type it fits
# (the config check reads it without importing the registry).
NOT_MODEL_TYPES = {
    ("report/layout.py", "spectrogram"),
    ("report/build.py", "spectrogram"),
    ("learn/published.py", "cnn14"),
}


def schema_model_types() -> list[str]:
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    return schema["definitions"]["model"]["properties"]["type"]["enum"]


def test_the_schema_enum_and_the_registry_list_the_same_types():
    assert sorted(schema_model_types()) == sorted(MODEL_TYPES)


def test_every_configured_type_is_registered():
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    assert {m["type"] for m in config["models"].values()} <= set(MODEL_TYPES)


def registered_names(tree: ast.AST) -> set[int]:
    """ids of the string nodes that name a type in a `@register("name", ...)` call."""
    return {
        id(node.args[0])
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "register" and node.args
    }


def test_no_module_names_a_model_type_but_at_its_registration():
    found, registered = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text())
        names = registered_names(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and node.value in MODEL_TYPES):
                continue
            if id(node) in names:
                registered.append(node.value)
            elif (where, node.value) not in NOT_MODEL_TYPES:
                found.append(f"{where}:{node.lineno} {node.value!r}")
    assert not found, f"model types named outside their @register(...): {found}"
    assert sorted(registered) == sorted(MODEL_TYPES), "each type is registered exactly once"


def test_an_unknown_type_fails_with_the_list():
    known = ", ".join(MODEL_TYPES)
    with pytest.raises(ValueError, match=f"'cnn2d' is not one of {known}"):
        model_type("cnn2d")
    with pytest.raises(ValueError, match="'cnn2d' is not one of"):
        build_model({"type": "cnn2d"}, 3, 16000, 16000)
    with pytest.raises(ValueError, match="'cnn2d' is not one of"):
        resolve_settings({"type": "cnn2d", "epochs": 1})
    with pytest.raises(ValueError, match="have no `type`"):
        resolve_settings({"epochs": 1})


def test_a_type_is_registered_once_and_keeps_training_settings_apart():
    entry = MODEL_TYPES["raw1d"]
    with pytest.raises(ValueError, match="registered twice"):
        add(entry)
    with pytest.raises(ValueError, match="registered twice"):
        register("raw1d", description="again", waveform_input=True)(entry.builder)
    with pytest.raises(ValueError, match="training settings"):
        ModelType("x", entry.builder, {"lr": 1.0}, "x", True, False, None)
    with pytest.raises(ValueError, match="augmentation"):
        ModelType("x", entry.builder, {}, "x", True, False, "mixup")


def test_resolved_settings_fill_training_then_type_defaults():
    settings = resolve_settings({"type": "raw1d_deep", "epochs": 3, "channels": 8})
    assert settings["epochs"] == 3 and settings["channels"] == 8
    assert settings["lr"] == TRAINING_DEFAULTS["lr"]
    assert settings["blocks"] == MODEL_TYPES["raw1d_deep"].defaults["blocks"]


def test_every_type_has_a_tiny_model_and_words_for_the_report():
    assert set(TINY_SETTINGS) == set(MODEL_TYPES)
    for name, entry in MODEL_TYPES.items():
        assert type_words(name) == entry.description and entry.description


@pytest.mark.parametrize("name", list(MODEL_TYPES))
def test_every_type_trains_records_its_settings_rebuilds_and_evaluates(tiny, name, tmp_path):
    trained = tiny.models[name]
    checkpoint = load_checkpoint(trained.model)
    assert checkpoint["type"] == name
    # model.pt holds the resolved settings, so nothing downstream re-merges defaults
    assert checkpoint["settings"] == resolve_settings(trained.settings)
    model = rebuild_model(checkpoint)
    wave = torch.randn(2, 1, int(checkpoint["clip_seconds"] * checkpoint["sample_rate"]))
    with torch.no_grad():
        assert model(wave).shape == (2, len(checkpoint["classes"]))
    metrics = evaluate(
        tiny.cache, tiny.split, trained.model, tmp_path / "p.csv", tmp_path / "m.json",
        trained.history, device="cpu", threads=1,
    )  # fmt: skip
    assert metrics["type"] == name and metrics["settings"] == checkpoint["settings"]
    assert metrics["n_params"] == trained.result["n_params"]
    assert len(pd.read_csv(tmp_path / "p.csv")) == metrics["n_test"]


@pytest.mark.parametrize("name", list(MODEL_TYPES))
def test_every_type_learns_the_tiny_set(tiny, name):
    history = pd.read_csv(tiny.models[name].history)
    assert history["train_loss"].iloc[-2:].mean() < history["train_loss"].iloc[:2].mean()
    assert history["valid_accuracy"].max() > 1 / 3 + 0.15, history


@pytest.mark.parametrize("name", list(MODEL_TYPES))
def test_evaluation_mode_is_deterministic_and_training_mode_augments(tiny, name):
    model = rebuild_model(load_checkpoint(tiny.models[name].model))
    wave = torch.randn(3, 1, 16000, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        first, second = model.eval()(wave), model(wave)
        assert torch.equal(first, second)
        if MODEL_TYPES[name].augmentation:
            torch.manual_seed(0)
            features = model.train()
            trained = [features(wave) for _ in range(2)]
            assert not torch.equal(trained[0], trained[1]), "augmentation should draw anew"


@pytest.mark.parametrize("name", list(MODEL_TYPES))
def test_predict_reproduces_evaluate_for_every_type(tiny, name, tmp_path):
    import soundfile as sf

    from audioclf.evaluate.predict import predict_files
    from audioclf.preprocess.cache import PackedClips

    trained = tiny.models[name]
    evaluate(
        tiny.cache, tiny.split, trained.model, tmp_path / "p.csv", tmp_path / "m.json",
        device="cpu", threads=1,
    )  # fmt: skip
    scored = pd.read_csv(tmp_path / "p.csv")
    cache = PackedClips.load(tiny.cache)
    files = []
    for fname in scored["fname"]:
        path = tmp_path / "audio" / fname
        path.parent.mkdir(exist_ok=True)
        sf.write(path, cache.raw(cache.index([fname])[0]).numpy(), cache.sample_rate, "PCM_16")
        files.append(path)
    predicted = predict_files(trained.model, files, device="cpu")
    assert predicted["error"].isna().all(), predicted["error"]
    assert predicted["predicted"].tolist() == scored["predicted"].tolist()
    columns = [c for c in scored.columns if c.startswith("prob_")]
    # A 16-bit WAV reads back as int / 32768 and is cached as x * 32767: the round trip
    # scales each clip by 1 - 3e-5, which moves float32 probabilities by about 1e-5. Under
    # bf16 autocast (8 bits of mantissa) it moves where values round: measured 7e-4.
    precision = json.loads((tmp_path / "m.json").read_text())["eval_precision"]
    tolerance = {"float32": 1e-4, "bfloat16 autocast": 5e-3}[precision]
    assert abs(predicted[columns].to_numpy() - scored[columns].to_numpy()).max() < tolerance
