"""Tests for audioclf.datasets.demo: the synthetic FSDKaggle2018-shaped dataset."""

import hashlib
import re

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from audioclf.datasets.demo import CHARACTERS as SOUNDS
from audioclf.datasets.demo import bout_maker, make_demo_dataset
from audioclf.datasets.kinds import DEMO_LABELS
from audioclf.preprocess.audio import remove_silence

CHARACTERS = list(DEMO_LABELS)
ODD_LABEL = "<script>alert(1)</script>"
SMALL = {
    "train_per_label": 16,
    "test_per_label": 6,
    "distractors_per_label": 2,
    "ignored_test_clips": 7,
    "min_seconds": 0.3,
    "max_seconds": 4.0,
    "seed": 11,
}
META = "FSDKaggle2018.meta"
TRAIN_AUDIO = "FSDKaggle2018.audio_train"
TEST_AUDIO = "FSDKaggle2018.audio_test"


def read_meta(root, name):
    # keep_default_na: the padding label "None" must stay a string.
    return pd.read_csv(root / META / name, keep_default_na=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "data"
    summary = make_demo_dataset(root, [*CHARACTERS, ODD_LABEL], **SMALL)
    train = read_meta(root, "train_post_competition.csv")
    test = read_meta(root, "test_post_competition.csv")
    return root, summary, train, test


def audio_path(root, row):
    return root / (TRAIN_AUDIO if "manually_verified" in row else TEST_AUDIO) / row["fname"]


def test_metadata_csvs_have_fsdkaggle2018_columns_and_counts(demo):
    root, summary, train, test = demo
    assert train.columns.tolist() == [
        "fname",
        "label",
        "manually_verified",
        "freesound_id",
        "license",
    ]
    assert test.columns.tolist() == ["fname", "label", "usage", "freesound_id", "license"]
    train_counts = train["label"].value_counts().to_dict()
    assert train_counts == {
        **{label: 16 for label in [*CHARACTERS, ODD_LABEL]},
        **{label: 2 for label in ["Applause", "Flute", "Telephone"]},
    }
    scored = test[test["usage"] != "Ignored"]
    assert set(scored["usage"]) == {"Public", "Private"}
    assert scored["label"].value_counts()[CHARACTERS].tolist() == [6] * 5
    padding = test[test["usage"] == "Ignored"]
    assert len(padding) == 7 and set(padding["label"]) == {"None"}
    assert set(train["manually_verified"]) == {0, 1}
    assert set(train["license"]) | set(test["license"]) <= {
        "Attribution",
        "Creative Commons 0",
        "Attribution Noncommercial",
    }
    assert summary["train_clips"] == len(train) and summary["test_clips"] == len(scored)


def test_fnames_are_unique_hex_names_and_audio_exists_only_for_scored_clips(demo):
    root, _, train, test = demo
    names = pd.concat([train["fname"], test["fname"]])
    assert names.is_unique
    assert all(re.fullmatch(r"[0-9a-f]{8}\.wav", name) for name in names)
    scored = test.loc[test["usage"] != "Ignored", "fname"]
    assert {p.name for p in (root / TRAIN_AUDIO).iterdir()} == set(train["fname"])
    assert {p.name for p in (root / TEST_AUDIO).iterdir()} == set(scored)


def test_clips_are_16_bit_mono_44k_wavs_with_durations_in_range(demo):
    root, _, train, test = demo
    seconds = []
    for folder in (TRAIN_AUDIO, TEST_AUDIO):
        for path in (root / folder).iterdir():
            info = sf.info(path)
            assert (info.samplerate, info.channels, info.subtype) == (44100, 1, "PCM_16")
            seconds.append(info.frames / info.samplerate)
    seconds = np.array(seconds)
    assert seconds.min() >= 0.3 and seconds.max() <= 4.0
    # Spread over the range, not bunched at one length.
    assert np.quantile(seconds, 0.2) < 1.2 and np.quantile(seconds, 0.8) > 3.0


def test_an_odd_label_round_trips_through_the_csv(demo):
    _, _, train, _ = demo
    assert (train["label"] == ODD_LABEL).sum() == 16


def digest_of(root):
    files = sorted(p for p in root.rglob("*") if p.is_file())
    sha = hashlib.sha256()
    for path in files:
        sha.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return sha.hexdigest()


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path):
    small = {**SMALL, "train_per_label": 2, "test_per_label": 1}
    make_demo_dataset(tmp_path / "a", CHARACTERS, **small)
    make_demo_dataset(tmp_path / "b", CHARACTERS, **small)
    make_demo_dataset(tmp_path / "c", CHARACTERS, **{**small, "seed": 12})
    assert digest_of(tmp_path / "a") == digest_of(tmp_path / "b")
    assert digest_of(tmp_path / "a") != digest_of(tmp_path / "c")


def load(path):
    samples, sr = sf.read(path, dtype="float32")
    return samples, sr


def frame_rms(samples, frame=2048):
    n = len(samples) // frame * frame
    return np.sqrt(np.mean(samples[:n].reshape(-1, frame) ** 2, axis=1) + 1e-20)


def test_clips_start_and_end_in_silence_and_have_silence_inside(demo):
    root, _, train, _ = demo
    inner = []
    for path in sorted((root / TRAIN_AUDIO).iterdir()):
        samples, sr = load(path)
        loudest = frame_rms(samples, 512).max()
        edge = int(0.005 * sr)
        for part in (samples[:edge], samples[-edge:]):
            assert np.sqrt(np.mean(part**2)) < loudest * 10 ** (-20 / 20), path.name
        if len(samples) > sr:  # shorter clips' edge silences can be shorter than one frame
            assert remove_silence(samples, sr, mode="trim").size < len(samples), path.name
        if len(samples) > 2 * sr:
            all_kept = remove_silence(samples, sr, mode="all").size
            inner.append(all_kept < remove_silence(samples, sr, mode="trim").size)
    assert len(inner) > 20
    assert np.mean(inner) > 0.8  # most clips of 2 s or more have a gap inside


def spectral_statistics(path):
    """Log centroid, log flatness, active fraction and loudness spread of the loud frames."""
    samples, sr = load(path)
    n = 1024
    if len(samples) < n:
        samples = np.pad(samples, (0, n - len(samples)))
    frames = np.lib.stride_tricks.sliding_window_view(samples, n)[::512]
    power = np.mean(frames**2, axis=1)
    active = power > power.max() * 0.01
    spectrum = np.abs(np.fft.rfft(frames[active] * np.hanning(n), axis=1)) ** 2 + 1e-12
    freqs = np.fft.rfftfreq(n, 1 / sr)
    centroid = (spectrum * freqs).sum(axis=1) / spectrum.sum(axis=1)
    flatness = np.exp(np.log(spectrum).mean(axis=1)) / spectrum.mean(axis=1)
    spread = np.log(power[active].max() / power[active].mean())
    return [np.log(np.median(centroid)), np.log(np.median(flatness)), active.mean(), spread]


def test_characters_are_distinguishable_but_not_trivially_separable(demo):
    root, _, train, test = demo
    train = train[train["label"].isin(CHARACTERS)]
    test = test[test["label"].isin(CHARACTERS)]
    x_train = np.array([spectral_statistics(root / TRAIN_AUDIO / f) for f in train["fname"]])
    x_test = np.array([spectral_statistics(root / TEST_AUDIO / f) for f in test["fname"]])
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    z_train, z_test = (x_train - mean) / std, (x_test - mean) / std
    centroids = np.stack([z_train[train["label"].to_numpy() == c].mean(axis=0) for c in CHARACTERS])

    def accuracy(z, labels):
        nearest = np.argmin(((z[:, None, :] - centroids[None]) ** 2).sum(axis=-1), axis=1)
        return np.mean(np.array(CHARACTERS)[nearest] == labels.to_numpy())

    # Chance is 0.2: four statistics and a nearest centroid should get most test clips right,
    # yet not even the training clips all: the classes overlap.
    assert accuracy(z_test, test["label"]) >= 0.6
    assert accuracy(z_train, train["label"]) < 1.0


def test_generic_timbres_are_fixed_by_the_label_name():
    def render(label):
        return bout_maker(label)(np.random.default_rng(5), 16000, 16000)

    assert np.array_equal(render(ODD_LABEL), render(ODD_LABEL))
    first, second = render("Applause"), render("Telephone")
    assert first.shape != second.shape or not np.allclose(first, second)


def test_user_labels_that_are_distractors_are_not_made_twice(tmp_path):
    summary = make_demo_dataset(
        tmp_path / "d",
        ["Knock", "Flute"],
        **{**SMALL, "train_per_label": 1, "test_per_label": 1, "ignored_test_clips": 0},
    )
    assert summary["distractor_labels"] == ["Applause", "Telephone"]
    train = read_meta(tmp_path / "d", "train_post_competition.csv")
    assert (train["label"] == "Flute").sum() == 1


@pytest.mark.parametrize(
    ("labels", "kwargs", "message"),
    [
        (["Knock", "None"], {}, "reserved"),
        (["Knock", "Knock"], {}, "unique"),
        ([], {}, "at least one label"),
        (["Knock"], {"min_seconds": 5.0, "max_seconds": 1.0}, "min_seconds"),
        (["Knock"], {"train_per_label": -1}, "whole numbers"),
    ],
)
def test_bad_arguments_are_rejected(tmp_path, labels, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_demo_dataset(tmp_path / "d", labels, **kwargs)


def test_a_non_empty_folder_is_refused(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        make_demo_dataset(tmp_path / "d", ["Knock"])
    assert (tmp_path / "d" / "keep.txt").read_text() == "mine"


def test_each_demo_label_has_the_sound_named_after_it():
    names = {label: bout.__name__ for label, bout in SOUNDS.items()}
    assert names == {label: f"{label.lower()}_bout" for label in DEMO_LABELS}
