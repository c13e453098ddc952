"""The HTML report: escaped text, numbers equal to metrics.json, offline, small, wired."""

from __future__ import annotations

import base64
import html
import json
import re
import runpy
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from audioclf.cache import PackedClips
from audioclf.report import FIGURE_NAMES, figure_files
from audioclf.report.build import build_report
from audioclf.report.example import example_clip, pick_example
from audioclf.report.inputs import read_model_runs
from audioclf.report.provenance import benchmark_table
from audioclf.report.summary import summary_sentence, what_was_run
from audioclf.report.tables import error_tables

REPO = Path(__file__).resolve().parents[1]
RATE = 16000
FIVE_LABELS = ["Bark", "Cough", "Knock", "Meow", "Telephone"]
HOSTILE_LABEL = "<script>alert(1)</script>"
CONFIG_URL = "https://zenodo.org/record/2552860"
# Fixture models: not claims about real models, just two different accuracies.
FAKE_MODELS = {
    "raw": {"type": "raw1d", "accuracy": 0.55, "params": 1_234_567},
    "spectrogram": {"type": "spectrogram", "accuracy": 0.85, "params": 11_200_000},
}


def fake_config() -> dict:
    return {
        "clip_seconds": 2,
        "device": "cpu",
        "seed": 7,
        "download": {"url": CONFIG_URL},
        "models": {
            "raw": {
                "type": "raw1d",
                "epochs": 4,
                "lr": 0.001,
                "batch_size": 32,
                "weight_decay": 0.01,
            },
            "spectrogram": {
                "type": "spectrogram",
                "epochs": 4,
                "lr": 0.001,
                "batch_size": 32,
                "weight_decay": 0.01,
                "n_fft": 512,
                "hop_length": 160,
                "n_mels": 64,
            },
        },  # fmt: skip
        "report": {"figure_format": "svg", "dpi": 100, "example_clip": None},
    }


def tone(seconds: float, rate: int, freq: float, rng) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t) + 0.05 * rng.standard_normal(t.size)).astype(
        np.float32
    )


def make_fake_run(
    root: Path,
    labels: list[str],
    per_label: dict[str, int],
    original_file: bool = True,
    seed: int = 0,
) -> dict:
    """Every input of build_report for a consistent fake run; returns its keyword arguments."""
    rng = np.random.default_rng(seed)
    data = root / "results" / "data"
    data.mkdir(parents=True)
    rows, clips = [], []
    for label in labels:
        for split, count in per_label.items():
            for _ in range(count):
                fname = f"{len(rows):05d}.wav"
                rows.append((fname, label, split))
    fnames = [r[0] for r in rows]
    example = next(r for r in rows if r[2] == "test")[0]
    for fname, label, _ in rows:
        seconds = 3.1 if fname == example else float(rng.uniform(0.2, 0.5))
        clips.append(tone(seconds, RATE, 220.0 * (1 + labels.index(label)), rng))
    original_seconds = [c.size / RATE + float(rng.uniform(0.0, 0.4)) for c in clips]
    audio = root / "audio"
    audio.mkdir()
    if original_file:
        stereo = np.stack([tone(3.5, 44100, 330.0, rng)] * 2, axis=1)
        stereo[: 44100 // 5] = 0.0  # leading silence, removed in the cache
        sf.write(audio / example, stereo, 44100)
    source = ["test" if s == "test" else "train" for *_, s in rows]
    subset = pd.DataFrame(
        {"fname": fnames, "label": [r[1] for r in rows], "source": source,
         "manually_verified": 1, "path": [str(audio / f) for f in fnames]}
    )  # fmt: skip
    excluded = pd.DataFrame(
        {"fname": ["bad1.wav", "bad2.wav", "bad3.wav"], "label": [labels[0]] * 3,
         "path": [str(audio / "bad1.wav"), str(audio / "bad2.wav"), str(audio / "bad3.wav")],
         "reason": ["zero length", "file missing", "zero length"]}
    )  # fmt: skip
    subset = pd.concat([subset, excluded.drop(columns="reason").assign(source="train")])
    subset.to_csv(data / "subset.csv", index=False)
    excluded.to_csv(data / "excluded.csv", index=False)
    cache = PackedClips.from_clips(
        [torch.from_numpy(c) for c in clips], fnames, [r[1] for r in rows], RATE,
        original_seconds, {"top_db": 20},
    )  # fmt: skip
    cache.save(data / "cache.pt")
    pd.DataFrame(
        {"fname": fnames, "label": [r[1] for r in rows], "original_seconds": original_seconds,
         "trimmed_seconds": cache.trimmed_seconds.numpy()}
    ).to_csv(data / "clips.csv", index=False)  # fmt: skip
    split = pd.DataFrame(rows, columns=["fname", "label", "split"])
    split.to_csv(data / "split.csv", index=False)
    from audioclf.split import count_table

    count_table(split).to_csv(data / "split_counts.csv", index=False)

    test = split[split["split"] == "test"]
    models = {}
    for name, spec in FAKE_MODELS.items():
        models[name] = fake_model(root, name, spec, test, labels, rng)
    bench = root / "results" / "benchmarks"
    for rule, wildcards, seconds in (("preprocess_audio", "all", 12.5), ("train_model", "raw", 61)):
        (bench / rule).mkdir(parents=True, exist_ok=True)
        (bench / rule / f"{wildcards}.tsv").write_text(
            "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
            f"{seconds}\t0:00:12\t512.3\t900.1\t500.0\t505.0\t1.0\t2.0\t95.0\t11.0\n"
        )
    config = fake_config()
    return {
        "config": config,
        "subset_csv": data / "subset.csv",
        "clips_csv": data / "clips.csv",
        "excluded_csv": data / "excluded.csv",
        "split_csv": data / "split.csv",
        "split_counts_csv": data / "split_counts.csv",
        "cache_path": data / "cache.pt",
        "models": models,
        "benchmark_tsvs": sorted(bench.rglob("*.tsv")),
        "settings": config["report"],
    }


def fake_model(root: Path, name: str, spec: dict, test: pd.DataFrame, labels, rng) -> dict:
    """predictions.csv, metrics.json (computed from them), history.csv and model.pt."""
    truth = test["label"].to_numpy()
    right = rng.random(truth.size) < spec["accuracy"]
    others = {t: [x for x in labels if x != t] for t in labels}
    predicted = np.array(
        [t if ok else rng.choice(others[t]) for t, ok in zip(truth, right, strict=True)]
    )
    probs = rng.dirichlet(np.ones(len(labels)), size=truth.size) * 0.4
    for i, p in enumerate(predicted):
        probs[i, labels.index(p)] += 0.6
    predictions = pd.DataFrame(
        {"fname": test["fname"].to_numpy(), "label": truth, "predicted": predicted,
         "confidence": probs.max(axis=1)}
    )  # fmt: skip
    for j, label in enumerate(labels):
        predictions[f"prob_{label}"] = probs[:, j]
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    metrics = {
        "model": name, "type": spec["type"],
        "accuracy": accuracy_score(truth, predicted),
        "balanced_accuracy": balanced_accuracy_score(truth, predicted),
        "macro_f1": f1_score(truth, predicted, labels=labels, average="macro"),
        "valid_accuracy": float(rng.uniform(0.5, 0.9)),
        "n_test": int(truth.size),
        "per_class": {
            label: {"precision": float(precision[j]), "recall": float(recall[j]),
                    "f1": float(f1[j]), "support": int(support[j])}
            for j, label in enumerate(labels)
        },
        "confusion_matrix": {
            "labels": labels,
            "matrix": confusion_matrix(truth, predicted, labels=labels).tolist(),
        },
        "n_params": spec["params"],
        "architecture": f"{name.title()}Net(\n  (conv): Conv1d(1, 16, kernel_size=(9,))\n)",
        "train_seconds": float(rng.uniform(50, 500)),
        "inference_clips_per_second": float(rng.uniform(100, 900)),
        "device": "cpu", "pretrained": spec["type"] == "spectrogram",
        "weight_source": "torchvision ResNet18_Weights.IMAGENET1K_V1"
        if spec["type"] == "spectrogram" else None,
        "epochs": 4, "lr": 0.001, "batch_size": 32, "weight_decay": 0.01, "seed": 7,
        "eval_windows": "sliding", "settings": {"dropout": 0.1},
    }  # fmt: skip
    epochs = np.arange(1, 5)
    history = pd.DataFrame(
        {"epoch": epochs, "train_loss": (2.2 - 1.5 * spec["accuracy"]) / epochs,
         "valid_loss": (2.4 - 1.5 * spec["accuracy"]) / epochs + 0.1,
         "valid_accuracy": np.linspace(0.3, metrics["valid_accuracy"], 4), "seconds": 10.0}
    )  # fmt: skip
    out = root / "results" / "models" / name
    evaluation = root / "results" / "eval" / name
    out.mkdir(parents=True)
    evaluation.mkdir(parents=True)
    predictions.to_csv(evaluation / "predictions.csv", index=False)
    (evaluation / "metrics.json").write_text(json.dumps(metrics))
    history.to_csv(out / "history.csv", index=False)
    torch.save({"format": "audioclf-model/1", "model": name, "state_dict": {}}, out / "model.pt")
    return {
        "metrics": evaluation / "metrics.json",
        "predictions": evaluation / "predictions.csv",
        "history": out / "history.csv",
        "model": out / "model.pt",
    }


def build(root: Path, inputs: dict, **overrides) -> tuple[str, Path]:
    out_html = root / "results" / "report.html"
    figures = root / "results" / "report"
    build_report(out_html, figures, **{**inputs, **overrides})
    return out_html.read_text(encoding="utf-8"), figures


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """The default experiment's shape: 5 labels, 2 models, ~870 train and ~270 test clips."""
    root = tmp_path_factory.mktemp("full")
    inputs = make_fake_run(root, FIVE_LABELS, {"train": 174, "valid": 30, "test": 54})
    page, figures = build(root, inputs)
    return root, inputs, page, figures


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """Labels with markup and '$', and the example clip's source file gone."""
    root = tmp_path_factory.mktemp("hostile")
    labels = [HOSTILE_LABEL, "Bark & $Meow$", "Knock"]
    inputs = make_fake_run(root, labels, {"train": 6, "valid": 2, "test": 4}, original_file=False)
    page, figures = build(root, inputs)
    return root, inputs, page, figures


class CellParser(HTMLParser):
    """(model, metric) -> text of every element with data-model and data-metric attributes."""

    def __init__(self):
        super().__init__()
        self.cells: dict[tuple[str, str], str] = {}
        self._key = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-model" in attrs and "data-metric" in attrs:
            self._key = (attrs["data-model"], attrs["data-metric"])
            self.cells[self._key] = ""

    def handle_endtag(self, tag):
        self._key = None

    def handle_data(self, data):
        if self._key:
            self.cells[self._key] += data


def shown(text: str) -> float:
    """'84.2%' -> 84.2, '1,234,567' -> 1234567.0."""
    return float(text.strip().rstrip("%").replace(",", ""))


def test_results_table_numbers_equal_metrics_json(full_run):
    _, inputs, page, _ = full_run
    parser = CellParser()
    parser.feed(page)
    compared = 0
    for name, paths in inputs["models"].items():
        metrics = json.loads(Path(paths["metrics"]).read_text())
        expected = {
            "accuracy": (100 * metrics["accuracy"], 0.05),
            "balanced_accuracy": (100 * metrics["balanced_accuracy"], 0.05),
            "macro_f1": (metrics["macro_f1"], 0.0005),
            "valid_accuracy": (100 * metrics["valid_accuracy"], 0.05),
            "train_seconds": (metrics["train_seconds"], 0.05),
            "inference_clips_per_second": (metrics["inference_clips_per_second"], 0.05),
            "n_params": (metrics["n_params"], 0),
        }
        for label, values in metrics["per_class"].items():
            expected[f"recall:{label}"] = (100 * values["recall"], 0.05)
        for metric, (value, tolerance) in expected.items():
            text = parser.cells[(name, metric)]
            assert shown(text) == pytest.approx(value, abs=tolerance + 1e-9), (name, metric, text)
            compared += 1
    assert compared == 2 * (7 + len(FIVE_LABELS))


def test_summary_names_both_models_with_their_accuracy(full_run):
    _, inputs, page, _ = full_run
    sentence = re.search(r'id="summary-sentence">(.*?)</p>', page, re.S).group(1)
    accuracies = {
        name: json.loads(Path(p["metrics"]).read_text())["accuracy"]
        for name, p in inputs["models"].items()
    }
    best, worst = sorted(accuracies, key=accuracies.get, reverse=True)
    gap = round(100 * accuracies[best], 1) - round(100 * accuracies[worst], 1)
    assert sentence.startswith(f"The {best} model")
    assert f"{100 * accuracies[best]:.1f}%" in sentence
    assert f"{gap:.1f} points more than the {worst} model" in sentence
    assert f"{100 * accuracies[worst]:.1f}%" in sentence


def test_no_network_reference_anywhere(full_run):
    _, _, page, _ = full_run
    assert not re.search(r"https?://", page, re.IGNORECASE)
    assert "<script" not in page.lower()
    references = re.findall(r"""\b(?:src|href)\s*=\s*["']([^"']*)""", page, re.IGNORECASE)
    assert references, "the page should embed its figures"
    assert all(r.startswith(("data:", "#")) for r in references), references
    # The config's download URL is still shown to the reader, only not as a live reference.
    assert CONFIG_URL in html.unescape(page)


def test_report_for_default_experiment_shape_is_under_5_mb(full_run):
    root, _, page, _ = full_run
    size = (root / "results" / "report.html").stat().st_size
    assert size < 5_000_000, f"report is {size / 1e6:.1f} MB"
    assert size == len(page.encode("utf-8"))


def test_every_figure_is_written_and_embedded(full_run):
    _, _, page, figures = full_run
    files = figure_files(figures, "svg")
    assert set(files) == set(FIGURE_NAMES)
    for name, path in files.items():
        data = path.read_bytes()
        assert data.startswith(b"<?xml") and b"<svg" in data, name
        assert f"data:image/svg+xml;base64,{base64.b64encode(data).decode()}" in page, name


def test_page_shows_the_original_file_of_the_example_clip(full_run):
    _, inputs, page, _ = full_run
    split = pd.read_csv(inputs["split_csv"], dtype=str)
    first_test = split[split["split"] == "test"]["fname"].iloc[0]
    assert f"Clip <code>{first_test}</code>" in page
    assert "44100 Hz with 2 channel(s)" in page


def test_text_from_data_is_escaped(hostile_run):
    _, _, page, _ = hostile_run
    assert HOSTILE_LABEL not in page
    assert "<script" not in page.lower()
    assert html.escape(HOSTILE_LABEL) in page
    assert html.escape("Bark & $Meow$") in page
    # The escaped label still reaches the results table as a data attribute, readable again.
    parser = CellParser()
    parser.feed(page)
    assert ("raw", f"recall:{HOSTILE_LABEL}") in parser.cells


def test_missing_source_file_is_reported_not_fatal(hostile_run):
    _, inputs, page, figures = hostile_run
    assert "The original file is not shown" in page
    assert "file missing" in page
    assert (figures / "preprocessing.svg").stat().st_size > 0


def test_unknown_example_clip_is_an_error_naming_it(hostile_run, tmp_path):
    _, inputs, _, _ = hostile_run
    with pytest.raises(ValueError, match="nope.wav"):
        build(tmp_path, inputs, settings={"example_clip": "nope.wav"})


def test_summary_sentence_for_one_two_and_three_models(hostile_run):
    _, inputs, _, _ = hostile_run
    runs = read_model_runs(inputs["models"])
    one = summary_sentence(runs[:1])
    assert one.startswith("The raw model") and "points" not in one
    assert f"{100 * runs[0].accuracy:.1f}%" in one
    third = read_model_runs({"third": inputs["models"]["raw"]})[0]
    third.metrics["accuracy"] = 0.01
    three = summary_sentence([*runs, third])
    assert "then third: 1.0%" in three
    tie = read_model_runs({"twin": inputs["models"]["raw"], "raw": inputs["models"]["raw"]})
    assert "the same as the raw model" in summary_sentence(tie)


def test_error_tables_list_all_wrong_and_only_one_wrong_clips(full_run):
    _, inputs, _, _ = full_run
    runs = read_model_runs(inputs["models"])
    raw, spec = (r.predictions.set_index("fname") for r in runs)
    raw_wrong = raw["predicted"] != raw["label"]
    spec_wrong = spec["predicted"] != spec["label"]
    all_wrong, only_one = error_tables(runs)
    assert {row[0] for row in all_wrong.rows} == set(raw.index[raw_wrong & spec_wrong])
    expected_only = set(raw.index[raw_wrong ^ spec_wrong])
    assert {row[1] for row in only_one.rows} == expected_only
    assert {row[0] for row in only_one.rows} <= {"raw", "spectrogram"}
    assert len(only_one.rows) == len(expected_only) > 0


def test_benchmark_table_reads_rule_wildcards_and_seconds(tmp_path):
    path = tmp_path / "results" / "benchmarks" / "train_model" / "spectrogram.tsv"
    path.parent.mkdir(parents=True)
    path.write_text("s\th:m:s\tmax_rss\n61.25\t0:01:01\t-\n")
    table, total = benchmark_table([path])
    assert table.rows[0][:3] == ["train_model", "spectrogram", "61.2"]
    assert total == pytest.approx(61.25)
    path.write_text("h:m:s\n0:01:01\n")
    with pytest.raises(ValueError, match="spectrogram.tsv"):
        benchmark_table([path])


def test_make_report_script_writes_png_report(hostile_run, tmp_path, capsys):
    _, inputs, _, _ = hostile_run
    names = list(inputs["models"])
    log = tmp_path / "logs" / "make_report.log"
    log.parent.mkdir()
    out = tmp_path / "report.html"
    figures_dir = tmp_path / "figures"
    snakemake = SimpleNamespace(
        input=SimpleNamespace(
            subset=str(inputs["subset_csv"]), clips=str(inputs["clips_csv"]),
            excluded=str(inputs["excluded_csv"]), split=str(inputs["split_csv"]),
            split_counts=str(inputs["split_counts_csv"]), cache=str(inputs["cache_path"]),
            metrics=[str(inputs["models"][n]["metrics"]) for n in names],
            predictions=[str(inputs["models"][n]["predictions"]) for n in names],
            history=[str(inputs["models"][n]["history"]) for n in names],
            models=[str(inputs["models"][n]["model"]) for n in names],
            benchmarks=[str(p) for p in inputs["benchmark_tsvs"]],
        ),
        output=SimpleNamespace(
            html=str(out), figures=[str(p) for p in figure_files(figures_dir, "png").values()]
        ),
        params=SimpleNamespace(
            model_names=names, config=inputs["config"],
            settings={"figure_format": "png", "dpi": 60, "example_clip": None},
        ),
        log=[str(log)],
    )  # fmt: skip
    runpy.run_path(
        str(REPO / "workflow" / "scripts" / "make_report.py"), init_globals={"snakemake": snakemake}
    )
    page = out.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == len(FIGURE_NAMES)
    for path in figure_files(figures_dir, "png").values():
        assert path.read_bytes().startswith(b"\x89PNG"), path
    assert out.resolve().as_uri() in capsys.readouterr().out


def test_single_model_report_has_no_comparison(hostile_run, tmp_path):
    _, inputs, _, _ = hostile_run
    page, _ = build(tmp_path, inputs, models={"raw": inputs["models"]["raw"]})
    parser = CellParser()
    parser.feed(page)
    assert {model for model, _ in parser.cells} == {"raw"}
    assert "only one model got wrong" not in page
    assert "points more" not in page


def test_example_masks_are_repeatable_and_leave_global_rng_alone(hostile_run):
    _, inputs, _, _ = hostile_run
    cache = PackedClips.load(inputs["cache_path"])
    subset = pd.read_csv(inputs["subset_csv"], dtype=str, keep_default_na=False)
    split = pd.read_csv(inputs["split_csv"], dtype=str, keep_default_na=False)
    fname = pick_example(split, cache, None)
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    first = example_clip(fname, cache, subset, split, inputs["config"])
    assert torch.equal(torch.random.get_rng_state(), state)
    second = example_clip(fname, cache, subset, split, inputs["config"])
    assert np.array_equal(first.mel_masked, second.mel_masked)
    assert not np.array_equal(first.mel, first.mel_masked), "training masks should show"
    assert first.mel.shape[0] == inputs["config"]["models"]["spectrogram"]["n_mels"]
    assert first.cropped.size == inputs["config"]["clip_seconds"] * cache.sample_rate


def test_what_was_run_states_epochs_device_seed_and_weights(hostile_run):
    _, inputs, _, _ = hostile_run
    raw, spectrogram = read_model_runs(inputs["models"])
    raw.metrics["epochs"] = 1
    assert what_was_run(raw).startswith("raw: 1 epoch on cpu, seed 7, from random initial weights")
    spectrogram.metrics["settings"] = {"freeze_epochs": 2}
    line = what_was_run(spectrogram)
    assert "2 epochs with the pretrained body frozen, then 4 epochs on cpu" in line
    assert spectrogram.metrics["weight_source"] in line
