"""Test-split scoring: sliding vs centre windows, predictions.csv and metrics.json."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from audioclf.contracts import METRICS
from audioclf.evaluate.scoring import clip_probabilities, evaluate
from audioclf.learn.crop import centre_start, crop_or_repeat, window_starts
from audioclf.learn.data import clip_samples
from audioclf.learn.models import count_parameters
from audioclf.preprocess.cache import PackedClips
from conftest import make_model

CLIP_SECONDS = 1.0
METRIC_KEYS = set(METRICS.keys)


@pytest.fixture(scope="module")
def trained(tiny, tmp_path_factory):
    """The shared tiny raw1d model, its data (clips of 0.5-3 s, longer than the 1 s window),
    and a folder of this module's own outputs."""
    return tiny, PackedClips.load(tiny.cache), tmp_path_factory.mktemp("eval")


def run(trained, eval_windows):
    tiny, _, folder = trained
    raw = tiny.models["raw1d"]
    out = folder / eval_windows
    metrics = evaluate(
        tiny.cache,
        tiny.split,
        raw.model,
        out / "predictions.csv",
        out / "metrics.json",
        raw.history,
        eval_windows=eval_windows,
        device="cpu",
        batch_size=5,
        threads=1,
    )
    return (
        metrics,
        pd.read_csv(out / "predictions.csv"),
        json.loads((out / "metrics.json").read_text()),
    )


def expected_windows(cache, fnames, eval_windows):
    length = clip_samples(CLIP_SECONDS, cache.sample_rate)
    lengths = [int(cache.lengths[i]) for i in cache.index(fnames)]
    if eval_windows == "centre":
        return len(lengths)
    return sum(len(window_starts(n, length)) for n in lengths)


@pytest.mark.parametrize("eval_windows", ["sliding", "centre"])
def test_predictions_and_metrics_follow_the_contract(trained, eval_windows):
    tiny, cache, _ = trained
    metrics, predictions, written = run(trained, eval_windows)
    assert written == metrics and METRIC_KEYS <= set(metrics)
    split = pd.read_csv(tiny.split)
    test = split[split.split == "test"]
    classes = ["class0", "class1", "class2"]

    assert predictions["fname"].tolist() == test["fname"].tolist()
    assert list(predictions.columns) == ["fname", "label", "predicted", "confidence"] + [
        f"prob_{c}" for c in classes
    ]
    probs = predictions[[f"prob_{c}" for c in classes]].to_numpy()
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert np.allclose(predictions["confidence"], probs.max(axis=1))
    assert predictions["predicted"].tolist() == [classes[k] for k in probs.argmax(axis=1)]

    correct = (predictions["predicted"] == predictions["label"]).mean()
    assert metrics["accuracy"] == pytest.approx(correct)
    assert metrics["n_test"] == len(test)
    assert metrics["confusion_matrix"]["labels"] == classes
    matrix = np.array(metrics["confusion_matrix"]["matrix"])
    assert matrix.sum() == len(test) and np.trace(matrix) == round(correct * len(test))
    assert [metrics["per_class"][c]["support"] for c in classes] == matrix.sum(axis=1).tolist()
    assert metrics["eval_windows"] == eval_windows
    assert metrics["n_windows"] == expected_windows(cache, test["fname"].tolist(), eval_windows)

    history = pd.read_csv(tiny.models["raw1d"].history)
    checkpoint = torch.load(tiny.models["raw1d"].model, weights_only=True)
    assert metrics["valid_accuracy"] == pytest.approx(history["valid_accuracy"].iloc[-1])
    # the time is history.csv's (model.pt records none, so that reruns are byte-identical)
    assert "train_seconds" not in checkpoint
    assert metrics["train_seconds"] == pytest.approx(history["seconds"].sum())
    assert metrics["train_seconds"] > 0
    model = make_model("raw1d", 3, {}, CLIP_SECONDS, 16000)
    assert metrics["n_params"] == count_parameters(model)
    assert metrics["architecture"] == str(model)
    assert metrics["pretrained"] is False and metrics["weight_source"] is None
    assert metrics["inference_clips_per_second"] > 0
    settings = trained[0].models["raw1d"].settings
    assert (metrics["epochs"], metrics["lr"], metrics["batch_size"]) == (
        settings["epochs"],
        settings["lr"],
        settings["batch_size"],
    )


def test_sliding_and_centre_differ_only_on_long_clips(trained):
    _, cache, _ = trained
    _, sliding, _ = run(trained, "sliding")
    _, centre, _ = run(trained, "centre")
    length = clip_samples(CLIP_SECONDS, cache.sample_rate)
    long = np.array([int(cache.lengths[i]) > length for i in cache.index(sliding.fname.tolist())])
    assert long.any() and (~long).any()  # the fixture has both kinds
    prob_columns = [c for c in sliding.columns if c.startswith("prob_")]
    same = np.isclose(sliding[prob_columns], centre[prob_columns], atol=1e-6).all(axis=1)
    assert same[~long].all()
    assert not same[long].all()


class MeanLevel(nn.Module):
    """Logits that depend on where the window lies in the clip: (mean, 0)."""

    def forward(self, x):
        return torch.stack([x.mean(dim=(1, 2)) * 50, torch.zeros(len(x))], dim=1)


def test_long_clips_average_softmax_over_their_windows():
    length = 100
    ramp = torch.linspace(-1, 1, 250)  # 2.5 windows: three windows, the last end-aligned
    short = torch.linspace(0, 0.5, 40)  # tiled to one window
    cache = PackedClips.from_clips([ramp, short], ["long", "short"], ["a", "b"], 100, [2.5, 0.4])
    model = MeanLevel()
    probs, counts = clip_probabilities(model, cache, [0, 1], length, 2, "sliding", batch_size=2)
    assert counts.tolist() == [3, 1]
    for row, starts in ((0, [0, 100, 150]), (1, [0])):
        clip = cache.clip(row)
        windows = torch.stack([crop_or_repeat(clip, length, s) for s in starts]).unsqueeze(1)
        expected = model(windows).softmax(dim=1).mean(dim=0)
        assert torch.allclose(probs[row], expected, atol=1e-5)
    centre, counts = clip_probabilities(model, cache, [0], length, 2, "centre")
    one = crop_or_repeat(cache.clip(0), length, centre_start(250, length)).view(1, 1, -1)
    assert counts.tolist() == [1]
    assert torch.allclose(centre[0], model(one).softmax(dim=1)[0], atol=1e-5)


def test_unknown_window_mode_is_an_error(trained):
    tiny, _, folder = trained
    with pytest.raises(ValueError, match="middle"):
        evaluate(
            tiny.cache,
            tiny.split,
            tiny.models["raw1d"].model,
            folder / "p.csv",
            folder / "m.json",
            eval_windows="middle",
            device="cpu",
        )


@pytest.mark.parametrize("eval_windows", ["sliding", "centre"])
def test_valid_accuracy_is_scored_by_the_test_rule(trained, eval_windows, tmp_path):
    """The valid clips scored as the test clips are: swapping the two splits makes the
    reported valid accuracy the test accuracy of the swapped run."""
    from audioclf.contracts import SPLIT

    tiny, _, _ = trained
    metrics, _, _ = run(trained, eval_windows)
    split = SPLIT.read(tiny.split)
    swap = {"valid": "test", "test": "valid", "train": "train"}
    SPLIT.write(tmp_path / "swapped.csv", split.assign(split=split["split"].map(swap)))
    raw = tiny.models["raw1d"]
    swapped = evaluate(
        tiny.cache, tmp_path / "swapped.csv", raw.model, tmp_path / "p.csv", tmp_path / "m.json",
        raw.history, eval_windows=eval_windows, device="cpu", threads=1,
    )  # fmt: skip
    assert metrics["valid_accuracy"] == pytest.approx(swapped["accuracy"])
    assert swapped["valid_accuracy"] == pytest.approx(metrics["accuracy"])
    history = pd.read_csv(raw.history)
    assert metrics["valid_accuracy_in_training"] == pytest.approx(
        history["valid_accuracy"].iloc[-1]
    )


def test_label_checks_score_verified_and_unverified_test_clips_apart(trained, tmp_path):
    from audioclf.contracts import SPLIT
    from audioclf.evaluate.aggregate import aggregate_runs

    tiny, _, _ = trained
    split = SPLIT.read(tiny.split)
    flags = (np.arange(len(split)) % 3 == 0).astype(int)  # a third of the labels checked
    SPLIT.write(tmp_path / "split.csv", split.assign(manually_verified=flags))
    raw = tiny.models["raw1d"]
    metrics = evaluate(
        tiny.cache, tmp_path / "split.csv", raw.model, tmp_path / "p.csv", tmp_path / "m.json",
        raw.history, device="cpu", threads=1,
    )  # fmt: skip
    predictions = pd.read_csv(tmp_path / "p.csv")
    verified = predictions["fname"].map(dict(zip(split["fname"], flags, strict=True)))
    right = predictions["predicted"] == predictions["label"]
    checks = metrics["label_checks"]
    for name, value in (("verified", 1), ("unverified", 0)):
        chosen = verified == value
        assert checks[name]["n_test"] == int(chosen.sum()) > 0
        assert checks[name]["accuracy"] == pytest.approx(right[chosen].mean())
    # over runs: clip-runs add up
    summary = aggregate_runs([metrics, {**metrics, "seed": 1}])
    assert summary["label_checks"]["verified"]["n_test"] == 2 * checks["verified"]["n_test"]
    assert summary["label_checks"]["verified"]["accuracy"] == pytest.approx(
        checks["verified"]["accuracy"]
    )
    # a split without the column (a folder dataset) gives none
    assert "label_checks" not in run(trained, "centre")[0]
