"""The networks (shapes, parameter counts, masking, the module's docstring naming each) and
pretrained weight loading."""

import time

import pytest
import torch
import torchvision

from audioclf.learn import weights
from audioclf.learn.features import LogMelFrontEnd
from audioclf.learn.models import (
    SpectrogramClassifier,
    count_parameters,
    parameter_groups,
    raw1d_flat_size,
)
from conftest import make_model  # noqa: E402

SMALL = {"n_mels": 32, "hop_length": 400}


def test_raw1d_matches_the_seed_network_at_5_seconds():
    model = make_model("raw1d", 5, {}, clip_seconds=5.0, sample_rate=16000)
    assert count_parameters(model) == 379_739
    conv = model[0]
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding) == (
        1,
        8,
        (4096,),
        (1000,),
        (2047,),
    )
    assert conv.bias is None
    assert model[4].in_features == 640
    model.eval()
    assert model(torch.randn(2, 1, 80_000)).shape == (2, 5)


def test_raw1d_flat_size_follows_clip_length():
    assert raw1d_flat_size(80_000) == 640
    model = make_model("raw1d", 3, {}, clip_seconds=1.0, sample_rate=16000)
    assert model[4].in_features == raw1d_flat_size(16_000) == 128
    assert model.eval()(torch.randn(2, 1, 16_000)).shape == (2, 3)


def test_front_end_gives_128_by_401_for_5_seconds():
    image = LogMelFrontEnd().eval()(torch.randn(2, 1, 80_000))
    assert image.shape == (2, 1, 128, 401)
    # per-example normalisation: zero mean, unit variance for each clip
    assert torch.allclose(image.mean(dim=(-2, -1)), torch.zeros(2, 1), atol=1e-4)
    assert torch.allclose(image.std(dim=(-2, -1)), torch.ones(2, 1), atol=1e-3)


@pytest.mark.parametrize("arch", ["resnet18", "xresnet18"])
def test_spectrogram_backbones_take_one_channel(arch):
    model = make_model("spectrogram", 4, {"arch": arch, **SMALL}, 1.0, 16000)
    assert isinstance(model, SpectrogramClassifier)
    first_conv = next(m for m in model.backbone.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.in_channels == 1
    assert model.head.out_features == 4
    assert model.eval()(torch.randn(2, 1, 16_000)).shape == (2, 4)
    body, head = parameter_groups(model)
    assert {id(p) for p in head} == {id(p) for p in model.head.parameters()}
    assert len(body) + len(head) == len(list(model.parameters()))


def test_unknown_type_and_arch_are_errors():
    with pytest.raises(ValueError, match="cnn2d"):
        make_model("cnn2d", 3, {})
    with pytest.raises(ValueError, match="resnet50"):
        make_model("spectrogram", 3, {"arch": "resnet50"})


def test_masking_only_in_training_mode():
    torch.manual_seed(0)
    model = make_model("spectrogram", 3, {"arch": "resnet18", **SMALL}, 1.0, 16000)
    wave = torch.randn(4, 1, 16_000)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(wave), model(wave))
        front = model.front_end
        assert torch.equal(front(wave), front(wave))
        front.train()
        masked_once, masked_twice = front(wave), front(wave)
    assert not torch.equal(masked_once, masked_twice)
    assert not torch.equal(masked_once, front.eval()(wave))


def test_no_masks_when_widths_are_zero():
    front = LogMelFrontEnd(n_mels=32, freq_mask_width=0, time_mask_width=0).train()
    wave = torch.randn(2, 1, 16_000)
    assert len(front.masks) == 0
    assert torch.equal(front(wave), front(wave))


# --- pretrained weights ---------------------------------------------------------------


@pytest.fixture
def imagenet_like_file(tmp_path, monkeypatch):
    """A torchvision resnet18 state_dict (random, 3-channel, 1000 classes) where torchvision
    keeps the ImageNet file, with TORCH_HOME pointing at it."""
    torch.manual_seed(123)
    state = torchvision.models.resnet18(weights=None).state_dict()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    path = weights.imagenet_checkpoint()
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    return path, state


def spectrogram_model():
    torch.manual_seed(0)
    return make_model("spectrogram", 3, {"arch": "resnet18", **SMALL}, 1.0, 16000)


def assert_loaded(model, state):
    backbone = model.backbone.state_dict()
    assert torch.allclose(backbone["conv1.weight"], state["conv1.weight"].sum(1, keepdim=True))
    assert torch.equal(backbone["layer3.1.conv2.weight"], state["layer3.1.conv2.weight"])
    assert torch.equal(backbone["bn1.running_mean"], state["bn1.running_mean"])
    assert backbone["fc.weight"].shape == (3, 512)  # a new head, not the file's 1000 classes


def test_pretrained_true_loads_the_torch_home_file(imagenet_like_file):
    path, state = imagenet_like_file
    model = spectrogram_model()
    before = model.backbone.layer3[1].conv2.weight.detach().clone()
    source = weights.load_pretrained(model, True)
    assert source == str(path)
    assert not torch.equal(model.backbone.layer3[1].conv2.weight, before)
    assert_loaded(model, state)


def test_pretrained_path_loads_that_file(imagenet_like_file, tmp_path):
    path, state = imagenet_like_file
    elsewhere = tmp_path / "my_weights.pth"
    path.rename(elsewhere)
    model = spectrogram_model()
    assert weights.load_pretrained(model, str(elsewhere)) == str(elsewhere)
    assert_loaded(model, state)


def test_pretrained_false_changes_nothing():
    model = spectrogram_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert weights.load_pretrained(model, False) is None
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_the_imagenet_url_is_torchvisions():
    import torchvision

    assert weights.IMAGENET_URL == torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url


def test_missing_imagenet_weights_is_an_error_naming_the_path(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    # a closed local port: refused at once, so the test never waits on a network
    monkeypatch.setattr(weights, "IMAGENET_URL", "http://127.0.0.1:9/resnet18-f37072fd.pth")
    expected = tmp_path / "empty" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    model = spectrogram_model()
    with pytest.raises(FileNotFoundError) as caught:
        weights.load_pretrained(model, True, timeout=20)
    message = str(caught.value)
    assert str(expected) in message
    assert "http://127.0.0.1:9/resnet18-f37072fd.pth" in message
    assert "pretrained: false" in message
    assert not expected.exists()


def test_a_hanging_download_is_given_up(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda *a, **k: time.sleep(30))
    started = time.perf_counter()
    with pytest.raises(FileNotFoundError, match="within"):
        weights.load_pretrained(spectrogram_model(), True, timeout=0.5)
    assert time.perf_counter() - started < 10


def test_missing_or_incompatible_weight_files_are_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.pth"):
        weights.load_pretrained(spectrogram_model(), str(tmp_path / "nothere.pth"))
    wrong = tmp_path / "raw.pth"
    torch.save(make_model("raw1d", 3, {}, 1.0, 16000).state_dict(), wrong)
    with pytest.raises(ValueError, match="raw.pth"):
        weights.load_pretrained(spectrogram_model(), str(wrong))


def test_raw1d_has_no_pretrained_weights():
    with pytest.raises(ValueError, match="pretrained: false"):
        weights.load_pretrained(make_model("raw1d", 3, {}, 1.0, 16000), True)


def test_the_module_docstring_names_every_registered_type():
    from audioclf.learn import models
    from audioclf.learn.registry import MODEL_TYPES

    words = set(models.__doc__.replace(",", " ").replace("(", " ").split())
    assert sorted(set(MODEL_TYPES) - words) == []
