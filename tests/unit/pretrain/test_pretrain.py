"""The autoencoder that pretrains a waveform model's first layer(s): its pool, its loss,
encoder.pt, and loading it into a classifier."""

import pandas as pd
import pytest
import torch

from audioclf.contracts import SPLIT
from audioclf.learn.registry import MODEL_TYPES
from audioclf.learn.weights import load_encoder
from audioclf.pretrain.autoencoder import WaveformAutoencoder, encoder_keys, spectral_loss
from audioclf.pretrain.train import PretrainError, pool_fnames, pretrain
from conftest import make_model

SETTINGS = {"encoder": "raw1d", "epochs": 6, "lr": 3e-3, "batch_size": 8, "crop_seconds": 1.0}


@pytest.fixture(scope="module")
def pretrained(tiny, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pretrain")
    checkpoint = pretrain(
        tiny.cache, tiny.split, folder / "encoder.pt", folder / "history.csv",
        name="raw_conv", settings=SETTINGS, device="cpu", seed=0, threads=1,
    )  # fmt: skip
    return tiny, folder, checkpoint


def test_the_pool_is_the_splits_train_clips_only(tiny):
    split = SPLIT.read(tiny.split)
    pool = pool_fnames(tiny.split, "train")
    assert set(pool) == set(split[split["split"] == "train"]["fname"])
    assert set(pool).isdisjoint(split[split["split"] != "train"]["fname"])


def test_the_autoencoder_loss_falls_and_encoder_pt_holds_the_encoder(pretrained):
    _, folder, checkpoint = pretrained
    history = pd.read_csv(folder / "history.csv")
    assert len(history) == SETTINGS["epochs"]
    assert history["loss"].iloc[-2:].mean() < history["loss"].iloc[:2].mean()
    saved = torch.load(folder / "encoder.pt", weights_only=True)
    assert saved["encoder_type"] == "raw1d" and saved["pool"]["source"] == "train"
    assert sorted(saved["state_dict"]) == sorted(
        ["0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var",
         "1.num_batches_tracked"]
    )  # fmt: skip
    assert saved["examples"]["input"].shape == saved["examples"]["reconstruction"].shape


def test_a_classifier_loads_exactly_the_encoders_weights(pretrained):
    _, folder, checkpoint = pretrained
    model = make_model("raw1d", 3, {}, clip_seconds=1.0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    loaded = load_encoder(model, "raw1d", folder / "encoder.pt")
    state = model.state_dict()
    for key in loaded:
        assert torch.equal(state[key], checkpoint["state_dict"][key]), key
    untouched = [k for k in state if k not in loaded]
    assert untouched and all(torch.equal(state[k], before[k]) for k in untouched)


def test_an_encoder_of_another_type_is_refused_naming_both(pretrained):
    _, folder, _ = pretrained
    deep = make_model("raw1d_deep", 3, {}, clip_seconds=1.0)
    with pytest.raises(ValueError, match="a raw1d encoder does not fit a raw1d_deep model"):
        load_encoder(deep, "raw1d_deep", folder / "encoder.pt")


def test_a_pool_shorter_than_one_crop_fails_naming_it_and_its_size(tiny, tmp_path):
    split = SPLIT.read(tiny.split)
    one = pd.concat([split[split["split"] != "train"], split[split["split"] == "train"].iloc[:1]])
    SPLIT.write(tmp_path / "split.csv", one)
    with pytest.raises(
        PretrainError, match=r"train pool of .* has 1 clip\(s\), .* less than one crop"
    ):
        pretrain(
            tiny.cache, tmp_path / "split.csv", tmp_path / "e.pt", tmp_path / "h.csv",
            name="long", settings={**SETTINGS, "crop_seconds": 60.0}, device="cpu",
        )  # fmt: skip


@pytest.mark.parametrize("model_type", ["raw1d", "raw1d_deep"])
def test_every_encoder_is_shared_with_its_model_and_reconstructs_the_input_length(model_type):
    model = make_model(model_type, 3, {}, clip_seconds=1.0)
    encoder = MODEL_TYPES[model_type].encoder(model)
    keys = encoder_keys(model, encoder)
    assert keys and all(k in model.state_dict() for k in keys)
    autoencoder = WaveformAutoencoder(encoder)
    wave = 0.1 * torch.randn(2, 1, 16000)
    out = autoencoder(wave)
    assert out.shape == wave.shape
    assert spectral_loss(wave, wave) == pytest.approx(0.0, abs=1e-5)
    assert spectral_loss(out, wave) > 0


def test_a_model_trains_from_the_pretrained_encoder_and_says_so(pretrained, tmp_path):
    from audioclf.learn.train import train
    from conftest import TINY_SETTINGS

    tiny, folder, _ = pretrained
    settings = {"type": "raw1d", **TINY_SETTINGS["raw1d"], "epochs": 2,
                "pretrained": "autoencoder:raw_conv"}  # fmt: skip
    result = train(
        tiny.cache, tiny.split, tmp_path / "model.pt", tmp_path / "history.csv",
        model_name="raw_ae", model_settings=settings, clip_seconds=1.0, device="cpu",
        threads=1, encoder_path=folder / "encoder.pt",
    )  # fmt: skip
    assert result["pretrained"] and result["weight_source"].startswith("autoencoder raw_conv")
    # fine-tuning: one frozen epoch, then the two asked for
    assert len(result["history"]) == 3
    with pytest.raises(ValueError, match="no encoder.pt was given"):
        train(
            tiny.cache, tiny.split, tmp_path / "m.pt", tmp_path / "h.csv", model_name="raw_ae",
            model_settings=settings, clip_seconds=1.0, device="cpu", threads=1,
        )  # fmt: skip
