"""cnn14: the authors' checkpoint layout, their front end, strict loading with a new head,
one-line errors for a missing or wrong file, and the download of the published file."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zipfile
from pathlib import Path
from pickle import UnpicklingError

import numpy as np
import pytest
import torch

from audioclf.learn import published as published_module
from audioclf.learn.cnn14 import Cnn14
from audioclf.learn.models import parameter_groups
from audioclf.learn.published import AUDIOSET_CNN14, fetch_weights
from audioclf.learn.registry import build_model
from audioclf.learn.weights import NUMPY_GLOBALS, load_pretrained
from audioclf.procedure import weights_kind
from httpserver import FileServer

FIXTURES = Path(__file__).parent / "fixtures"
# The authors' Cnn14_16k state_dict keys and shapes, in order (its "source" names the
# commit of their models.py and how it was built).
REFERENCE = json.loads((FIXTURES / "cnn14_16k_state_dict.json").read_text())
SECOND = 16000


def cnn14(n_classes: int = 5, **settings) -> Cnn14:
    return build_model({"type": "cnn14", **settings}, n_classes, SECOND, SECOND)


def keys_and_shapes(model: torch.nn.Module) -> list[list]:
    return [[k, list(v.shape)] for k, v in model.state_dict().items()]


def test_the_model_on_the_meta_device_has_the_checkpoints_keys_and_shapes():
    assert "audioset_tagging_cnn" in REFERENCE["source"]
    with torch.device("meta"):
        full = cnn14(527)  # AudioSet's 527 classes: the checkpoint exactly
        ours = cnn14(5)
    assert next(full.conv_block6.parameters()).is_meta
    assert keys_and_shapes(full) == REFERENCE["state_dict"]
    differ = [a[0] for a, b in zip(keys_and_shapes(ours), REFERENCE["state_dict"], strict=True)
              if a != b]  # fmt: skip
    assert differ == ["fc_audioset.weight", "fc_audioset.bias"]
    assert ours.fc_audioset.out_features == 5


def test_the_front_end_equals_the_authors_within_1e_4_db():
    reference = np.load(FIXTURES / "cnn14_16k_front_end.npz")
    assert "torchlibrosa" in str(reference["source"])
    model = cnn14(width=2).eval()
    with torch.no_grad():
        ours = model.log_mel(torch.from_numpy(reference["wave"])[None, None])[0, 0].numpy()
    assert ours.shape == reference["logmel"].shape == (51, 64)
    assert np.abs(ours - reference["logmel"]).max() < 1e-4
    # the front end is fixed: buffers, so no optimiser and no fastai unfreeze trains it
    names = {name for name, _ in model.named_parameters()}
    assert not any(n.startswith(("spectrogram_extractor", "logmel_extractor")) for n in names)


def official_checkpoint(model: Cnn14, path: Path, seed: int = 0, zipped: bool = True) -> dict:
    """A file of the authors' layout for `model`'s width: {"model": state_dict} of random
    values (AudioSet's 527-class head), beside their sampler's numpy state; in torch's zip
    format, or (`zipped` False) in the single-pickle format torch wrote before 1.6."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in model.state_dict().items():
        shape = (527, *value.shape[1:]) if key.startswith("fc_audioset.") else value.shape
        state[key] = (
            value.clone()
            if key.endswith("num_batches_tracked")
            else torch.rand(shape, generator=generator) + 0.5
        )
    sampler = {"indexes_per_class": [np.arange(4), np.arange(3)], "queue": [np.int64(2)]}
    checkpoint = {"iteration": 600000, "model": state, "sampler": sampler}
    torch.save(checkpoint, path, _use_new_zipfile_serialization=zipped)
    return state


def test_a_checkpoint_of_the_authors_layout_loads_strictly_with_a_new_head(tmp_path):
    model = cnn14(3, width=8)
    assert [k for k, _ in keys_and_shapes(model)] == [k for k, _ in REFERENCE["state_dict"]]
    head = {k: v.clone() for k, v in model.fc_audioset.state_dict().items()}
    state = official_checkpoint(model, tmp_path / "Cnn14_16k_mAP=0.438.pth")
    source = load_pretrained(model, "audioset", weights_file=tmp_path / "Cnn14_16k_mAP=0.438.pth")
    assert source == str(tmp_path / "Cnn14_16k_mAP=0.438.pth")
    loaded = model.state_dict()
    body = [k for k in loaded if not k.startswith("fc_audioset.")]
    assert all(torch.equal(loaded[k], state[k]) for k in body)
    assert model.fc_audioset.out_features == 3
    assert all(torch.equal(model.fc_audioset.state_dict()[k], v) for k, v in head.items())
    with torch.no_grad():
        assert model.eval()(torch.randn(2, 1, SECOND)).shape == (2, 3)
    # fine-tuning's split: the new head is a group of its own
    assert parameter_groups(model)[1] == list(model.fc_audioset.parameters())


# A pickle (protocol 2, torch's) names a global as GLOBAL "module\nname\n": numpy 2 pickles
# its array and scalar rebuilders under numpy._core.multiarray, numpy 1 (which wrote the
# authors' 2020 files) under numpy.core.multiarray; numpy.dtype and numpy.ndarray are the
# same in both.
NUMPY2_GLOBAL, NUMPY1_GLOBAL = b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n"


def pickled_by_numpy_1(path: Path) -> bytes:
    """`path`'s pickle (data.pkl of a zip, else the whole file) rewritten in place to
    name numpy's globals as numpy 1 did; returns the new pickle."""
    if not zipfile.is_zipfile(path):
        data = path.read_bytes().replace(NUMPY2_GLOBAL, NUMPY1_GLOBAL)
        path.write_bytes(data)
        return data
    with zipfile.ZipFile(path) as original:
        entries = [(info, original.read(info)) for info in original.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as rewritten:
        for info, data in entries:
            if info.filename.endswith("/data.pkl"):
                data = pickled = data.replace(NUMPY2_GLOBAL, NUMPY1_GLOBAL)
            rewritten.writestr(info, data)
    return pickled


@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "before-torch-1.6"])
def test_a_checkpoint_pickled_by_numpy_1_loads_with_the_safe_loader(tmp_path, zipped):
    model = cnn14(3, width=4)
    path = tmp_path / AUDIOSET_CNN14.file
    state = official_checkpoint(model, path, zipped=zipped)
    pickled = pickled_by_numpy_1(path)
    assert NUMPY1_GLOBAL + b"_reconstruct\n" in pickled and NUMPY1_GLOBAL + b"scalar\n" in pickled
    assert b"cnumpy\ndtype\n" in pickled and b"cnumpy\nndarray\n" in pickled
    assert b"numpy._core" not in pickled
    # torch's own safe loader refuses these names; NUMPY_GLOBALS lets them in
    with pytest.raises(UnpicklingError, match="numpy.core.multiarray"):
        torch.load(path, weights_only=True)
    assert load_pretrained(model, "audioset", weights_file=path) == str(path)
    loaded = model.state_dict()
    body = [k for k in loaded if not k.startswith("fc_audioset.")]
    assert all(torch.equal(loaded[k], state[k]) for k in body)
    with torch.serialization.safe_globals(NUMPY_GLOBALS):
        sampler = torch.load(path, weights_only=True)["sampler"]
    assert [a.tolist() for a in sampler["indexes_per_class"]] == [[0, 1, 2, 3], [0, 1, 2]]
    assert sampler["queue"] == [np.int64(2)]


def test_a_path_loads_the_same_way_and_records_what_it_is(tmp_path):
    model = cnn14(3, width=4)
    official_checkpoint(model, tmp_path / "mine.pth")
    assert load_pretrained(model, str(tmp_path / "mine.pth")) == str(tmp_path / "mine.pth")
    assert weights_kind("audioset") == "audioset"
    assert weights_kind(str(tmp_path / "mine.pth")) == f"file {tmp_path / 'mine.pth'}"


def one_line_error(model, pretrained, weights_file=None) -> str:
    with pytest.raises((ValueError, FileNotFoundError)) as caught:
        load_pretrained(model, pretrained, weights_file=weights_file)
    message = str(caught.value)
    assert "\n" not in message, message
    return message


def test_a_missing_file_is_one_line_naming_it_and_the_layout(tmp_path):
    missing = tmp_path / "weights" / AUDIOSET_CNN14.file
    message = one_line_error(cnn14(width=4), "audioset", missing)
    assert message.startswith(f"{missing}: no such file")
    assert "spectrogram_extractor.stft.conv_real.weight (257, 1, 512)" in message
    assert "logmel_extractor.melW (257, 64)" in message and "conv_block6.*" in message
    assert AUDIOSET_CNN14.url in message and "pretrained: false" in message


def test_a_file_of_another_layout_is_one_line_naming_it_and_what_differs(tmp_path):
    model = cnn14(width=4)
    # the 32 kHz checkpoint's front end (window 1024): the same keys, other shapes
    wider = cnn14(width=8)
    official_checkpoint(wider, tmp_path / "wide.pth")
    message = one_line_error(model, "audioset", tmp_path / "wide.pth")
    assert message.startswith(f"{tmp_path / 'wide.pth'}: not a CNN14 checkpoint that fits")
    assert "conv_block1.conv1.weight (8, 1, 3, 3) vs (4, 1, 3, 3)" in message
    torch.save({"model": build_model({"type": "raw1d"}, 3, SECOND, SECOND).state_dict()},
               tmp_path / "raw.pth")  # fmt: skip
    message = one_line_error(model, str(tmp_path / "raw.pth"))
    assert "missing ['spectrogram_extractor.stft.conv_real.weight'" in message
    assert "unexpected ['0.weight'" in message and "expected {'model': state_dict}" in message
    (tmp_path / "page.pth").write_text("<html>not found</html>")
    message = one_line_error(model, "audioset", tmp_path / "page.pth")
    assert message.startswith(f"{tmp_path / 'page.pth'}: not a PANNs CNN14 checkpoint")


def test_pretrained_names_weights_that_fit_the_type():
    assert "pretrained: audioset" in one_line_error(cnn14(width=4), True)
    assert "download_weights" in one_line_error(cnn14(width=4), "audioset")
    spectrogram = build_model({"type": "spectrogram", "n_mels": 32}, 3, SECOND, SECOND)
    assert "fits type cnn14 only" in one_line_error(spectrogram, "audioset")


def test_the_builder_needs_16_khz():
    with pytest.raises(ValueError, match="set preprocess.sample_rate: 16000"):
        build_model({"type": "cnn14"}, 3, 22050, 22050)


def test_the_published_file_downloads_resumed_and_md5_checked(tmp_path, monkeypatch):
    body = np.random.default_rng(3).bytes(3 * (1 << 20) + 77)
    with FileServer({AUDIOSET_CNN14.file: body}) as server:
        served = dataclasses.replace(
            AUDIOSET_CNN14, url=server.url(AUDIOSET_CNN14.file),
            md5=hashlib.md5(body).hexdigest(),
        )  # fmt: skip
        monkeypatch.setitem(published_module.PUBLISHED_WEIGHTS, "audioset", served)
        server.drop_after = 1 << 20  # the first answer breaks off after 1 MB: resumed
        dest = tmp_path / "resources" / "weights" / AUDIOSET_CNN14.file
        fetch_weights("audioset", dest, backoff=0.01, progress=False)
        assert dest.read_bytes() == body
        assert any(r.range == f"bytes={1 << 20}-" for r in server.log)
        monkeypatch.setitem(
            published_module.PUBLISHED_WEIGHTS, "audioset",
            dataclasses.replace(served, md5="0" * 32),
        )  # fmt: skip
        dest.unlink()
        with pytest.raises(Exception, match="md5 mismatch"):
            fetch_weights("audioset", dest, backoff=0.01, progress=False)
        assert not dest.exists()


def test_train_loads_the_published_file_it_is_given_and_records_it(tiny, tmp_path):
    from audioclf.learn.checkpoint import load_checkpoint
    from audioclf.procedure import run_record
    from conftest import TINY_SETTINGS, train_tiny

    settings = {"type": "cnn14", **TINY_SETTINGS["cnn14"], "epochs": 1, "freeze_epochs": 0,
                "pretrained": "audioset"}  # fmt: skip
    weights = tmp_path / AUDIOSET_CNN14.file
    official_checkpoint(cnn14(3, width=4), weights)
    trained = train_tiny(tiny.folder, tmp_path / "run", settings, weights_path=weights)
    assert trained.result["weight_source"] == str(weights)
    checkpoint = load_checkpoint(trained.model)
    assert checkpoint["pretrained"] and checkpoint["weight_source"] == str(weights)
    record = run_record(checkpoint, eval_windows="sliding", eval_precision=None,
                        type_keys=settings)  # fmt: skip
    assert record["weights"] == "audioset" and record["schedule"] == "one_cycle"
    with pytest.raises(ValueError, match="download_weights"):
        train_tiny(tiny.folder, tmp_path / "none", settings)
