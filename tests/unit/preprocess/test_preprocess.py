"""Tests for audioclf.preprocess.clips and the preprocess_audio / make_demo_dataset scripts."""

import hashlib
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from audioclf.contracts import EXCLUDED, SUBSET, ContractError
from audioclf.preprocess.audio import load_audio, remove_silence, resample, to_int16, to_mono
from audioclf.preprocess.cache import PackedClips
from audioclf.preprocess.clips import PreprocessError, preprocess_subset
from entry_points import run_script


def burst_clip(seconds: float, sr: int, seed: int, channels: int = 1) -> np.ndarray:
    """Silence, a noisy tone burst, silence, another burst, silence."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    tone = 0.4 * np.sin(2 * np.pi * rng.uniform(200, 900) * t) + 0.05 * rng.standard_normal(n)
    gate = ((t > 0.2 * seconds) & (t < 0.4 * seconds)) | ((t > 0.6 * seconds) & (t < 0.8 * seconds))
    wave = (tone * gate + 1e-4 * rng.standard_normal(n)).astype(np.float32)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


def make_clips(folder: Path) -> pd.DataFrame:
    """A subset of usable clips in several formats, rates and channel counts."""
    folder.mkdir(parents=True, exist_ok=True)
    specs = [  # fname, label, sample rate, channels, subtype
        ("a.wav", "Bark", 44100, 1, "PCM_16"),
        ("b.wav", "Bark", 8000, 1, "PCM_16"),
        ("c.wav", "Cough", 48000, 2, "PCM_24"),
        ("d.flac", "Cough", 22050, 1, None),
        ("e.wav", "Knock", 16000, 1, "FLOAT"),
        ("f.ogg", "Knock", 44100, 2, None),
        ("g.wav", "Bark", 44100, 1, "PCM_16"),
        ("h.wav", "Knock", 32000, 1, "PCM_16"),
    ]
    rows = []
    for i, (fname, label, sr, channels, subtype) in enumerate(specs):
        path = folder / fname
        sf.write(path, burst_clip(2 + 0.25 * i, sr, seed=i, channels=channels), sr, subtype)
        rows.append({"fname": fname, "label": label, "source": "train", "path": str(path)})
    return pd.DataFrame(rows)


def add_bad_clips(subset: pd.DataFrame, folder: Path) -> pd.DataFrame:
    """Append one clip of each unusable kind; return the subset with them interleaved."""
    (folder / "text.wav").write_text("not audio")
    (folder / "empty.wav").write_bytes(b"")
    sf.write(folder / "silent.wav", np.zeros(8000, dtype=np.int16), 16000, "PCM_16")
    sf.write(folder / "nothing.wav", np.zeros(0, dtype=np.int16), 16000, "PCM_16")
    bad = pd.DataFrame(
        [
            {"fname": "missing.wav", "label": "Bark", "path": str(folder / "missing.wav")},
            {"fname": "text.wav", "label": "Cough", "path": str(folder / "text.wav")},
            {"fname": "empty.wav", "label": "Knock", "path": str(folder / "empty.wav")},
            {"fname": "silent.wav", "label": "Bark", "path": str(folder / "silent.wav")},
            {"fname": "nothing.wav", "label": "Cough", "path": str(folder / "nothing.wav")},
        ]
    ).assign(source="test")
    mixed = pd.concat([subset.iloc[:3], bad.iloc[:2], subset.iloc[3:6], bad.iloc[2:]])
    return pd.concat([mixed, subset.iloc[6:]], ignore_index=True)


def run(tmp_path: Path, subset: pd.DataFrame, **kwargs) -> tuple[dict, dict]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    subset_csv = tmp_path / "subset.csv"
    subset.to_csv(subset_csv, index=False)
    paths = {
        "cache": tmp_path / "out" / "cache.pt",
        "clips": tmp_path / "out" / "clips.csv",
        "excluded": tmp_path / "out" / "excluded.csv",
    }
    kwargs.setdefault("progress", False)
    summary = preprocess_subset(
        subset_csv, paths["cache"], paths["clips"], paths["excluded"], **kwargs
    )
    return summary, paths


def expected_samples(path: str, sample_rate=16000, top_db=20, pad_ms=20, mode="all"):
    wave, sr = load_audio(path)
    trimmed = remove_silence(
        resample(to_mono(wave), sr, sample_rate), sample_rate, top_db, pad_ms, mode
    )
    return torch.from_numpy(to_int16(trimmed)), wave.shape[-1] / sr


def test_cache_holds_every_clip_decoded_resampled_and_trimmed(tmp_path):
    subset = make_clips(tmp_path / "audio")
    summary, paths = run(tmp_path, subset)
    cache = PackedClips.load(paths["cache"])
    assert cache.fnames == subset["fname"].tolist()
    assert cache.labels == subset["label"].tolist()
    assert cache.sample_rate == 16000
    assert cache.settings == {"sample_rate": 16000, "top_db": 20.0, "pad_ms": 20.0, "mode": "all",
                              "max_seconds": 600.0, "too_long": "exclude",
                              "min_ms": 10.0}  # fmt: skip
    for i, path in enumerate(subset["path"]):
        samples, seconds = expected_samples(path)
        assert torch.equal(cache.raw(i), samples), subset["fname"][i]
        assert cache.original_seconds[i].item() == pytest.approx(seconds)
        # Bursts fill 40% of each clip; trimming keeps them plus a frame and pad at each edge.
        assert 0.4 < cache.trimmed_seconds[i].item() / seconds < 0.75
    assert summary["usable"] == len(subset) and summary["excluded"] == 0

    clips = pd.read_csv(paths["clips"])
    assert clips.columns.tolist() == [
        "fname", "label", "original_seconds", "trimmed_seconds", "samples_hash"
    ]  # fmt: skip
    assert clips["fname"].tolist() == cache.fnames
    assert clips["samples_hash"].tolist() == [
        hashlib.blake2b(cache.raw(i).numpy().tobytes(), digest_size=16).hexdigest()
        for i in range(len(cache))
    ]
    assert np.allclose(clips["trimmed_seconds"], cache.trimmed_seconds.numpy())
    assert np.allclose(clips["original_seconds"], cache.original_seconds.numpy())
    excluded = pd.read_csv(paths["excluded"])
    assert excluded.columns.tolist() == ["fname", "label", "path", "reason"]
    assert excluded.empty


def test_cache_settings_follow_the_arguments(tmp_path):
    subset = make_clips(tmp_path / "audio").iloc[:3]
    run(tmp_path, subset, sample_rate=8000, top_db=30, pad_ms=50, mode="trim")
    cache = PackedClips.load(tmp_path / "out" / "cache.pt")
    assert cache.sample_rate == 8000
    assert cache.settings == {"sample_rate": 8000, "top_db": 30.0, "pad_ms": 50.0, "mode": "trim",
                              "max_seconds": 600.0, "too_long": "exclude",
                              "min_ms": 10.0}  # fmt: skip
    samples, _ = expected_samples(subset["path"][0], 8000, 30, 50, "trim")
    assert torch.equal(cache.raw(0), samples)


def test_every_unusable_clip_is_listed_with_its_reason(tmp_path):
    subset = add_bad_clips(make_clips(tmp_path / "audio"), tmp_path / "audio")
    summary, paths = run(tmp_path, subset, max_excluded_fraction=0.5)
    excluded = pd.read_csv(paths["excluded"], keep_default_na=False)
    reasons = dict(zip(excluded["fname"], excluded["reason"], strict=True))
    assert reasons["missing.wav"] == "file missing"
    assert reasons["text.wav"].startswith("not an audio file (")
    assert reasons["empty.wav"].startswith("not an audio file (")
    assert reasons["silent.wav"] == "silent (every sample is zero)"
    assert reasons["nothing.wav"] == "zero length"
    assert excluded["fname"].tolist() == [f for f in subset["fname"] if f in reasons]
    assert (
        excluded["path"].tolist() == subset.set_index("fname").loc[list(reasons), "path"].tolist()
    )
    cache = PackedClips.load(paths["cache"])
    assert cache.fnames == [f for f in subset["fname"] if f not in reasons]
    assert summary == {
        **summary,
        "clips": len(subset),
        "usable": len(subset) - 5,
        "excluded": 5,
    }
    assert summary["excluded_reasons"]["file missing"] == 1


def test_parallel_workers_give_the_same_cache_in_subset_order(tmp_path):
    subset = add_bad_clips(make_clips(tmp_path / "audio"), tmp_path / "audio")
    run(tmp_path / "one", subset, max_excluded_fraction=0.5, workers=1)
    run(tmp_path / "two", subset, max_excluded_fraction=0.5, workers=2)
    one = PackedClips.load(tmp_path / "one" / "out" / "cache.pt")
    two = PackedClips.load(tmp_path / "two" / "out" / "cache.pt")
    assert one.fnames == two.fnames
    assert torch.equal(one.waveforms, two.waveforms)
    assert torch.equal(one.offsets, two.offsets)
    for name in ("cache.pt", "clips.csv", "excluded.csv"):  # the same bytes
        assert (tmp_path / "one" / "out" / name).read_bytes() == (
            tmp_path / "two" / "out" / name
        ).read_bytes()


def test_relative_paths_are_read_from_the_working_directory(tmp_path, monkeypatch):
    subset = make_clips(tmp_path / "audio").iloc[:2]
    monkeypatch.chdir(tmp_path)
    subset = subset.assign(path=[f"audio/{f}" for f in subset["fname"]])
    summary, _ = run(tmp_path, subset)
    assert summary["usable"] == 2


def test_too_many_exclusions_raise_and_write_no_cache(tmp_path):
    subset = add_bad_clips(make_clips(tmp_path / "audio"), tmp_path / "audio")
    with pytest.raises(PreprocessError) as error:
        run(tmp_path, subset, max_excluded_fraction=0.05)
    message = str(error.value)
    assert "5 of 13 clips" in message
    assert "missing.wav (file missing)" in message
    assert str(tmp_path / "out" / "excluded.csv") in message
    assert len(pd.read_csv(tmp_path / "out" / "excluded.csv")) == 5
    assert not (tmp_path / "out" / "cache.pt").exists()
    assert not (tmp_path / "out" / "clips.csv").exists()


def test_a_label_without_usable_clips_raises(tmp_path):
    subset = make_clips(tmp_path / "audio")
    subset.loc[subset["label"] == "Cough", "path"] = str(tmp_path / "gone.wav")
    with pytest.raises(PreprocessError, match=r"label\(s\) \['Cough'\] have no usable clip"):
        run(tmp_path, subset, max_excluded_fraction=1.0)
    assert not (tmp_path / "out" / "cache.pt").exists()
    assert (tmp_path / "out" / "excluded.csv").exists()


def test_subset_without_a_path_column_is_rejected(tmp_path):
    subset = make_clips(tmp_path / "audio").drop(columns="path")
    with pytest.raises(ContractError, match=r"subset\.csv: .* missing column\(s\) \['path'\]"):
        run(tmp_path, subset)


def test_duplicated_fnames_are_rejected(tmp_path):
    subset = make_clips(tmp_path / "audio")
    with pytest.raises(PreprocessError, match="more than once"):
        run(tmp_path, pd.concat([subset, subset.iloc[:1]]))


def test_scripts_make_a_demo_dataset_and_preprocess_it(tmp_path):
    root = tmp_path / "demo"
    labels = ["Knock", "Cough"]
    run_script(
        "make_demo_dataset.py",
        SimpleNamespace(
            output=SimpleNamespace(root=str(root)),
            params=SimpleNamespace(
                labels=labels,
                demo={"train_per_label": 3, "test_per_label": 1, "max_seconds": 2.0, "seed": 3},
            ),
            log=[str(tmp_path / "demo.log")],
        ),
    )
    train = pd.read_csv(root / "FSDKaggle2018.meta" / "train_post_competition.csv")
    train = train[train["label"].isin(labels)]
    assert len(train) == 6
    subset_csv = tmp_path / "subset.csv"
    subset = train.assign(
        source="train", path=[str(root / "FSDKaggle2018.audio_train" / f) for f in train["fname"]]
    )
    subset[["fname", "label", "source", "manually_verified", "path"]].to_csv(
        subset_csv, index=False
    )
    out = tmp_path / "data"
    run_script(
        "preprocess_audio.py",
        SimpleNamespace(
            input=SimpleNamespace(subset=str(subset_csv)),
            output=SimpleNamespace(
                cache=str(out / "cache.pt"),
                clips=str(out / "clips.csv"),
                excluded=str(out / "excluded.csv"),
            ),
            params=SimpleNamespace(
                sample_rate=16000,
                top_db=20,
                pad_ms=20,
                mode="all",
                max_excluded_fraction=0.05,
                max_seconds=600,
                too_long="exclude",
                min_ms=10,
            ),
            threads=2,
            log=[str(tmp_path / "preprocess.log")],
        ),
    )
    cache = PackedClips.load(out / "cache.pt")
    assert cache.fnames == subset["fname"].tolist()
    # Demo clips open and close with silence, so trimming always shortens them.
    assert (cache.trimmed_seconds < cache.original_seconds).all()
    assert "preprocess" in (tmp_path / "preprocess.log").read_text()


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"mode": "split"}, "mode must be one of"),
        ({"top_db": 0}, "top_db must be positive"),
        ({"pad_ms": -1}, "pad_ms must be zero or more"),
        ({"sample_rate": 0}, "sample_rate must be a positive"),
        ({"max_excluded_fraction": 1.5}, "max_excluded_fraction"),
    ],
)
def test_bad_settings_are_refused_before_any_work(tmp_path, setting, message):
    subset = make_clips(tmp_path / "audio").iloc[:1]
    with pytest.raises(ValueError, match=message):
        run(tmp_path, subset, **setting)
    assert not (tmp_path / "out").exists()


def test_labels_named_like_missing_values_are_kept_and_blank_paths_refused(tmp_path):
    subset = make_clips(tmp_path / "audio").iloc[:2].assign(label=["None", "NA"])
    summary, paths = run(tmp_path, subset)
    assert PackedClips.load(paths["cache"]).labels == ["None", "NA"]
    with pytest.raises(PreprocessError, match=r"empty fname, label or path on data row\(s\) \[2\]"):
        run(tmp_path, subset.assign(path=[subset["path"].iloc[0], ""]))


def _bad_files(folder):
    """Generated files of every shape a user's folder holds, and what each must become."""
    rate = 16000
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(3 * rate) / rate)
    cases = {}

    def cut_in_half(name, **kwargs):
        path = folder / name
        sf.write(path, tone, rate, **kwargs)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        return path

    cases["cut.wav"] = (
        cut_in_half("cut.wav", subtype="PCM_16"),
        r"^truncated \(23\d\d\d of 48000 frames\)$",
    )
    cases["cut.mp3"] = (
        cut_in_half("cut.mp3", format="MP3"),
        r"^truncated \(\d+ of 48000 frames\)$",
    )
    cases["cut.flac"] = (cut_in_half("cut.flac"), r"^decoding failed \(after \d+ of 48000 frames")
    cases["cut.ogg"] = (cut_in_half("cut.ogg", format="OGG", subtype="VORBIS"),
                        r"^not an audio file \(.*malformed")  # fmt: skip
    long = folder / "long.wav"
    sf.write(long, np.tile(tone, 3), rate, subtype="PCM_16")  # 9 s
    cases["long.wav"] = (long, r"^longer than max_seconds \(9.0 s > 5 s\)$")
    six = folder / "six channels 24-bit.wav"
    sf.write(six, np.stack([tone * (k + 1) / 6 for k in range(6)], axis=1), rate, subtype="PCM_24")
    cases["six"] = (six, None)
    uni = folder / "café ünïcode näme.wav"
    sf.write(uni, tone, rate, subtype="PCM_16")
    cases["unicode"] = (uni, None)
    return cases


@pytest.mark.parametrize("too_long", ["exclude", "cut"])
def test_every_bad_file_is_excluded_with_its_reason_or_kept_whole(tmp_path, too_long):
    cases = _bad_files(tmp_path)
    rows = [{"fname": key, "label": "a", "path": str(path)} for key, (path, _) in cases.items()]
    SUBSET.write(tmp_path / "subset.csv", pd.DataFrame(rows))
    summary = preprocess_subset(
        tmp_path / "subset.csv", tmp_path / "cache.pt", tmp_path / "clips.csv",
        tmp_path / "excluded.csv", top_db=80, max_excluded_fraction=1.0, progress=False,
        max_seconds=5, too_long=too_long,
    )  # fmt: skip
    excluded = EXCLUDED.read(tmp_path / "excluded.csv").set_index("fname")["reason"]
    cache = PackedClips.load(tmp_path / "cache.pt")
    for key, (_, reason) in cases.items():
        if key == "long.wav" and too_long == "cut":
            i = cache.fnames.index(key)  # kept, read up to max_seconds
            assert cache.lengths[i] == 5 * 16000 and cache.original_seconds[i] == 5.0
        elif reason is None:
            assert key in cache.fnames and key not in excluded.index, key
        else:
            assert re.search(reason, excluded[key]), (key, excluded[key])
    six = cache.clip(cache.fnames.index("six")).numpy()
    # the six channels' mean: (1 + ... + 6) / 36 of the tone
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(48000) / 16000)
    assert np.abs(six - tone * 21 / 36).max() < 2e-4
    assert summary["cut"] == (1 if too_long == "cut" else 0)


def _silent_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """Files that hold no usable sound, each with the reason excluded.csv must give it."""
    rng = np.random.default_rng(0)
    rate, n = 44100, 44100
    dither = rng.integers(-1, 2, n).astype(np.int16)  # sox's +-1 LSB dither, about -90 dBFS
    sf.write(folder / "dither.wav", dither, rate, "PCM_16")
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(n) / rate)
    sf.write(folder / "cancel2.wav", np.stack([tone, -tone], axis=1), rate, "PCM_16")
    # 8 channels in +- pairs of four tones: every channel is loud, their mean is zero
    pairs = [k * tone for k in (0.2, 0.4, 0.6, 0.8)]
    eight = np.stack([s * x for x in pairs for s in (1, -1)], axis=1)
    sf.write(folder / "cancel8.wav", eight, rate, "PCM_16")
    sf.write(folder / "one.wav", np.array([12000], dtype=np.int16), 16000, "PCM_16")
    return {
        "dither.wav": (folder / "dither.wav", r"^silent \(peak -9\d dBFS, under -80 dBFS\)$"),
        "cancel2.wav": (folder / "cancel2.wav", r"^silent after mixing to mono \(.* -6 dBFS "),
        "cancel8.wav": (folder / "cancel8.wav", r"^silent after mixing to mono \(.* -8 dBFS "),
        "one.wav": (
            folder / "one.wav",
            r"^too short \(0.0625 ms, under preprocess.min_ms 10 ms\)$",
        ),
    }


def test_dither_cancelling_channels_and_one_sample_are_excluded_with_their_reasons(tmp_path):
    """Issue 30: a dithered-silent file, stereo and 8-channel files that cancel in the
    downmix and a 1-sample file were cached; each is now named in excluded.csv."""
    silent = _silent_files(tmp_path)
    subset = make_clips(tmp_path / "audio").iloc[:2]
    rows = [{"fname": k, "label": "Bark", "path": str(p)} for k, (p, _) in silent.items()]
    summary, paths = run(tmp_path, pd.concat([subset, pd.DataFrame(rows)], ignore_index=True),
                         max_excluded_fraction=1.0)  # fmt: skip
    excluded = EXCLUDED.read(paths["excluded"]).set_index("fname")["reason"]
    assert sorted(excluded.index) == sorted(silent)
    for key, (_, reason) in silent.items():
        assert re.search(reason, excluded[key]), (key, excluded[key])
    assert PackedClips.load(paths["cache"]).fnames == subset["fname"].tolist()
    assert summary["excluded"] == 4


def test_files_silent_at_different_peaks_are_one_reason_in_the_counts(tmp_path):
    """Peaks of 1, 2 and 3 LSB are three reasons in excluded.csv but one kind, "silent",
    in the summary's counts and in the message that stops the run."""
    rows = make_clips(tmp_path / "audio").iloc[:1].to_dict("records")
    for lsb in (1, 2, 3):
        path = tmp_path / f"quiet{lsb}.wav"
        sf.write(path, np.where(np.arange(16000) % 2, lsb, -lsb).astype(np.int16), 16000)
        rows.append({"fname": path.name, "label": "Bark", "path": str(path)})
    subset = pd.DataFrame(rows)
    summary, paths = run(tmp_path / "kept", subset, max_excluded_fraction=1.0)
    assert summary["excluded_reasons"] == {"silent": 3}
    assert EXCLUDED.read(paths["excluded"])["reason"].nunique() == 3
    with pytest.raises(PreprocessError, match=r"\(most common reasons: silent x3\)"):
        run(tmp_path / "stopped", subset, max_excluded_fraction=0.5)


def test_min_ms_follows_the_argument_and_a_click_is_not_silent(tmp_path):
    """A 5 ms click of 4 LSB (-78 dBFS) clears the silence floor, one of 3 LSB does not;
    trimming keeps the frames around the click (about 2,048 samples: 130 ms), which
    min_ms 200 excludes as too short, though the file lasts 1 s."""
    click = np.zeros(16000, dtype=np.int16)
    click[8000:8080] = 4
    sf.write(tmp_path / "click.wav", click, 16000, "PCM_16")
    sf.write(tmp_path / "quiet.wav", np.where(click, 3, 0).astype(np.int16), 16000, "PCM_16")
    rows = [
        {"fname": f, "label": "a", "path": str(tmp_path / f)} for f in ("click.wav", "quiet.wav")
    ]
    subset = pd.DataFrame(rows)
    _, paths = run(tmp_path / "one", subset, pad_ms=0, min_ms=1, max_excluded_fraction=1.0)
    assert PackedClips.load(paths["cache"]).fnames == ["click.wav"]
    quiet = EXCLUDED.read(paths["excluded"]).set_index("fname")["reason"]["quiet.wav"]
    assert quiet == "silent (peak -81 dBFS, under -80 dBFS)"
    with pytest.raises(PreprocessError, match=r"click.wav \(too short after trimming \(1[23]\d ms"):
        run(tmp_path / "two", subset, pad_ms=0, min_ms=200)
