"""The reference table: a known benchmark's published accuracies beside this run's, with
the protocol's differences said; none for a dataset that is no known benchmark."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from audioclf.datasets.benchmarks import BENCHMARKS, benchmark_name, official_folds
from audioclf.report.references import reference_view
from report_inputs import FIVE_LABELS, build, make_fake_run


def run(name, accuracy, folds):
    return SimpleNamespace(name=name, accuracy=accuracy, folds=folds)


ALL_FOLDS = ["1", "2", "3", "4", "5"]


FRACTIONS = {"train": 0.64, "valid": 0.16, "test": 0.2}


def esc50_config(method="folds", **dataset):
    return {"dataset": {"kind": "esc50", "esc50": {"esc10": False}, **dataset},
            "split": {"method": method, "fractions": FRACTIONS}}  # fmt: skip


def test_esc50_under_the_official_protocol_lists_its_references_and_this_run():
    view = reference_view(esc50_config(), [run("raw", 0.5, ALL_FOLDS)], 50)
    assert view["title"] == "ESC-50" and view["differences"] == []
    assert view["this_run"] == [{"name": "raw", "accuracy": "50.0%"}]
    published = {r["method"]: r["accuracy"] for r in view["published"]}
    assert published["Human listeners (crowdsourced)"] == "81.3%"
    assert [r["accuracy"] for r in view["published"]] == ["81.3%", "64.5%", "44.3%",
                                                          "39.6%", "32.2%"]  # fmt: skip
    assert all(r["citation"] and r["checked_in"] for r in view["published"])


def test_a_protocol_that_differs_is_said():
    some_folds = reference_view(esc50_config(), [run("raw", 0.5, ["1", "3"])], 50)
    assert some_folds["differences"][0].startswith("only folds 1, 3 of 1-5 as the test fold")
    stratified = reference_view(esc50_config("stratified"), [run("raw", 0.5, [])], 4)
    assert stratified["differences"] == [
        "a stratified split instead of the official 5-fold cross-validation",
        "4 of its 50 classes (labels)",
    ]


def test_only_known_benchmarks_get_a_table():
    assert reference_view({"dataset": {"kind": "folder"}}, [run("raw", 0.5, [])], 3) is None
    assert reference_view({"dataset": {"kind": "fsdkaggle2018"}}, [], 5) is None
    urban = {"dataset": {"kind": "folder", "benchmark": "urbansound8k"},
             "split": {"method": "folds"}}  # fmt: skip
    view = reference_view(urban, [run("raw", 0.5, [str(k) for k in range(1, 11)])], 10)
    assert view["title"] == "UrbanSound8K" and view["differences"] == []
    assert [r["accuracy"] for r in view["published"]] == ["73.1%"]
    assert benchmark_name(esc50_config(esc50={"esc10": True})["dataset"]) == "esc10"


def test_official_folds_are_the_benchmarks_unless_declared():
    assert official_folds(esc50_config()["dataset"]) == ALL_FOLDS
    assert official_folds({"kind": "folder", "folds": [1, 2]}) == ["1", "2"]
    assert official_folds({"kind": "folder"}) is None
    assert [len(b.folds) for b in BENCHMARKS.values()] == [5, 5, 10]


@pytest.mark.parametrize("kind", ["esc50", "folder"])
def test_the_page_shows_the_table_for_esc50_only(kind, tmp_path):
    inputs = make_fake_run(tmp_path, FIVE_LABELS, {"train": 6, "valid": 2, "test": 4},
                           seeds=(1,), folds=(1, 2))  # fmt: skip
    config = {**inputs["config"], "dataset": {"kind": kind, "esc50": {"esc10": False}},
              "split": {"method": "folds", "fractions": FRACTIONS}}  # fmt: skip
    page, _ = build(tmp_path, inputs, config=config)
    table = re.search(r'<table class="references" id="references-table">.*?</table>', page, re.S)
    if kind == "folder":
        assert table is None and 'id="protocol"' not in page
        return
    assert "Published results on ESC-50" in page and "81.3%" in table.group(0)
    assert "only folds 1, 2 of 1-5 as the test fold" in page
    assert "5 of its 50 classes" in page
    assert table.group(0).count('class="this-run"') == len(inputs["models"])
    protocol = re.search(r'<p id="protocol">(.*?)</p>', page, re.S).group(1)
    assert "Also, 20% of each label" in protocol and "in the 4 training folds" in protocol
    assert "were excluded in preprocessing" in protocol  # the fake run excludes some clips
    assert "read in the paper" in page and "github.com/karolpiczak/paper-2015-esc-dataset" in page


def test_each_published_number_names_the_paper_section_it_was_read_in():
    """Every row was read in its paper's own text (the author's LaTeX source), at a named
    section; the ESC-50 rows are also in the dataset README's table, and say so."""
    for bench in BENCHMARKS.values():
        for ref in bench.references:
            assert re.search(r"Paper/ESC(-CNN)?\.tex at [0-9a-f]{8}\), section 3\.[123]",
                             ref.checked_in), ref  # fmt: skip
    esc50 = {r.method: r for r in BENCHMARKS["esc50"].references}
    assert all("ESC-50 README's Results table" in r.checked_in for r in esc50.values())
    human = esc50["Human listeners (crowdsourced)"]
    assert "not a model cross-validated over the folds" in human.note
    assert "Ogg Vorbis" in human.note and "v1.0.0" in human.note
    assert [r.accuracy for r in BENCHMARKS["esc10"].references] == [95.7, 72.7, 67.5, 66.7]


def test_the_validation_share_and_excluded_clips_are_said_with_their_numbers():
    view = reference_view(esc50_config(), [run("raw", 0.5, ALL_FOLDS)], 50, 3, 2000)
    assert view["differences"] == []
    assert view["departures"] == [
        "20% of each label's clips in the 4 training folds (at least one) are held out as the "
        "validation set (split.fractions: valid / (train + valid)), so each model trains on "
        "the rest of them, not on all of them",
        "3 of the 2000 clips were excluded in preprocessing (Data section, "
        "results/data/excluded.csv), so no fold tests them: the accuracy is over 1997 clips",
    ]
    none_excluded = reference_view(esc50_config(), [run("raw", 0.5, ALL_FOLDS)], 50, 0, 2000)
    assert len(none_excluded["departures"]) == 1
    stratified = reference_view(esc50_config("stratified"), [run("raw", 0.5, [])], 50)
    assert stratified["departures"] == []  # its split is already the difference said
