"""The autoencoder that pretrains a waveform model's first layer(s): its pool, its loss,
encoder.pt, and loading it into a classifier."""

import hashlib

import pandas as pd
import pytest
import torch

from audioclf.contracts import SPLIT
from audioclf.learn.registry import MODEL_TYPES
from audioclf.learn.weights import load_encoder
from audioclf.pretrain.autoencoder import (
    WaveformAutoencoder,
    encoder_geometry,
    encoder_keys,
    spectral_loss,
)
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
    from audioclf.preprocess.cache import PackedClips

    pool = pool_fnames(PackedClips.load(tiny.cache), tiny.split, "train")
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
        PretrainError, match=r"train pool of .* has 1 usable clip\(s\), .* less than one crop"
    ):
        pretrain(
            tiny.cache, tmp_path / "split.csv", tmp_path / "e.pt", tmp_path / "h.csv",
            name="long", settings={**SETTINGS, "crop_seconds": 60.0}, device="cpu",
        )  # fmt: skip


def test_a_crop_too_short_for_the_spectral_loss_fails_naming_the_key(tiny, tmp_path):
    with pytest.raises(PretrainError, match=r"pretrain.short.crop_seconds: 0.01 s is 160 samples"):
        pretrain(
            tiny.cache, tiny.split, tmp_path / "e.pt", tmp_path / "h.csv", name="short",
            settings={**SETTINGS, "crop_seconds": 0.01}, device="cpu",
        )  # fmt: skip


@pytest.mark.parametrize("model_type", ["raw1d", "raw1d_deep", "raw_filterbank"])
def test_every_encoder_is_shared_with_its_model_and_reconstructs_the_input_length(model_type):
    model = make_model(model_type, 3, {}, clip_seconds=1.0)
    encoder = MODEL_TYPES[model_type].encoder(model)
    keys = encoder_keys(model, encoder)
    assert keys and all(k in model.state_dict() for k in keys)
    autoencoder = WaveformAutoencoder(encoder)
    # frames every first_stride x pool samples (raw1d_deep), every hop (the filterbank),
    # centred where the conv's padding puts them (raw1d: 2048 - 2047 past frame j * 1000)
    channels, stride, centre = encoder_geometry(encoder)
    assert (stride, centre) == {"raw1d": (1000, 1.0), "raw1d_deep": (16, 8.0),
                                "raw_filterbank": (200, 0.0)}[model_type]  # fmt: skip
    wave = 0.1 * torch.randn(2, 1, 16000)
    decoded = autoencoder.decoder(encoder(wave)).shape[-1] + autoencoder.shift
    assert 16000 <= decoded <= 16000 + stride  # covers the input, nothing to pad
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


def test_the_encoder_settings_name_every_type_with_an_encoder_and_shape_it():
    from audioclf.pretrain.train import encoder_types

    assert encoder_types() == ["raw1d", "raw1d_deep", "raw_filterbank"]
    ENCODER_SETTINGS = {t: MODEL_TYPES[t].encoder_settings for t in encoder_types()}
    changed = {"channels": 16, "first_kernel": 40, "first_stride": 8, "pool": 3,
               "n_fft": 512, "hop_length": 100, "n_mels": 32}  # fmt: skip

    def shapes(model_type, settings):
        model = make_model(model_type, 3, settings, clip_seconds=1.0)
        encoder = MODEL_TYPES[model_type].encoder(model)
        state = model.state_dict()
        out = encoder.eval()(torch.zeros(1, 1, 16000))
        return {k: tuple(state[k].shape) for k in encoder_keys(model, encoder)}, out.shape

    for model_type, keys in ENCODER_SETTINGS.items():
        base = shapes(model_type, {})
        for key in keys:  # each listed key reshapes the encoder's weights or its output
            assert shapes(model_type, {key: changed[key]}) != base, (model_type, key)
        others = {"blocks": 2, "dropout": 0.5}  # keys beyond the encoder leave it alone
        assert shapes(model_type, others) == base, model_type


def test_a_filterbank_encoder_trains_the_filters_without_masks(tiny, tmp_path):
    settings = {"encoder": "raw_filterbank", "epochs": 2, "batch_size": 8, "crop_seconds": 1.0,
                "settings": {"n_mels": 32, "hop_length": 400}}  # fmt: skip
    checkpoint = pretrain(
        tiny.cache, tiny.split, tmp_path / "encoder.pt", tmp_path / "history.csv",
        name="fb", settings=settings, device="cpu", threads=1,
    )  # fmt: skip
    state = checkpoint["state_dict"]
    assert state["front_end.centres"].shape == (32,)
    assert not torch.equal(state["front_end.centres"], state["front_end.initial_centres"])
    shape = {"n_mels": 32, "hop_length": 400}
    model = make_model("raw_filterbank", 3, shape, clip_seconds=1.0)
    loaded = load_encoder(model, "raw_filterbank", tmp_path / "encoder.pt", shape)
    assert "front_end.log_sigmas" in loaded
    encoder = MODEL_TYPES["raw_filterbank"].encoder(model).train()
    wave = 0.1 * torch.randn(2, 1, 16000)
    assert torch.equal(encoder(wave), encoder(wave))  # no random masks
    assert model.front_end.training


def test_an_encoder_of_another_shape_is_refused_naming_both_settings(tiny, tmp_path):
    settings = {"encoder": "raw1d_deep", "epochs": 1, "batch_size": 8,
                "settings": {"channels": 8, "first_stride": 8}}  # fmt: skip
    pretrain(
        tiny.cache, tiny.split, tmp_path / "encoder.pt", tmp_path / "history.csv",
        name="deep", settings=settings, device="cpu", threads=1,
    )  # fmt: skip
    fits = {"channels": 8, "first_stride": 8, "blocks": 2}
    model = make_model("raw1d_deep", 3, fits, clip_seconds=1.0)
    assert load_encoder(model, "raw1d_deep", tmp_path / "encoder.pt", fits)
    # the same weight shapes, another stride: refused, as is another width
    cases = [({"channels": 8}, "first_stride 8, but the model has first_stride 4"),
             ({"first_stride": 8}, "channels 8, but the model has channels 64")]  # fmt: skip
    for other, words in cases:
        model = make_model("raw1d_deep", 3, other, clip_seconds=1.0)
        with pytest.raises(ValueError, match=f"pretrain.deep built its encoder with {words}"):
            load_encoder(model, "raw1d_deep", tmp_path / "encoder.pt", other)


def test_the_same_inputs_give_the_same_encoder_pt(pretrained, tmp_path):
    """Byte for byte: no temporary file name in its archive, no seconds in its history."""
    tiny, folder, _ = pretrained
    pretrain(
        tiny.cache, tiny.split, tmp_path / "encoder.pt", tmp_path / "history.csv",
        name="raw_conv", settings=SETTINGS, device="cpu", seed=0, threads=1,
    )  # fmt: skip
    first, second = ((f / "encoder.pt").read_bytes() for f in (folder, tmp_path))
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()
    assert "seconds" not in torch.load(tmp_path / "encoder.pt", weights_only=True)["history"][0]
