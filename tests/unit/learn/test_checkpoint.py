"""load_trained: a model.pt back in one call, with everything needed to run it."""

import dataclasses

import pytest
import torch

from audioclf.learn.checkpoint import (
    CheckpointError,
    TrainedModel,
    eval_autocast,
    load_checkpoint,
    load_trained,
)
from audioclf.learn.data import WholeClips, clip_samples
from audioclf.learn.registry import MODEL_TYPES

CPU = torch.device("cpu")
CROP_TYPE = "raw1d"
WHOLE_TYPE = next(name for name, entry in MODEL_TYPES.items() if entry.whole_clip)


def test_a_crop_model_comes_back_ready_to_score_crops(tiny):
    checkpoint = load_checkpoint(tiny.models[CROP_TYPE].model)
    trained = load_trained(tiny.models[CROP_TYPE].model, CPU)
    assert isinstance(trained, TrainedModel)
    assert trained.entry is MODEL_TYPES[CROP_TYPE]
    assert trained.classes == tuple(checkpoint["classes"]) and len(trained.classes) == 3
    assert trained.sample_rate == checkpoint["sample_rate"] == 16000
    assert trained.clip_samples == clip_samples(checkpoint["clip_seconds"], 16000) == 16000
    assert trained.reading is None
    assert trained.precision == eval_autocast(checkpoint, CPU)
    assert trained.device == CPU and trained.name == CROP_TYPE
    assert trained.settings == checkpoint["settings"]
    assert not trained.network.training
    assert all(p.device == CPU for p in trained.network.parameters())
    state = trained.network.state_dict()
    assert all(torch.equal(state[k], v) for k, v in checkpoint["state_dict"].items())
    with torch.no_grad():
        logits = trained.network(torch.zeros(2, 1, trained.clip_samples))
    assert logits.shape == (2, 3)


def test_a_whole_clip_model_comes_back_with_its_reading(tiny):
    checkpoint = load_checkpoint(tiny.models[WHOLE_TYPE].model)
    trained = load_trained(tiny.models[WHOLE_TYPE].model, "cpu")
    assert trained.entry.whole_clip
    assert trained.reading == WholeClips.of(checkpoint["settings"], 16000)
    assert trained.reading.max_samples == clip_samples(checkpoint["settings"]["max_seconds"], 16000)
    assert trained.device == CPU and not trained.network.training


def test_the_loaded_model_is_frozen(tiny):
    trained = load_trained(tiny.models[CROP_TYPE].model)
    with pytest.raises(dataclasses.FrozenInstanceError):
        trained.clip_samples = 1


def test_a_file_it_cannot_use_keeps_its_one_line_error(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"format": "something/1"}, path)
    with pytest.raises(CheckpointError, match="not a model file this version reads"):
        load_trained(path)


def test_only_checkpoint_py_rebuilds_a_network_or_reads_its_window_rule():
    """Evaluate, predict and the report get all of it from load_trained."""
    from conftest import REPO

    package = REPO / "workflow" / "scripts" / "audioclf"
    derived = ("rebuild_model", "whole_clip_reading", "eval_autocast")
    users = {
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "checkpoint.py" and any(name in path.read_text() for name in derived)
    }
    assert not users, f"{sorted(users)} re-derive a model.pt; call load_trained instead"
