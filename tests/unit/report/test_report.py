"""The HTML report: escaped text, numbers equal to metrics.json, offline, small, wired."""

from __future__ import annotations

import base64
import html
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from audioclf.contracts import (
    CLIPS,
    CURVES,
    EXCLUDED,
    SPLIT,
    SUBSET,
)
from audioclf.evaluate.compare import summarize_model
from audioclf.evaluate.stats import p_range
from audioclf.learn.checkpoint import load_trained
from audioclf.learn.data import clip_samples
from audioclf.learn.registry import MODEL_TYPES
from audioclf.preprocess.cache import PackedClips
from audioclf.preprocess.clips import LABEL_CONFLICT
from audioclf.procedure import differences_text
from audioclf.report import DEFAULT_SETTINGS, FIGURE_NAMES, figure_files
from audioclf.report import figures as report_figures
from audioclf.report.audio import missed_fnames, ogg_data_uri
from audioclf.report.build import model_view, per_model
from audioclf.report.comparison import Comparisons, ci_scope
from audioclf.report.example import example_clip, pick_example
from audioclf.report.formatting import percent
from audioclf.report.inputs import ReportInputError, read_model_runs
from audioclf.report.provenance import benchmark_table
from audioclf.report.summary import (
    augment_words,
    runs_sentence,
    summary_sentence,
    what_was_run,
)
from audioclf.report.tables import (
    class_order,
    error_tables,
    excluded_reasons,
    prediction_matrix,
    results_rows,
)
from audioclf.runs import run_ids
from conftest import REPO
from entry_points import run_script
from report_inputs import (
    CONFIG_URL,
    DEEP_SETTINGS,
    FIVE_LABELS,
    FULL_SEEDS,
    HOSTILE_CONTRASTS,
    HOSTILE_FOLDS,
    HOSTILE_LABEL,
    HOSTILE_SEEDS,
    THREE_MODELS,
    build,
    make_fake_run,
)  # noqa: E402


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """The default experiment's shape: 5 labels, 2 models, ~870 train and ~270 test clips,
    3 seeds."""
    root = tmp_path_factory.mktemp("full")
    inputs = make_fake_run(root, FIVE_LABELS, {"train": 174, "valid": 30, "test": 54})
    page, figures = build(root, inputs)
    return root, inputs, page, figures


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """Labels with markup and '$', the example clip's source file gone; three models (one a
    raw1d_deep), 2 seeds x 2 cross-validation folds."""
    root = tmp_path_factory.mktemp("hostile")
    labels = [HOSTILE_LABEL, "Bark & $Meow$", "Knock"]
    inputs = make_fake_run(
        root, labels, {"train": 6, "valid": 2, "test": 4}, original_file=False,
        models=THREE_MODELS, seeds=HOSTILE_SEEDS, folds=HOSTILE_FOLDS,
        contrasts=HOSTILE_CONTRASTS,
    )  # fmt: skip
    page, figures = build(root, inputs)
    return root, inputs, page, figures


def metrics_of(inputs: dict, name: str) -> dict:
    return json.loads(Path(inputs["models"][name]["metrics"]).read_text())


class CellParser(HTMLParser):
    """(model, metric) -> shown mean (the cell's own text) and ± std (its `std` span), of
    every element with data-model and data-metric attributes."""

    def __init__(self):
        super().__init__()
        self.cells: dict[tuple[str, str], str] = {}
        self.stds: dict[tuple[str, str], str] = {}
        self._key = self._tag = None
        self._in_std = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-model" in attrs and "data-metric" in attrs:
            self._key, self._tag = (attrs["data-model"], attrs["data-metric"]), tag
            self.cells[self._key] = ""
            self.stds.pop(self._key, None)
        elif self._key and tag == "span" and "std" in (attrs.get("class") or "").split():
            self._in_std = True
            self.stds[self._key] = ""

    def handle_endtag(self, tag):
        if self._in_std and tag == "span":
            self._in_std = False
        elif tag == self._tag:
            self._key = self._tag = None

    def handle_data(self, data):
        if self._key and self._in_std:
            self.stds[self._key] += data
        elif self._key:
            self.cells[self._key] += data


class RowParser(HTMLParser):
    """Rows (<tr>) carrying all of `row_attributes`: their attributes and {data-field: text}."""

    def __init__(self, *row_attributes: str):
        super().__init__()
        self.wanted = row_attributes
        self.rows: list[tuple[dict, dict[str, str]]] = []
        self._field = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and all(a in attrs for a in self.wanted):
            self.rows.append((attrs, {}))
        elif self.rows and "data-field" in attrs:
            self._field = attrs["data-field"]
            self.rows[-1][1][self._field] = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._field = None

    def handle_data(self, data):
        if self._field:
            self.rows[-1][1][self._field] += data


def parsed(parser: HTMLParser, page: str) -> HTMLParser:
    parser.feed(page)
    parser.close()
    return parser


def shown(text: str) -> float:
    """'84.2%' -> 84.2, '1,234,567' -> 1234567.0, ' ± 1.3' -> 1.3."""
    return float(text.strip().lstrip("±").strip().rstrip("%").replace(",", ""))


def test_results_table_numbers_equal_metrics_json(full_run):
    _, inputs, page, _ = full_run
    parser = parsed(CellParser(), page)
    compared = 0
    for name in inputs["models"]:
        metrics = metrics_of(inputs, name)
        assert metrics["n_runs"] == len(FULL_SEEDS)
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


def test_results_table_shows_std_over_runs(full_run):
    _, inputs, page, _ = full_run
    parser = parsed(CellParser(), page)
    for name in inputs["models"]:
        std = metrics_of(inputs, name)["std"]
        expected = {
            "accuracy": (100 * std["accuracy"], 0.05),
            "balanced_accuracy": (100 * std["balanced_accuracy"], 0.05),
            "macro_f1": (std["macro_f1"], 0.0005),
            "valid_accuracy": (100 * std["valid_accuracy"], 0.05),
            "train_seconds": (std["train_seconds"], 0.05),
        }
        assert std["accuracy"] > 0, "fixture runs should differ, or the test shows nothing"
        for metric, (value, tolerance) in expected.items():
            text = parser.stds[(name, metric)]
            assert text.strip().startswith("±"), text
            assert shown(text) == pytest.approx(value, abs=tolerance + 1e-9), (name, metric, text)
        # Per-label recalls are means without a spread in metrics.json: no ± shown.
        assert (name, f"recall:{FIVE_LABELS[0]}") not in parser.stds


def run_table_rows(page: str) -> dict[str, list[dict[str, str]]]:
    rows: dict[str, list[dict[str, str]]] = {}
    for attrs, cells in parsed(RowParser("data-model", "data-run"), page).rows:
        rows.setdefault(attrs["data-model"], []).append(cells)
    return rows


@pytest.mark.parametrize("fixture", ["full_run", "hostile_run"])
def test_per_run_table_equals_metrics_runs(fixture, request):
    _, inputs, page, _ = request.getfixturevalue(fixture)
    table = run_table_rows(page)
    assert list(table) == list(inputs["models"])
    for name, rows in table.items():
        runs = metrics_of(inputs, name)["runs"]
        assert len(rows) == len(runs) > 1
        for row, run in zip(rows, runs, strict=True):
            assert row["seed"] == str(run["seed"])
            if fixture == "hostile_run":
                assert row["fold"] == str(run["fold"])
            else:
                assert "fold" not in row, "no folds were run: no fold column"
            for key, scale, tolerance in (
                ("accuracy", 100, 0.05), ("balanced_accuracy", 100, 0.05),
                ("macro_f1", 1, 0.0005), ("valid_accuracy", 100, 0.05),
            ):  # fmt: skip
                assert shown(row[key]) == pytest.approx(scale * run[key], abs=tolerance + 1e-9)


def test_summary_names_both_models_with_their_accuracy(full_run):
    _, inputs, page, _ = full_run
    sentence = re.search(r'id="summary-sentence">(.*?)</p>', page, re.S).group(1)
    accuracies = {name: metrics_of(inputs, name)["accuracy"] for name in inputs["models"]}
    best, worst = sorted(accuracies, key=accuracies.get, reverse=True)
    gap = round(100 * accuracies[best], 1) - round(100 * accuracies[worst], 1)
    assert sentence.startswith(f"The {best} model")
    assert f"{100 * accuracies[best]:.1f}%" in sentence
    assert f"(mean of {len(FULL_SEEDS)} runs)" in sentence
    assert f"{gap:.1f} points more than the {worst} model" in sentence
    assert f"{100 * accuracies[worst]:.1f}%" in sentence


def test_summary_leads_with_the_escaped_comparison_sentences(full_run):
    _, inputs, page, _ = full_run
    comparisons = json.loads(inputs["comparison_json"].read_text())["comparisons"]
    sentence = comparisons[0]["sentence"]
    # The fixture's models differ by ~30 points on 270 clips: describe_comparison writes
    # "p < 0.001", a '<' the page must escape.
    assert "<" in sentence, sentence
    assert sentence not in page
    lead = re.search(r'id="comparison-sentences">(.*?)</ul>', page, re.S).group(1)
    assert f"<li>{html.escape(sentence)}</li>" in lead
    assert page.index('id="summary-sentence"') < page.index('id="comparison-sentences"')
    assert page.index('id="comparison-sentences"') < page.index('id="data"')


def test_summary_states_seeds_and_which_seed_errors_and_curves_show(full_run, hostile_run):
    _, _, page, _ = full_run
    seeds = ", ".join(map(str, FULL_SEEDS))
    assert f"Every model was trained and tested with 3 seeds ({seeds}): 3 runs." in page
    assert f"Errors: seed {FULL_SEEDS[0]}, the first seed" in page
    assert "the training curves show every run" in page
    assert "summed over the 3 runs of each model" in page
    _, _, page, _ = hostile_run
    assert "with 2 seeds (5, 6) on each of 2 cross-validation folds (1, 2): 4 runs." in page
    errors = f"Errors: seed {HOSTILE_SEEDS[0]}, the first seed (that seed's test predictions"
    assert errors in html.unescape(page)
    assert "every run of each model, one line per run" in html.unescape(page)
    assert "summed over the 4 runs of each model" in page


@pytest.mark.parametrize("fixture", ["full_run", "hostile_run"])
def test_statistics_table_equals_comparison_json(fixture, request):
    _, inputs, page, _ = request.getfixturevalue(fixture)
    comparisons = json.loads(inputs["comparison_json"].read_text())["comparisons"]
    n = len(inputs["models"])
    assert len(comparisons) == n * (n - 1) // 2
    rows = [cells for _, cells in parsed(RowParser("data-comparison"), page).rows]
    assert len(rows) == len(comparisons)
    for row, pair in zip(rows, comparisons, strict=True):
        assert row["pair"] == f"{pair['model_a']} vs {pair['model_b']}"
        assert shown(row["difference"]) == pytest.approx(pair["difference"], abs=0.05 + 1e-9)
        low, high, level = re.fullmatch(r"(\S+) to (\S+) \((\d+)%\)", row["ci"]).groups()
        assert shown(low) == pytest.approx(pair["low"], abs=0.05 + 1e-9)
        assert shown(high) == pytest.approx(pair["high"], abs=0.05 + 1e-9)
        assert float(level) == pytest.approx(100 * pair["level"])
        assert (int(row["b"]), int(row["c"])) == (pair["b"], pair["c"])
        assert row["p_value"] == p_range(pair)  # one seed's p or the per-seed range
        assert len(pair["p_values"]) == pair["n_seeds"]
        assert int(row["n_seeds"]) == pair["n_seeds"] and int(row["n_clips"]) == pair["n_clips"]
        assert row["sentence"] == pair["sentence"]
    assert "no p-value is pooled over seeds" in page
    assert page.index('id="results"') < page.index('id="statistics"') < page.index('id="errors"')


def test_three_model_report_describes_the_deep_raw_model(hostile_run):
    _, inputs, page, _ = hostile_run
    assert list(inputs["models"]) == ["raw", "raw_deep", "spectrogram"]
    assert metrics_of(inputs, "raw_deep")["type"] == "raw1d_deep"
    parser = parsed(CellParser(), page)
    assert {model for model, _ in parser.cells} == set(THREE_MODELS)
    assert html.escape(MODEL_TYPES["raw1d_deep"].description) in page
    # The augmentation as recorded in the deep model's settings, in words.
    assert html.escape(augment_words(DEEP_SETTINGS)) in page
    assert "±6.0 dB" in page and "20 to 40 dB" in page
    assert "The raw-waveform models (raw, raw_deep)" in page


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


# the figures a run may have nothing for, each with the id of the sentence that says why
EMPTY_FIGURE_SENTENCES = {
    "filterbank": "no-filterbank",
    "learned_filters": "no-learned-filters",
    "contrasts": "no-contrasts",
    "pretraining": "no-pretraining",
    "data_curves": "data-size-sentence",
}


def test_every_figure_is_written_and_embedded_unless_it_is_empty(full_run):
    """full_run has no learnable filterbank, contrast or pretrained encoder: those three
    figures are files (the rule declares them) but not on the page."""
    _, _, page, figures = full_run
    files = figure_files(figures, "svg")
    assert set(files) == set(FIGURE_NAMES)
    empty = {"filterbank", "contrasts", "pretraining"}
    for name, path in files.items():
        data = path.read_bytes()
        assert data.startswith(b"<?xml") and b"<svg" in data, name
        embedded = f"data:image/svg+xml;base64,{base64.b64encode(data).decode()}" in page
        assert embedded == (name not in empty), name
        assert (f'id="fig-{name}"' in page) == (name not in empty), name
        if name in EMPTY_FIGURE_SENTENCES:
            assert (f'id="{EMPTY_FIGURE_SENTENCES[name]}"' in page) == (name in empty), name


def test_each_empty_figure_is_one_sentence_saying_why(hostile_run, tmp_path):
    """A spectrogram model alone, one train fraction: no waveform model, filterbank,
    contrast, pretraining or data-size curve. Each is one sentence, no placeholder box."""
    _, inputs, _, _ = hostile_run
    lone = tmp_path / "comparison.json"
    lone.write_text(json.dumps({"n_seeds": len(HOSTILE_SEEDS), "comparisons": [],
                                "contrasts": [], "skipped_contrasts": []}))  # fmt: skip
    curves = CURVES.read(inputs["curves_csv"])
    CURVES.write(tmp_path / "curves.csv", curves[curves["fraction"] == 1.0])
    page, figures = build(
        tmp_path, inputs, models={"spectrogram": inputs["models"]["spectrogram"]},
        comparison_json=lone, curves_csv=tmp_path / "curves.csv",
    )  # fmt: skip
    why = {
        "filterbank": "No model of this run has a learnable filterbank",
        "learned_filters": "No model of this run reads the waveform",
        "contrasts": "No contrast was measured",
        "pretraining": "No model of this run uses a pretrained encoder",
        "data_curves": "Every model learned from its whole train split only",
    }
    for name, sentence_id in EMPTY_FIGURE_SENTENCES.items():
        assert f'id="fig-{name}"' not in page, name
        start = page.index(f'id="{sentence_id}"')
        assert why[name] in page[start : page.index("</p>", start)], name
        assert (figures / f"{name}.svg").stat().st_size > 0  # the rule's declared file
    assert page.count("<figure") == page.count('<figure class="player"') + 6


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
    parser = parsed(CellParser(), page)
    assert ("raw", f"recall:{HOSTILE_LABEL}") in parser.cells


def test_missing_source_file_is_reported_not_fatal(hostile_run):
    _, inputs, page, figures = hostile_run
    assert "The original file is not shown" in page
    assert "file missing" in page
    assert (figures / "preprocessing.svg").stat().st_size > 0


def contrast_items(page: str) -> list[dict]:
    """The What-explains-the-gap list items: their data attributes and their text."""
    section = re.search(r'id="contrast-sentences">(.*?)</ul>', page, re.S).group(1)
    items = []
    for attributes, text in re.findall(r"<li (data-contrast=[^>]*)>(.*?)</li>", section, re.S):
        found = re.findall(r'data-([\w-]+)="([^"]*)"', attributes + text)
        item = {k: html.unescape(v) for k, v in found}
        item["text"] = " ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split())
        items.append(item)
    return items


def test_gap_section_equals_comparison_json_and_leads_the_summary(hostile_run):
    _, inputs, page, figures = hostile_run
    data = json.loads(inputs["comparison_json"].read_text())
    done, skipped = data["contrasts"], data["skipped_contrasts"]
    assert [c["name"] for c in done] == [c["name"] for c in HOSTILE_CONTRASTS[:3]]
    measured = [c for c in done if c["measured"]]
    assert [c["name"] for c in measured] == [c["name"] for c in HOSTILE_CONTRASTS[:2]]
    assert [(c["name"], c["reason"]) for c in skipped] == [
        ("pretraining", "model(s) spectrogram_scratch not configured")
    ]
    items = contrast_items(page)
    assert len(items) == len(measured)
    for item, contrast in zip(items, measured, strict=True):
        assert item["contrast"] == contrast["name"] and item["factor"] == contrast["factor"]
        for key in ("difference", "low", "high"):
            assert float(item[key]) == pytest.approx(contrast[key])
        assert int(item["seeds"]) == contrast["n_seeds"] == len(HOSTILE_SEEDS)
        assert item["text"].startswith(contrast["sentence"])
        # Holm over the two measured contrasts: the larger p doubled at most
        assert contrast["p_value"] <= contrast["p_adjusted"] <= min(1, 2 * contrast["p_value"])
        assert float(item["p-adjusted"]) == pytest.approx(contrast["p_adjusted"])
    # the ResNet against raw_deep at "equal capacity": the parameter counts are not, and the
    # page says so under the contrast
    size = [d for d in measured[0]["also_differs"] if d["key"] == "n_params"]
    assert size and size[0]["a"] > 10 * size[0]["b"]
    assert f"n_params {size[0]['a']} vs {size[0]['b']}" in items[0]["also-differs"]
    assert "Also differs in: " in items[0]["text"]
    # the markup in a contrast's name is shown as text, never parsed
    assert "input <b>&</b> $size$" not in page and html.escape("input <b>&</b> $size$") in page
    # the summary's lead sentences are the measured contrasts' sentences
    lead = re.search(r'id="comparison-sentences">(.*?)</ul>', page, re.S).group(1)
    assert [html.unescape(x) for x in re.findall(r"<li>(.*?)</li>", lead)] == [
        c["sentence"] for c in measured
    ]
    assert page.index('id="summary"') < page.index('id="gap"') < page.index('id="data"')
    assert "t interval for the mean over the 2 seeds" in page and "Holm-adjusted" in page
    skipped_list = page[page.index('id="skipped-contrasts"') :]
    assert "pretraining (spectrogram vs spectrogram_scratch): model(s) spectrogram_scratch" in (
        html.unescape(skipped_list)
    )
    assert (figures / "contrasts.svg").stat().st_size > 0


def test_a_weights_contrast_without_weights_is_not_measured_here(hostile_run):
    _, inputs, page, _ = hostile_run
    data = json.loads(inputs["comparison_json"].read_text())
    (unmeasured,) = [c for c in data["contrasts"] if not c["measured"]]
    assert unmeasured["name"] == "waveform weights" and unmeasured["factor"] == "weights"
    assert "not measured here" in unmeasured["reason"] and "difference" not in unmeasured
    shown = re.findall(r'<li data-unmeasured="([^"]*)">(.*?)</li>', page, re.S)
    assert [(html.unescape(n), html.unescape(t)) for n, t in shown] == [
        ("waveform weights", f"waveform weights (raw_deep vs raw, factor weights): "
         f"{unmeasured['reason']}; they differ only in "
         f"{differences_text(unmeasured['also_differs'])}")
    ]  # fmt: skip
    assert "not measured here" not in re.search(r'id="comparison-sentences">(.*?)</ul>', page,
                                                re.S).group(1)  # fmt: skip


def test_with_one_seed_the_intervals_cover_test_clips_only():
    one = Comparisons(1, [], [], [], [])
    assert "test-clip sampling only" in ci_scope(one)
    assert "seed-to-seed variation" in ci_scope(Comparisons(3, [], [], [], []))


def test_unknown_example_clip_is_an_error_naming_it(hostile_run, tmp_path):
    _, inputs, _, _ = hostile_run
    with pytest.raises(ValueError, match="nope.wav"):
        build(tmp_path, inputs, settings={"example_clip": "nope.wav"})


def test_comparison_of_models_not_in_the_report_is_an_error_naming_them(hostile_run, tmp_path):
    _, inputs, _, _ = hostile_run
    with pytest.raises(
        ReportInputError, match=r"comparison\.json: .* names model\(s\) \[.*'spectrogram'.*\]"
    ):
        build(tmp_path, inputs, models={"raw": inputs["models"]["raw"]})
    stale = json.loads(inputs["comparison_json"].read_text())
    stale["comparisons"][0]["n_clips"] += 1
    path = tmp_path / "stale.json"
    path.write_text(json.dumps(stale))
    with pytest.raises(ReportInputError, match="stale"):
        build(tmp_path, inputs, comparison_json=path)


def test_summary_sentence_for_one_two_and_three_models(hostile_run):
    _, inputs, _, _ = hostile_run
    runs = read_model_runs(inputs["models"])
    one = summary_sentence(runs[:1])
    assert one.startswith("The raw model") and "points" not in one
    assert f"{100 * runs[0].accuracy:.1f}%" in one
    third = read_model_runs({"third": inputs["models"]["raw"]})[0]
    third.metrics["accuracy"] = 0.01
    three = summary_sentence([runs[0], runs[2], third])
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


def test_one_run_summary_reads_as_one_run_without_spread(full_run, tmp_path):
    _, inputs, _, _ = full_run
    paths = dict(inputs["models"]["raw"])
    first = paths["metrics"].parent / run_ids(FULL_SEEDS)[0]
    paths["metrics"] = tmp_path / "metrics.json"
    paths["history"] = paths["history"][:1]
    summarize_model(
        [first / "metrics.json"], [first / "predictions.csv"], paths["metrics"],
        tmp_path / "predictions.csv",
    )  # fmt: skip
    (run,) = read_model_runs({"raw": paths})
    assert (run.n_runs, run.seeds, run.folds) == (1, [FULL_SEEDS[0]], [])
    assert all(std is None for row in results_rows([run]) for _, _, std in row.cells)
    assert runs_sentence([run]) == f"The model was trained and tested once (seed {FULL_SEEDS[0]})."


def test_benchmark_table_reads_rule_wildcards_and_seconds(tmp_path):
    path = tmp_path / "results" / "benchmarks" / "train_model" / "spectrogram.tsv"
    path.parent.mkdir(parents=True)
    path.write_text("s\th:m:s\tmax_rss\n61.25\t0:01:01\t-\n")
    table, total = benchmark_table([path])
    assert table.rows[0][:3] == ["train_model", "spectrogram", "61.2"]
    assert total == pytest.approx(61.25)
    # a model's run: the rule stays the rule, the wildcards are the model and the run
    for rule in ("train_model", "evaluate_model"):
        run = tmp_path / "results" / "benchmarks" / rule / "raw" / "seed0.tsv"
        run.parent.mkdir(parents=True)
        run.write_text("s\th:m:s\tmax_rss\n5\t0:00:05\t-\n")
    table, _ = benchmark_table(sorted((tmp_path / "results" / "benchmarks").rglob("*.tsv")))
    assert [row[:2] for row in table.rows] == [
        ["evaluate_model", "raw / seed0"], ["train_model", "raw / seed0"],
        ["train_model", "spectrogram"],
    ]  # fmt: skip
    path.write_text("h:m:s\n0:01:01\n")
    with pytest.raises(ValueError, match="spectrogram.tsv"):
        benchmark_table([path])


def test_make_report_script_writes_png_report(hostile_run, tmp_path):
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
            history=[str(path) for n in names for path in inputs["models"][n]["history"]],
            models=[str(inputs["models"][n]["model"]) for n in names],
            benchmarks=[str(p) for p in inputs["benchmark_tsvs"]],
            comparison=str(inputs["comparison_json"]),
            curves=str(inputs["curves_csv"]), encoders=[],
        ),
        output=SimpleNamespace(
            html=str(out), figures=[str(p) for p in figure_files(figures_dir, "png").values()]
        ),
        params=SimpleNamespace(
            model_names=names, config=inputs["config"], encoder_names=[],
            settings={"figure_format": "png", "dpi": 60, "example_clip": None},
        ),
        log=[str(log)],
    )  # fmt: skip
    run_script("make_report.py", snakemake)
    page = out.read_text(encoding="utf-8")
    # no learnable filterbank and no pretrained encoder here: a sentence each, not a figure
    assert page.count("data:image/png;base64,") == len(FIGURE_NAMES) - 2
    for path in figure_files(figures_dir, "png").values():
        assert path.read_bytes().startswith(b"\x89PNG"), path
    assert out.resolve().as_uri() in log.read_text()
    pairs = json.loads(inputs["comparison_json"].read_text())["comparisons"]
    assert len(parsed(RowParser("data-comparison"), page).rows) == len(pairs) == 3


def test_single_model_report_has_no_comparison(hostile_run, tmp_path):
    _, inputs, _, _ = hostile_run
    # The workflow's comparison.json for a single model: no pairs.
    lone = tmp_path / "comparison.json"
    lone.write_text(
        json.dumps(
            {"n_seeds": len(HOSTILE_SEEDS), "comparisons": [], "contrasts": [],
             "skipped_contrasts": []}
        )
    )  # fmt: skip
    page, _ = build(tmp_path, inputs, models={"raw": inputs["models"]["raw"]}, comparison_json=lone)
    parser = parsed(CellParser(), page)
    assert {model for model, _ in parser.cells} == {"raw"}
    assert "only one model got wrong" not in page
    assert "points more" not in page
    assert "only one model, so nothing to compare" in page
    assert 'id="comparison-sentences"' not in page


def test_example_masks_are_repeatable_and_leave_global_rng_alone(hostile_run):
    _, inputs, _, _ = hostile_run
    cache = PackedClips.load(inputs["cache_path"])
    subset = SUBSET.read(inputs["subset_csv"])
    split = SPLIT.read(inputs["split_csv"])
    models = {name: load_trained(p["model"]) for name, p in inputs["models"].items()}
    fname = pick_example(split, cache, None)
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    first = example_clip(fname, cache, subset, split, models)
    assert torch.equal(torch.random.get_rng_state(), state)
    second = example_clip(fname, cache, subset, split, models)
    assert np.array_equal(first.mel_masked, second.mel_masked)
    assert not np.array_equal(first.mel, first.mel_masked), "training masks should show"
    assert first.mel.shape[0] == inputs["config"]["models"]["spectrogram"]["n_mels"]
    assert first.cropped.size == clip_samples(inputs["config"]["clip_seconds"], cache.sample_rate)


def test_what_was_run_states_epochs_device_seeds_folds_and_weights(hostile_run):
    _, inputs, _, _ = hostile_run
    raw, _, spectrogram = read_model_runs(inputs["models"])
    raw.metrics.update(epochs=1, epochs_run=1, optimizer_steps=7)
    assert what_was_run(raw).startswith(
        "raw: 1 epoch on cpu, seeds 5, 6, folds 1, 2 (7 optimizer steps in the first run), "
        "from random initial weights"
    )
    assert what_was_run(raw).endswith("per run on average (4 runs).")
    raw.metrics.update(epochs_run=3, optimizer_steps=21)
    assert what_was_run(raw).startswith("raw: 3 epochs (raised from 1 by min_steps")
    raw.metrics.update(epochs_run=None, optimizer_steps=None)  # runs before min_steps
    assert what_was_run(raw).startswith(
        "raw: 1 epoch on cpu, seeds 5, 6, folds 1, 2 (optimizer steps not recorded)"
    )
    spectrogram.metrics["settings"] = {"freeze_epochs": 2}
    spectrogram.metrics["epochs_run"] = 6
    line = what_was_run(spectrogram)
    assert "2 epochs with the pretrained body frozen, then 4 epochs on cpu" in line
    assert spectrogram.metrics["weight_source"] in line


def test_the_models_section_cites_published_weights_a_model_loaded(hostile_run):
    _, inputs, _, _ = hostile_run
    _, _, spectrogram = read_model_runs(inputs["models"])
    spectrogram.metrics.update(settings={"pretrained": "audioset"}, pretrained=True)
    facts = dict(model_view(spectrogram)["facts"])
    cited = facts["pretrained weights"]
    assert "PANNs CNN14 trained on AudioSet" in cited and "Kong" in cited
    assert "Zenodo record 3987831" in cited and "CC BY 4.0" in cited
    spectrogram.metrics.update(pretrained=False)  # asked for, but none loaded: no citation
    assert "pretrained weights" not in dict(model_view(spectrogram)["facts"])


def test_label_checks_are_counted_and_scored_per_model(full_run, tmp_path):
    _, inputs, _, _ = full_run
    split = SPLIT.read(inputs["split_csv"])
    flags = (np.arange(len(split)) % 4 != 0).astype(int)
    SPLIT.write(tmp_path / "split.csv", split.assign(manually_verified=flags))
    models = {}
    for name, files in inputs["models"].items():
        metrics = json.loads(Path(files["metrics"]).read_text())
        metrics["label_checks"] = {
            "verified": {"n_test": 40, "n_correct": 30, "accuracy": 0.75},
            "unverified": {"n_test": 10, "n_correct": 4, "accuracy": 0.4},
        }
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(metrics))
        models[name] = {**files, "metrics": path}
    config = {**inputs["config"], "split": {"test_on": "verified"}}
    page, _ = build(
        tmp_path, inputs, models=models, split_csv=tmp_path / "split.csv", config=config
    )
    table = page[page.index('id="label-checks"') :]
    table = table[: table.index("</table>")]
    for name in models:
        assert re.search(
            rf"<td>{name}</td><td class=\"num\">75.0%</td><td class=\"num\">40</td>"
            rf"<td class=\"num\">40.0%</td><td class=\"num\">10</td>",
            table,
        ), table
    unchecked, tests = int((flags == 0).sum()), split["split"] == "test"
    words = html.unescape(re.search(r'id="label-check-words">(.*?)</p>', page, re.S).group(1))
    assert words.startswith(f"{unchecked:,} of the {len(split):,} clips")
    assert f"{int(((flags == 0) & tests).sum())} of its {int(tests.sum())} test clips" in words
    assert "verified clips only (split.test_on: verified)" in words


def test_the_data_section_states_the_grouping_from_split_csv(full_run, tmp_path):
    _, inputs, page, _ = full_run
    assert 'id="group-split"' not in page  # no groups, no sentence
    split = SPLIT.read(inputs["split_csv"])
    # speakers within one part each: 4 train, 1 valid, 1 test
    rank = split.groupby("split").cumcount()
    speaker = np.select([split["split"] == "valid", split["split"] == "test"],
                        ["v0", "t0"], "r" + (rank % 4).astype(str))  # fmt: skip
    SPLIT.write(tmp_path / "split.csv", split.assign(group=speaker))
    columns = {"fold": "speaker", "group": "speaker"}
    config = {**inputs["config"], "dataset": {"kind": "folder", "columns": columns}}
    page, _ = build(tmp_path, inputs, split_csv=tmp_path / "split.csv", config=config)
    words = re.search(r'<p id="group-split"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert words == (
        "Split by group: column <code>speaker</code>, 6 groups (4 train, 1 valid, 1 test); "
        "no group is in two parts."
    )
    crossing = split.assign(group=np.where(split["split"] == "test", "r0", speaker))
    SPLIT.write(tmp_path / "split.csv", crossing)
    page, _ = build(tmp_path, inputs, split_csv=tmp_path / "split.csv", config=config)
    assert "1 group(s) are in two parts: r0." in page


def test_the_data_section_states_the_copies_of_the_same_audio(full_run, tmp_path):
    _, inputs, page, _ = full_run
    words = re.search(r'<p id="copies"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert words == "No two usable clips have the same audio. No copy carried another label."
    clips = CLIPS.read(inputs["clips_csv"])
    part = SPLIT.read(inputs["split_csv"]).set_index("fname")["split"]
    train, test = (clips["fname"][clips["fname"].map(part) == name].tolist()
                   for name in ("train", "test"))  # fmt: skip
    hashes = clips.set_index("fname")["samples_hash"].copy()
    hashes[train[1]] = hashes[train[0]]  # a copy in the same part
    hashes[test[0]] = hashes[train[2]]  # a copy in two parts
    CLIPS.write(tmp_path / "clips.csv", clips.assign(samples_hash=hashes.to_numpy()))
    conflict = {"fname": "x.wav", "label": "Bark", "path": "x.wav",
                "reason": LABEL_CONFLICT.format(fname="y (1).wav", label="Cough")}  # fmt: skip
    excluded = pd.concat([EXCLUDED.read(inputs["excluded_csv"]), pd.DataFrame([conflict])])
    EXCLUDED.write(tmp_path / "excluded.csv", excluded)
    page, _ = build(tmp_path, inputs, clips_csv=tmp_path / "clips.csv",
                    excluded_csv=tmp_path / "excluded.csv")  # fmt: skip
    words = re.search(r'<p id="copies"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert words.startswith("4 usable clips are copies of the same audio")
    assert "in 2 group(s)" in words and "1 group(s) lie in two parts" in words
    assert words.endswith("1 clip(s) were excluded as copies of a clip with another label "
                          "(listed below).")  # fmt: skip
    assert "<td>same audio as a clip labelled otherwise</td>" in page


def test_excluded_reasons_count_each_kind_of_reason_once_whatever_each_files_details():
    """Reasons that differ only in a file's details (its peak, its length, its copy) are one
    row with their count; excluded.csv keeps each file's own words."""
    reasons = [f"silent (peak {p} dBFS, under -80 dBFS)" for p in (-81, -84, -90, -96)] + [
        "silent (every sample is zero)",
        "too short (3 ms, under preprocess.min_ms 10 ms)",
        "too short (0.0625 ms, under preprocess.min_ms 10 ms)",
        LABEL_CONFLICT.format(fname="y (1).wav", label="Cough"),
        "file missing",
    ]
    excluded = pd.DataFrame({"fname": [f"{i}.wav" for i in range(len(reasons))], "label": "a",
                             "path": "p", "reason": reasons})  # fmt: skip
    table = excluded_reasons(excluded)
    assert table.columns == ["reason", "clips"]
    assert dict(map(tuple, table.rows)) == {
        "silent": "5",
        "too short": "2",
        "same audio as a clip labelled otherwise": "1",
        "file missing": "1",
    }
    assert table.rows[0] == ["silent", "5"]


def test_data_size_figure_names_the_train_shares(hostile_run):
    _, inputs, page, figures = hostile_run
    curves = pd.read_csv(inputs["curves_csv"])
    assert sorted(set(curves["fraction"])) == [0.5, 1.0]
    assert "nested shares of its train split (0.5, 1.0 of it" in page
    assert page.index('id="data-size"') < page.index('id="errors"')
    assert (figures / "data_curves.svg").stat().st_size > 0


def test_every_figure_has_a_caption_for_snakemakes_own_report():
    for name in FIGURE_NAMES:
        caption = REPO / "workflow" / "report" / f"{name}.rst"
        assert caption.is_file() and caption.read_text().strip(), name


def test_pretraining_is_stated_with_its_pool_loss_and_users(full_run, tmp_path):
    from audioclf.pretrain.train import pretrain

    _, inputs, _, _ = full_run
    # the autoencoder learns from 8 train clips a label (the run has 174): the report only
    # states what encoder.pt records, and a smaller pool trains in a fraction of the time
    split = pd.read_csv(inputs["split_csv"])
    train = split[split["split"] == "train"].groupby("label").head(8)
    small_split = tmp_path / "split.csv"
    SPLIT.write(small_split, pd.concat([train, split[split["split"] != "train"]]))
    encoder = tmp_path / "encoder.pt"
    checkpoint = pretrain(
        inputs["cache_path"], small_split, encoder, tmp_path / "history.csv",
        name="raw_conv", settings={"encoder": "raw1d", "epochs": 2, "crop_seconds": 0.5},
        device="cpu", threads=1,
    )  # fmt: skip
    page, figures = build(tmp_path, inputs, encoder_files={"raw_conv": encoder})
    section = html.unescape(page[page.index('id="pretraining"') :])
    pool = checkpoint["pool"]
    assert (
        f"raw_conv: the first layers of a raw1d model trained as an autoencoder's encoder "
        f"(spectral loss) on the train split of the first run (never its valid or test clips), "
        f"labels ignored: "
        f"{pool['n_clips']} clips"
    ) in section
    assert "2 epochs" in section and "Used by no model." in section
    assert (figures / "pretraining.svg").stat().st_size > 0


class PlayerParser(HTMLParser):
    """Every <figure class="player">: its data attributes, its <audio src> and its caption's
    text, and the section it is in."""

    def __init__(self):
        super().__init__()
        self.players: list[dict] = []
        self._section = None
        self._caption = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self._section = attrs.get("id")
        elif tag == "figure" and attrs.get("class") == "player":
            self.players.append({**attrs, "section": self._section, "caption": ""})
        elif tag == "audio" and self.players and "src" not in self.players[-1]:
            assert "controls" in attrs
            self.players[-1]["src"] = attrs["src"]
        elif tag == "figcaption" and self.players:
            self._caption = True

    def handle_endtag(self, tag):
        if tag == "figcaption":
            self._caption = False

    def handle_data(self, data):
        if self._caption:
            self.players[-1]["caption"] += data


def players_of(page: str, section: str) -> list[dict]:
    return [p for p in parsed(PlayerParser(), page).players if p["section"] == section]


def decoded(src: str) -> tuple[np.ndarray, int, sf._SoundFileInfo]:
    prefix = "data:audio/ogg;base64,"
    assert src.startswith(prefix)
    data = io.BytesIO(base64.b64decode(src[len(prefix) :]))
    info = sf.info(data)
    data.seek(0)
    samples, rate = sf.read(data, dtype="float32")
    return samples, rate, info


# Vorbis is lossy: at libsndfile's default quality the fixture's clips (a tone with noise
# 20 dB below it) come back about 20 dB above their coding error, sample by sample aligned.
MIN_SNR_DB = 15.0


@pytest.mark.parametrize("fixture", ["full_run", "hostile_run"])
def test_each_player_decodes_to_the_cached_clip(fixture, request):
    _, inputs, page, _ = request.getfixturevalue(fixture)
    cache = PackedClips.load(inputs["cache_path"])
    subset = SUBSET.read(inputs["subset_csv"]).set_index("fname")
    players = players_of(page, "errors") + players_of(page, "preprocessing")
    assert len(players_of(page, "preprocessing")) == 1 and len(players) > 1
    for player in players:
        fname = html.unescape(player["data-fname"])
        samples, rate, info = decoded(player["src"])
        assert (info.format, info.subtype) == ("OGG", "VORBIS")
        cached = cache.clip(cache.index([fname])[0]).numpy()
        assert rate == cache.sample_rate == 16000
        assert samples.shape == cached.shape, fname  # shorter than audio_max_seconds
        error = samples - cached
        snr = 10 * np.log10(np.mean(cached**2) / np.mean(error**2))
        assert snr > MIN_SNR_DB, (fname, snr)
        caption = " ".join(player["caption"].split())
        assert f"true label {cache.labels[cache.index([fname])[0]]}" in caption
        source = subset.loc[fname]
        assert f"licence {source['license']}, Freesound id {source['freesound_id']}" in caption


def test_a_clip_several_models_miss_is_played_once_with_every_prediction(hostile_run):
    _, inputs, page, _ = hostile_run
    runs = read_model_runs(inputs["models"])
    merged = prediction_matrix(runs)
    wrong = merged[[f"wrong:{r.name}" for r in runs]]
    # 12 test clips: every model's mistakes are within the default 10 per model
    assert all(wrong[f"wrong:{r.name}"].sum() <= 10 for r in runs)
    players = players_of(page, "errors")
    fnames = [html.unescape(p["data-fname"]) for p in players]
    assert len(fnames) == len(set(fnames))
    assert set(fnames) == set(merged.loc[wrong.any(axis=1), "fname"])
    several = merged[wrong.sum(axis=1) >= 2]
    assert len(several) > 0
    for _, row in several.iterrows():
        (player,) = [p for p in players if html.unescape(p["data-fname"]) == row["fname"]]
        missed = [r.name for r in runs if row[f"wrong:{r.name}"]]
        assert player["data-missed-by"].split() == missed
        caption = " ".join(player["caption"].split())
        for run in runs:
            mark = "✗" if row[f"wrong:{run.name}"] else "✓"
            confidence = percent(float(row[f"confidence:{run.name}"]), 0)
            shown = f"{run.name}: {mark} {row[f'predicted:{run.name}']} ({confidence})"
            assert shown in caption


def test_the_players_per_model_are_capped_at_the_most_confident_mistakes(full_run):
    _, inputs, page, _ = full_run
    runs = read_model_runs(inputs["models"])
    merged = prediction_matrix(runs)
    played = {html.unescape(p["data-fname"]) for p in players_of(page, "errors")}
    assert 10 < len(played) <= 10 * len(runs)
    for cap in (0, 1, 3, 10):
        chosen = missed_fnames(merged, runs, cap)
        assert len(chosen) == len(set(chosen)) <= cap * len(runs)
        for run in runs:
            wrong = merged[merged[f"wrong:{run.name}"]]
            top = wrong.nlargest(cap, f"confidence:{run.name}")["fname"]
            assert set(top) <= set(chosen)
            assert sum(merged.set_index("fname").loc[chosen, f"wrong:{run.name}"]) >= min(
                cap, len(wrong)
            )
    assert set(missed_fnames(merged, runs, 10)) == played


def test_the_demo_report_with_its_longest_players_stays_under_5_mb(full_run):
    """The full run's page plus, for the demo's 40 test clips (config/demo.yaml), 41 players
    of white noise as long as audio_max_seconds: the hardest sound for Vorbis, the longest a
    player plays."""
    root, inputs, page, _ = full_run
    audio = sum(len(p["src"]) for p in parsed(PlayerParser(), page).players)
    assert 0 < audio < 0.2 * len(page), "the fixture's players are short tones"
    noise = np.random.default_rng(0).standard_normal(16000 * 10).astype(np.float32) * 0.3
    longest = len(ogg_data_uri(noise, 16000))
    assert DEFAULT_SETTINGS["audio_max_seconds"] == 10
    worst = len(page.encode("utf-8")) - audio + 41 * longest
    assert worst < 5_000_000, f"{worst / 1e6:.1f} MB"


def test_confusion_matrices_are_one_per_row_with_readable_counts(hostile_run):
    _, inputs, _, _ = hostile_run
    runs = read_model_runs(inputs["models"])
    labels = class_order(runs)
    figure = report_figures.confusion_figure(runs, labels)
    figure.canvas.draw()
    matrices = [ax for ax in figure.axes if ax.get_ylabel() == "true label"]
    assert len(matrices) == len(runs) == 3
    boxes = [ax.get_window_extent() for ax in matrices]
    assert all(b.y0 >= later.y1 for b, later in zip(boxes, boxes[1:], strict=False))
    for ax, box in zip(matrices, boxes, strict=True):
        cell = min(box.width, box.height) / figure.dpi / len(labels)
        assert cell >= 0.5, f"{cell:.2f} in per cell"
        counts = [t for t in ax.texts if t.get_text().isdigit()]
        assert len(counts) == len(labels) ** 2
        assert min(t.get_fontsize() for t in counts) >= 10
    plt.close(figure)


def test_training_curves_draw_every_run(hostile_run):
    _, inputs, page, _ = hostile_run
    runs = read_model_runs(inputs["models"])
    assert [len(r.histories) for r in runs] == [len(HOSTILE_SEEDS) * len(HOSTILE_FOLDS)] * 3
    assert not runs[0].histories[0].equals(runs[0].histories[1])
    figure = report_figures.training_curves_figure(runs)
    for ax in figure.axes:
        drawn = [line.get_ydata() for line in ax.lines]
        assert len(drawn) == sum(len(r.histories) for r in runs)
    expected = [h["valid_accuracy"].to_numpy() for r in runs for h in r.histories]
    drawn = [line.get_ydata() for line in figure.axes[2].lines]
    assert all(np.allclose(a, b) for a, b in zip(drawn, expected, strict=True))
    legend = [t.get_text() for t in figure.axes[2].get_legend().get_texts()]
    assert legend == [f"{r.name} (4 runs)" for r in runs]
    plt.close(figure)
    paths = {**inputs["models"]["raw"], "history": inputs["models"]["raw"]["history"][:1]}
    with pytest.raises(ReportInputError, match="1 history.csv file.*4 runs"):
        read_model_runs({"raw": paths})
    assert per_model(["a1", "a2", "b1", "b2"], 2) == [["a1", "a2"], ["b1", "b2"]]
    with pytest.raises(ValueError, match="3 per-run file"):
        per_model(["a1", "a2", "b1"], 2)


def test_one_train_fraction_is_one_sentence_and_no_figure(hostile_run, tmp_path):
    _, inputs, _, _ = hostile_run
    curves = CURVES.read(inputs["curves_csv"])
    CURVES.write(tmp_path / "curves.csv", curves[curves["fraction"] == 1.0])
    page, figures_dir = build(tmp_path, inputs, curves_csv=tmp_path / "curves.csv")
    assert 'id="data-size-sentence"' in page and "set <code>train_fractions</code>" in page
    assert 'id="fig-data_curves"' not in page
    assert (figures_dir / "data_curves.svg").stat().st_size > 0  # the rule's declared file
    assert page.index('id="data-size"') < page.index('id="data-size-sentence"')


def test_the_copies_count_holds_when_nothing_was_excluded(tmp_path):
    # excluded.csv with its header only, as preprocessing writes it when every clip is usable
    from audioclf.contracts import EXCLUDED
    from audioclf.report.tables import copies_view

    EXCLUDED.write(tmp_path / "excluded.csv", pd.DataFrame(columns=list(EXCLUDED.columns)))
    excluded = EXCLUDED.read(tmp_path / "excluded.csv")
    clips = pd.DataFrame({"fname": ["a.wav", "b.wav", "c.wav"], "samples_hash": ["h", "h", "k"]})
    split = pd.DataFrame({"fname": ["a.wav", "c.wav"], "split": ["test", "train"]})
    view = copies_view(clips, excluded, split)
    assert view == {
        "n_groups": 1, "n_copies": 2, "n_conflicts": 0, "n_crossing": 0, "n_left_out": 1,
    }  # fmt: skip
