"""How training computes: bf16 autocast, determinism, memory order, no host sync per batch,
and the exact rewrites that made the CPU faster."""

import json
import os

import pandas as pd
import pytest
import torch
from torch import nn

from audioclf.devices import autocast_dtype, cpu_has_bf16, precision_name, seed_everything
from audioclf.evaluate.scoring import clip_probabilities, evaluate
from audioclf.learn.checkpoint import eval_autocast, load_checkpoint, rebuild_model
from audioclf.learn.data import class_names, clip_samples, training_loaders
from audioclf.learn.models import conv_block
from audioclf.learn.registry import MODEL_TYPES, build_model, model_type, resolve_settings
from audioclf.learn.train import Autocast, EpochHistory, build_learner
from audioclf.preprocess.cache import PackedClips
from conftest import TINY_CLIP_SECONDS, TINY_SETTINGS, train_tiny
from synthetic import synthetic_clips, synthetic_split

CPU = torch.device("cpu")


def cpu_bf16_works() -> bool:
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return nn.Linear(4, 2)(torch.ones(1, 4)).dtype == torch.bfloat16
    except RuntimeError:
        return False


needs_cpu_bf16 = pytest.mark.skipif(
    not cpu_bf16_works(), reason="this torch build has no bf16 autocast on CPU"
)


def test_mixed_precision_settings_resolve_per_device_and_model_type(monkeypatch):
    assert resolve_settings({"type": "raw1d"})["mixed_precision"] == "auto"
    assert autocast_dtype(False, CPU, True) is None
    assert autocast_dtype(True, CPU, False) == torch.bfloat16  # forced, even where slower
    native = cpu_has_bf16()
    assert autocast_dtype("auto", CPU, True) == (torch.bfloat16 if native else None)
    assert autocast_dtype("auto", CPU, False) is None  # crnn: bf16 was slower there
    monkeypatch.setattr("audioclf.devices.cpu_has_bf16", lambda: False)
    assert autocast_dtype("auto", CPU, True) is None  # emulated bf16 is slower than float32
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, **k: (9, 0))  # H100
    assert autocast_dtype("auto", torch.device("cuda", 0), False) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, **k: (7, 5))  # T4
    assert autocast_dtype("auto", torch.device("cuda", 0), True) is None  # emulated there
    with pytest.raises(ValueError, match="mixed_precision 'fast' is not one of"):
        autocast_dtype("fast", CPU, True)
    assert precision_name(None) == "float32"
    assert precision_name(torch.bfloat16) == "bfloat16 autocast"
    # the flag sits with the types measured faster in bf16 on 2 cores (train_speed.py), and
    # with raw1d, so that every default contrast compares like precision with like
    assert model_type("raw1d").cpu_autocast and model_type("raw1d_deep").cpu_autocast
    assert not model_type("crnn").cpu_autocast


def test_native_bf16_is_read_from_the_cpu_flags(tmp_path, monkeypatch):
    """AVX512-BF16 or AMX (or Arm's BF16), not merely AVX-512: torch's own check says yes to
    any AVX-512 CPU, where oneDNN emulates bf16 more slowly than float32."""
    from audioclf import devices

    cascade_lake = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512bw avx512vl avx512dq\n"
    sapphire = cascade_lake.replace("avx512dq", "avx512dq avx512_bf16 amx_bf16 amx_tile")
    graviton = "processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\n"
    for name, text, native in (("cascade", cascade_lake, False), ("sapphire", sapphire, True),
                               ("graviton", graviton, True)):  # fmt: skip
        (tmp_path / name).write_text(text)
        monkeypatch.setattr(devices, "cpu_flags", lambda n=name: devices._read_flags(tmp_path / n))
        assert devices.cpu_has_bf16() is native, name
    assert devices._read_flags(tmp_path / "absent") == set()


def test_deterministic_settings(monkeypatch):
    before = torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic
    try:
        assert seed_everything(0, "auto", CPU) is True
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        assert seed_everything(0, False, CPU) is True  # CPU kernels are deterministic anyway
        with pytest.raises(ValueError, match="deterministic 'yes' is not one of"):
            seed_everything(0, "yes", CPU)
        asked = []
        monkeypatch.setattr(torch, "use_deterministic_algorithms", lambda on: asked.append(on))
        monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)  # restored afterwards
        cuda = torch.device("cuda", 0)
        assert seed_everything(0, "auto", cuda) is False and torch.backends.cudnn.benchmark
        assert seed_everything(0, False, cuda, fixed_shapes=False) is False
        assert not torch.backends.cudnn.benchmark  # whole clips: shapes vary, no autotuning
        assert seed_everything(0, True, cuda) is True and not torch.backends.cudnn.benchmark
        assert asked == [False, False, True]  # true: an op without a deterministic kernel fails
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    finally:
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = before
    first = seed_everything(3, "auto", CPU), torch.rand(3)
    second = seed_everything(3, "auto", CPU), torch.rand(3)
    assert torch.equal(first[1], second[1])


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    folder = tmp_path_factory.mktemp("precision")
    cache = synthetic_clips(n_classes=3, clips_per_class=16, seed=1)
    cache.save(folder / "cache.pt")
    synthetic_split(cache).to_csv(folder / "split.csv", index=False)
    return folder


def test_deterministic_cpu_runs_give_bit_identical_models_and_predictions(tiny_set, tmp_path):
    settings = {"type": "raw1d_deep", **TINY_SETTINGS["raw1d_deep"], "epochs": 2}
    outputs = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        train_tiny(tiny_set, out, settings, deterministic=True)
        evaluate(
            tiny_set / "cache.pt", tiny_set / "split.csv", out / "model.pt",
            out / "predictions.csv", out / "metrics.json", device="cpu", threads=1,
        )  # fmt: skip
        outputs.append(out)
    first, second = (load_checkpoint(out / "model.pt") for out in outputs)
    assert first["deterministic"] is True and second["deterministic"] is True
    for key, value in first["state_dict"].items():
        assert torch.equal(value, second["state_dict"][key]), key
    a, b = (pd.read_csv(out / "predictions.csv") for out in outputs)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    metrics = json.loads((outputs[0] / "metrics.json").read_text())
    assert metrics["deterministic"] is True
    assert metrics["train_precision"] == metrics["eval_precision"] == first["train_precision"]


@needs_cpu_bf16
def test_bf16_training_runs_on_cpu_and_scores_like_float32(tiny_set, tmp_path):
    """mixed_precision: true trains under bf16 autocast on the CPU; scoring the same model
    under autocast gives the fp32 predictions: every label equal on the tiny set, and
    probabilities within 0.02 (bf16 keeps 8 bits of mantissa: about 0.4% per value)."""
    settings = {"type": "spectrogram_small", **TINY_SETTINGS["spectrogram_small"]}
    settings["mixed_precision"] = True
    result = train_tiny(tiny_set, tmp_path / "bf16", settings).result
    checkpoint = load_checkpoint(tmp_path / "bf16" / "model.pt")
    assert checkpoint["train_precision"] == "bfloat16 autocast"
    assert result["valid_accuracy"] >= 0.9  # it learned the separable classes
    model = rebuild_model(checkpoint)
    cache = PackedClips.load(tiny_set / "cache.pt")
    split = pd.read_csv(tiny_set / "split.csv")
    rows = cache.index(split.fname[split.split != "train"].tolist())
    length = clip_samples(TINY_CLIP_SECONDS, cache.sample_rate)
    fp32, _ = clip_probabilities(model, cache, rows, length, 3, "sliding", CPU, 8)
    bf16, _ = clip_probabilities(model, cache, rows, length, 3, "sliding", CPU, 8, None,
                                 torch.bfloat16)  # fmt: skip
    assert torch.equal(fp32.argmax(dim=1), bf16.argmax(dim=1))
    assert float((fp32 - bf16).abs().max()) < 0.02
    assert not torch.equal(fp32, bf16)  # autocast really ran in bf16


def test_training_reads_the_loss_from_the_device_once_an_epoch(tiny_set, monkeypatch):
    """No host sync per batch: copies to the CPU and reads of a value (.cpu, .item, float)
    happen per epoch, the same count for 2 and for 6 batches an epoch."""
    split = pd.read_csv(tiny_set / "split.csv")
    cache = PackedClips.load(tiny_set / "cache.pt")
    counts = {}
    for batch_size in (12, 4):  # 24 train clips: 2 or 6 batches an epoch
        train_dl, valid_dl = training_loaders(cache, split, class_names(split), 1.0, batch_size)
        model = build_model({"type": "raw1d"}, 3, 16000, 16000)
        learn = build_learner(model, train_dl, valid_dl, CPU, 0.01, cbs=[EpochHistory(2)])
        calls = []
        for name in ("cpu", "item", "__float__", "__bool__", "__int__", "tolist", "numpy"):
            original = getattr(torch.Tensor, name)

            def counting(self, *args, _original=original, _name=name, _calls=calls, **kwargs):
                if self.requires_grad or self.dtype.is_floating_point:
                    _calls.append(_name)
                return _original(self, *args, **kwargs)

            monkeypatch.setattr(torch.Tensor, name, counting)
        learn.fit(2, 1e-3)
        monkeypatch.undo()
        counts[len(train_dl)] = len(calls)
    assert set(counts) == {2, 6}
    assert counts[2] == counts[6], counts


@pytest.mark.parametrize("name", [n for n, e in MODEL_TYPES.items() if e.channels_last])
def test_channels_last_models_compute_what_contiguous_ones_do(name):
    settings = {"type": name, **TINY_SETTINGS[name]}
    torch.manual_seed(0)
    fast = build_model(settings, 3, 16000, 16000).eval()
    conv = [m for m in fast.modules() if isinstance(m, nn.Conv2d) and m.in_channels > 1][-1]
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert conv.weight.stride() != conv.weight.contiguous().stride()  # really reordered
    plain = build_model(settings, 3, 16000, 16000).to(memory_format=torch.contiguous_format)
    plain.load_state_dict(fast.state_dict())  # the same keys, shapes and values
    wave = torch.randn(2, 1, 16000)
    with torch.no_grad():
        assert torch.allclose(fast(wave), plain.eval()(wave), atol=1e-5)


def test_pooling_before_the_last_relu_gives_the_same_outputs_and_gradients():
    torch.manual_seed(0)
    block = conv_block(1, 8, kernel=9, stride=2, convs=2, pool=4)
    assert isinstance(block[-1], nn.ReLU) and isinstance(block[-2], nn.MaxPool1d)
    reference = nn.Sequential(*block[:-2], nn.ReLU(), nn.MaxPool1d(4))  # the textbook order
    wave = torch.randn(3, 1, 4001, requires_grad=True)
    ours = block(wave)
    ours.square().sum().backward()
    grads = wave.grad.clone(), block[0].weight.grad.clone()
    wave.grad = None
    block.zero_grad()
    theirs = reference(wave)
    theirs.square().sum().backward()
    assert torch.equal(ours, theirs)
    assert torch.equal(grads[0], wave.grad) and torch.equal(grads[1], block[0].weight.grad)


def test_a_batch_that_raises_leaves_no_autocast_behind(tiny_set):
    """fastai sends no event after an exception: the learner itself leaves the context."""
    split = pd.read_csv(tiny_set / "split.csv")
    cache = PackedClips.load(tiny_set / "cache.pt")
    train_dl, valid_dl = training_loaders(cache, split, class_names(split), 1.0, 8)
    model = build_model({"type": "raw1d"}, 3, 16000, 16000)
    learn = build_learner(model, train_dl, valid_dl, CPU, 0.01, torch.bfloat16)
    assert any(isinstance(cb, Autocast) for cb in learn.cbs)

    def fail(*args):
        raise MemoryError("out of memory, as a GPU might say")

    model.forward = fail
    with pytest.raises(MemoryError):
        learn.fit(1, 1e-3)
    assert not torch.is_autocast_enabled("cpu")
    assert nn.Linear(2, 2)(torch.ones(1, 2)).dtype == torch.float32


def test_files_from_before_issue_16_are_scored_as_they_were_trained():
    old = {"type": "raw1d_deep", "settings": {"mixed_precision": True}}  # no train_precision
    assert eval_autocast(old, CPU) is None  # `true` meant CUDA only then
    new = {**old, "train_precision": "bfloat16 autocast"}
    assert eval_autocast(new, CPU) == torch.bfloat16
    assert eval_autocast({**old, "settings": {}}, CPU) is None
