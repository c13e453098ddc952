"""Training on a tiny separable set: learning, determinism, freezing, outputs, no test leak."""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
import torchvision
from fastai.callback.core import Callback

from audioclf.contracts import HISTORY
from audioclf.devices import resolve_device
from audioclf.learn.checkpoint import MODEL_FORMAT
from audioclf.learn.data import class_names, training_loaders
from audioclf.learn.models import parameter_groups
from audioclf.learn.registry import resolve_settings
from audioclf.learn.train import build_learner, epochs_for, train
from audioclf.learn.weights import load_pretrained
from audioclf.preprocess.cache import PackedClips
from audioclf.procedure import group_hypers
from conftest import REPO, make_model, train_tiny
from synthetic import synthetic_clips, synthetic_split

CLIP_SECONDS = 1.0
RAW = {"type": "raw1d", "epochs": 20, "lr": 3e-3, "batch_size": 8, "min_steps": 0}
SPECTROGRAM = {
    "type": "spectrogram",
    "arch": "resnet18",
    "pretrained": False,
    "n_mels": 32,
    "epochs": 4,
    "min_steps": 0,
    "lr": 1e-3,
    "batch_size": 8,
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A cache WITHOUT the test clips and a split.csv that still lists them: any attempt to
    load a test clip while training raises KeyError."""
    folder = tmp_path_factory.mktemp("train")
    full = synthetic_clips(n_classes=3, clips_per_class=16, seed=1)
    split = synthetic_split(full)
    kept = [
        i for i, f in enumerate(full.fnames) if f not in set(split.fname[split.split == "test"])
    ]
    cache = PackedClips.from_clips(
        [full.clip(i) for i in kept],
        [full.fnames[i] for i in kept],
        [full.labels[i] for i in kept],
        full.sample_rate,
        [float(full.original_seconds[i]) for i in kept],
    )
    cache.save(folder / "cache.pt")
    split.to_csv(folder / "split.csv", index=False)
    return folder, split


def assert_learned(history, n_classes=3):
    assert list(history.columns) == list(HISTORY.columns)
    assert history["epoch"].tolist() == list(range(1, len(history) + 1))
    assert history["train_loss"].iloc[-3:].mean() < history["train_loss"].iloc[:2].mean()
    assert history["valid_accuracy"].iloc[-1] > 1 / n_classes + 0.15
    assert (history["seconds"] > 0).all()


def test_raw1d_learns_and_writes_the_contract(tiny):
    raw = tiny.models["raw1d"]
    history = pd.read_csv(raw.history)
    assert len(history) == raw.settings["epochs"]
    assert_learned(history)
    checkpoint = torch.load(raw.model, weights_only=True)
    assert checkpoint["format"] == MODEL_FORMAT
    assert checkpoint["model"] == "raw1d" and checkpoint["type"] == "raw1d"
    assert checkpoint["classes"] == ["class0", "class1", "class2"]
    assert checkpoint["sample_rate"] == 16000 and checkpoint["clip_seconds"] == CLIP_SECONDS
    assert checkpoint["settings"]["lr"] == raw.settings["lr"]
    assert checkpoint["pretrained"] is False
    model = make_model("raw1d", 3, checkpoint["settings"], CLIP_SECONDS, 16000)
    model.load_state_dict(checkpoint["state_dict"])
    assert raw.result["n_params"] == sum(p.numel() for p in model.parameters())


def test_spectrogram_learns(tiny):
    spectrogram = tiny.models["spectrogram"]
    history = pd.read_csv(spectrogram.history)
    assert len(history) == spectrogram.settings["epochs"]
    assert_learned(history)


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_config_gives_the_same_model_twice(data, tmp_path):
    """The same model.pt byte for byte (config/README.md's `deterministic` promises it):
    no temporary file name in its archive, no wall-clock time in it."""
    settings = {**RAW, "epochs": 3}
    folder, _ = data
    first = pd.read_csv(train_tiny(folder, tmp_path / "a", settings, name="raw").history)
    second = pd.read_csv(train_tiny(folder, tmp_path / "b", settings, name="raw").history)
    columns = ["train_loss", "valid_loss", "valid_accuracy"]
    pd.testing.assert_frame_equal(first[columns], second[columns])
    assert sha256(tmp_path / "a" / "model.pt") == sha256(tmp_path / "b" / "model.pt")
    other_seed = pd.read_csv(train_tiny(folder, tmp_path / "c", settings, seed=1).history)
    assert not first[columns].equals(other_seed[columns])


def test_test_split_never_reaches_the_loaders(data, tmp_path):
    folder, split = data
    result = train_tiny(folder, tmp_path / "leak", {**RAW, "epochs": 1}).result
    by_split = {s: set(split.fname[split.split == s]) for s in ("train", "valid", "test")}
    assert set(result["train_fnames"]) == by_split["train"]
    assert set(result["valid_fnames"]) == by_split["valid"]
    assert not (set(result["train_fnames"]) | set(result["valid_fnames"])) & by_split["test"]


def test_training_loaders_draw_random_train_crops_and_fixed_valid_crops(data):
    folder, split = data
    cache = PackedClips.load(folder / "cache.pt")
    train_dl, valid_dl = training_loaders(cache, split, class_names(split), 0.5, 4, seed=0)
    x, y = next(iter(train_dl))
    assert x.shape == (4, 1, 8000) and x.dtype == torch.float32 and y.dtype == torch.int64
    long_clip = max(
        range(len(train_dl.dataset)),
        key=lambda i: cache.lengths[cache.index([train_dl.dataset.fnames[i]])[0]],
    )
    draws = {tuple(train_dl.dataset[long_clip][0][0, :5].tolist()) for _ in range(5)}
    assert len(draws) > 1
    first = torch.cat([b[0] for b in valid_dl])
    second = torch.cat([b[0] for b in valid_dl])
    assert torch.equal(first, second)


def test_fine_tune_with_local_weights_freezes_then_trains_the_body(data, tmp_path):
    torch.manual_seed(7)
    weights_file = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights_file)
    settings = {**SPECTROGRAM, "pretrained": str(weights_file), "epochs": 1, "freeze_epochs": 1}
    trained = train_tiny(data[0], tmp_path / "ft", settings)
    result, history = trained.result, pd.read_csv(trained.history)
    assert len(history) == 2  # one frozen epoch, then one unfrozen
    assert result["pretrained"] is True and result["weight_source"] == str(weights_file)
    checkpoint = torch.load(tmp_path / "ft" / "model.pt", weights_only=True)
    assert checkpoint["pretrained"] is True
    assert checkpoint["weight_source"] == str(weights_file)


def test_freeze_leaves_the_pretrained_body_unchanged(data, tmp_path):
    folder, split = data
    cache = PackedClips.load(folder / "cache.pt")
    weights_file = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights_file)
    model = make_model("spectrogram", 3, SPECTROGRAM, CLIP_SECONDS, 16000)
    load_pretrained(model, str(weights_file))
    train_dl, valid_dl = training_loaders(cache, split, class_names(split), CLIP_SECONDS, 8)
    learn = build_learner(model, train_dl, valid_dl, resolve_device("cpu"), 0.01)
    conv_before = model.backbone.layer2[0].conv1.weight.detach().clone()
    head_before = model.head.weight.detach().clone()
    learn.freeze()
    assert not model.backbone.layer2[0].conv1.weight.requires_grad
    assert model.head.weight.requires_grad
    learn.fit_one_cycle(1, 1e-3)
    assert torch.equal(model.backbone.layer2[0].conv1.weight, conv_before)
    assert not torch.equal(model.head.weight, head_before)


def test_empty_valid_split_is_an_error(data, tmp_path):
    folder, split = data
    no_valid = split.assign(split=split.split.replace("valid", "train"))
    no_valid.to_csv(tmp_path / "split.csv", index=False)
    with pytest.raises(ValueError, match="valid"):
        train(
            folder / "cache.pt",
            tmp_path / "split.csv",
            tmp_path / "m.pt",
            tmp_path / "h.csv",
            model_name="m",
            model_settings=RAW,
            clip_seconds=CLIP_SECONDS,
            device="cpu",
        )


def test_importing_the_trainer_prints_no_fastai_jit_deprecation():
    # Training logs start with whatever importing fastai prints; fastai's jit-script
    # deprecation warning is filtered by the package, other warnings stay visible.
    code = "import audioclf.learn.train, warnings; warnings.warn('still shown', FutureWarning)"
    out = subprocess.run(
        [sys.executable, "-W", "default", "-c", code],
        capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "workflow" / "scripts")},
    )  # fmt: skip
    assert "torch.jit.script` is deprecated" not in out.stderr
    assert "still shown" in out.stderr


def test_small_train_splits_still_get_min_steps(data, tmp_path):
    """24 train clips at batch 64 give one step an epoch: 2 epochs would be 2 steps."""
    settings = {**RAW, "epochs": 2, "batch_size": 64, "min_steps": 5}
    history = pd.read_csv(train_tiny(data[0], tmp_path / "small", settings).history)
    assert epochs_for(2, 1, 5) == 5 and epochs_for(30, 13, 100) == 30
    assert len(history) == 5
    checkpoint = torch.load(tmp_path / "small" / "model.pt", weights_only=True)
    assert (checkpoint["epochs_run"], checkpoint["optimizer_steps"]) == (5, 5)
    assert checkpoint["settings"]["epochs"] == 2  # what was asked for stays recorded
    with pytest.raises(ValueError, match="no batch"):
        epochs_for(10, 0, 100)


def test_threads_never_exceed_the_usable_cores():
    from audioclf.devices import set_threads, usable_cores

    before = torch.get_num_threads()
    try:
        set_threads(10_000)  # snakemake --cores 8 on a 2-core machine asks for 8
        assert torch.get_num_threads() == usable_cores()
        set_threads(1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_pretrained_weights_for_a_type_without_a_pretrained_body_are_refused(data, tmp_path):
    settings = {**RAW, "epochs": 1, "pretrained": True}
    with pytest.raises(ValueError, match="type 'raw1d' has no pretrained body"):
        train_tiny(data[0], tmp_path / "refused", settings)


class Hypers(Callback):
    """Each parameter group's lr and weight decay at every training step."""

    def before_fit(self) -> None:
        self.seen = []

    def after_step(self) -> None:
        self.seen.append([(h["lr"], h["wd"]) for h in self.opt.hypers])


def test_the_filterbank_group_gets_its_lr_multiple_and_no_weight_decay(data):
    folder, split = data
    cache = PackedClips.load(folder / "cache.pt")
    settings = resolve_settings(
        {"type": "raw_filterbank", "n_mels": 32, "lr": 0.004, "front_end_lr_mult": 0.05}
    )
    model = make_model("raw_filterbank", 3, settings, CLIP_SECONDS, 16000)
    groups = parameter_groups(model)
    assert [len(g) for g in groups][0] == 2  # the centres and the widths, alone
    assert {id(p) for p in groups[0]} == {id(p) for p in model.front_end.parameters()}
    lrs, wds = group_hypers(settings, len(groups))
    assert lrs == [0.004 * 0.05, 0.004, 0.004] and wds == [0.0, 0.01, 0.01]
    train_dl, valid_dl = training_loaders(cache, split, class_names(split), CLIP_SECONDS, 8)
    hypers = Hypers()
    learn = build_learner(model, train_dl, valid_dl, resolve_device("cpu"), wds, cbs=[hypers])
    learn.fit_one_cycle(1, np.array(lrs))
    for step in hypers.seen:
        (front_lr, front_wd), (body_lr, body_wd), (head_lr, head_wd) = step
        assert front_lr == pytest.approx(0.05 * body_lr) and body_lr == head_lr
        assert front_wd == 0 and body_wd == head_wd == 0.01
    assert max(step[1][0] for step in hypers.seen) == pytest.approx(0.004, rel=0.05)
