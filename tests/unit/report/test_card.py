"""The model card: its metrics are metrics.json's, its interval is the t interval over runs,
it names every class, and its ONNX recipe cuts clips as the workflow scores them."""

import json
import re
from dataclasses import asdict

import numpy as np
import pytest
import torch
from scipy.stats import t as student_t

from audioclf.datasets.kinds import KINDS
from audioclf.evaluate.scoring import EVAL_WINDOWS
from audioclf.learn.crop import centre_start, crop_or_repeat, window_starts
from audioclf.report.card import CARD_METRICS, card_metrics, write_model_card
from audioclf.report.formatting import percent
from report_inputs import FAKE_MODELS, FIVE_LABELS, make_fake_run

DEMO = {"kind": "demo", "demo": {"seed": 0}}


@pytest.fixture(scope="module")
def cards(tmp_path_factory):
    """Each fake model's card (5 labels, 3 seeds) and its metrics.json."""
    root = tmp_path_factory.mktemp("card")
    inputs = make_fake_run(root, FIVE_LABELS, {"train": 6, "valid": 2, "test": 6})
    written = {}
    for name, paths in inputs["models"].items():
        out = root / "results" / "models" / name / "MODEL_CARD.md"
        write_model_card(
            out, name, paths, split_counts_csv=inputs["split_counts_csv"],
            data_source=asdict(KINDS["demo"].about(DEMO)), model_files=[str(paths["model"])],
            onnx_file=f"exported/{name}/first.onnx", split_varies=False,
        )  # fmt: skip
        metrics = json.loads(paths["metrics"].read_text())
        written[name] = (out.read_text(encoding="utf-8"), metrics, paths)
    return written


def table_rows(text: str, header: str) -> list[list[str]]:
    """The cells of the Markdown table whose header row starts with `header`."""
    lines = text.split(f"\n{header}", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


@pytest.mark.parametrize("name", list(FAKE_MODELS))
def test_card_metrics_equal_metrics_json(cards, name):
    text, metrics, _ = cards[name]
    assert card_metrics(text) == {key: metrics[key] for key, _ in CARD_METRICS}
    rows = {row[0]: row for row in table_rows(text, "| metric |")}
    runs = metrics["runs"]
    assert len(runs) == 3
    for key, words in CARD_METRICS:
        values = [run[key] for run in runs]
        assert rows[words][1] == percent(metrics[key])
        assert rows[words][2] == f"{100 * metrics['std'][key]:.1f}"
        assert rows[words][4] == ", ".join(percent(v) for v in values)
        # the t interval over the runs, computed here from scratch
        scale = np.std(values, ddof=1) / np.sqrt(len(values))
        low, high = student_t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=scale)
        assert rows[words][3] == f"{percent(max(0, low))} to {percent(min(1, high))}"
    assert "t interval over the 3 runs' scores (2 degrees of freedom)" in text
    assert f"on the same {metrics['n_test']} test clips" in text


@pytest.mark.parametrize("name", list(FAKE_MODELS))
def test_card_names_every_class_in_output_order(cards, name):
    text, metrics, _ = cards[name]
    classes = table_rows(text, "| output | class |")
    assert classes == [[str(i), label] for i, label in enumerate(FIVE_LABELS)]
    assert [row[0] for row in table_rows(text, "| class | precision |")] == FIVE_LABELS
    assert metrics["confusion_matrix"]["labels"] == FIVE_LABELS


def test_card_says_where_the_data_comes_from_and_how_to_run_the_model(cards):
    text, _, paths = cards["raw"]
    assert "synthetic" in text and "A demonstration of the workflow" in text
    assert f"audioclf-predict {paths['model']} my_recordings/" in text
    # the ONNX file is named as the workflow passes it (export_model's output), not derived
    assert "session = ort.InferenceSession('exported/raw/first.onnx')" in text
    assert "audioclf-predict exported/raw/first.onnx my_recordings/" in text
    assert str(paths["model"].with_suffix(".onnx")) not in text
    assert "16.0 kHz" in text and "32,000 samples" in text


def test_every_kind_says_its_source_and_licence():
    configs = {
        "fsdkaggle2018": {"base_url": "https://zenodo.org/records/2552860/files"},
        "demo": DEMO,
        "esc50": {"esc50": {"esc10": False, "url": "https://example.org/esc50.zip"}},
        "folder": {"path": "my_audio"},
    }
    assert set(configs) == set(KINDS)
    about = {kind: KINDS[kind].about(config) for kind, config in configs.items()}
    assert "CC BY 4.0" in about["fsdkaggle2018"].licence
    assert "CC BY-NC 3.0" in about["esc50"].licence
    assert about["folder"].licence.endswith("unknown to the workflow")
    esc10 = KINDS["esc50"].about({"esc50": {"esc10": True, "url": "u"}})
    assert esc10.name == "ESC-10" and esc10.licence.startswith("CC BY ")


def card_windows(text: str):
    """The card's own `network_input`, run as a reader of the card would run it."""
    code = re.search(r"\n(def network_input.*?)\n\n\n", text, re.S).group(1)
    space = {"np": np}
    exec(code, space)
    return space["network_input"]


@pytest.mark.parametrize("rule", EVAL_WINDOWS)
def test_the_cards_onnx_recipe_cuts_clips_as_the_workflow_scores_them(cards, rule, tmp_path):
    _, metrics, paths = cards["raw"]
    summary = tmp_path / "metrics.json"
    summary.write_text(json.dumps({**metrics, "eval_windows": rule}))
    out = tmp_path / "card.md"
    write_model_card(
        out, "raw", {**paths, "metrics": summary}, split_counts_csv=paths["metrics"].parents[2]
        / "data" / "split_counts.csv", data_source=asdict(KINDS["demo"].about(DEMO)),
        model_files=[str(paths["model"])], onnx_file="raw.onnx", split_varies=False,
    )  # fmt: skip
    network_input = card_windows(out.read_text())
    length = 32000
    rng = np.random.default_rng(0)
    for n in (5000, length, length + 1, 3 * length + 777):
        wave = rng.standard_normal(n).astype(np.float32)
        if rule == "sliding":
            starts = window_starts(n, length)
        else:
            starts = [centre_start(n, length)]
        expected = torch.stack([crop_or_repeat(torch.from_numpy(wave), length, s) for s in starts])
        np.testing.assert_array_equal(network_input(wave), expected.numpy())
