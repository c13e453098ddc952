"""Run ids, split ids and fold names: seeds, folds and their parsing."""

import re

import pandas as pd
import pytest

from audioclf.runs import (
    RUN_PATTERN,
    SPLIT_PATTERN,
    fold_name,
    folds_in,
    parse_run,
    parse_split,
    run_ids,
    sorted_folds,
    split_id,
)
from audioclf.split.folds import fold_splits


def test_run_ids_are_seed_major_and_parse_back():
    assert run_ids([0, 1]) == ["seed0", "seed1"]
    runs = run_ids([0, 1], ["1", "2"])
    assert runs == ["fold1-seed0", "fold2-seed0", "fold1-seed1", "fold2-seed1"]
    assert [parse_run(r) for r in runs] == [("1", 0), ("2", 0), ("1", 1), ("2", 1)]
    assert all(re.fullmatch(RUN_PATTERN, r) for r in runs)
    with pytest.raises(ValueError, match="not a run id"):
        parse_run("seedx")


def test_folds_come_from_the_csv_in_order(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("fname,label,fold\n" + "".join(f"{i}.wav,a,{i % 10 + 1}\n" for i in range(20)))
    assert folds_in(csv) == [str(k) for k in range(1, 11)]
    (tmp_path / "n.csv").write_text("fname,label\na.wav,x\n")
    with pytest.raises(ValueError, match="no fold column"):
        folds_in(tmp_path / "n.csv")
    with pytest.raises(ValueError, match="dataset.metadata is not set"):
        folds_in(None)


def test_test_folds_choose_which_folds_are_run(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("fname,label,fold\n" + "".join(f"{i}.wav,a,{i % 3 + 1}\n" for i in range(9)))
    # YAML and --config give numbers or strings: both name the CSV's folds
    assert folds_in(csv, [3, "1"]) == ["1", "3"]
    for wrong in (["4"], []):
        with pytest.raises(
            ValueError, match=r"split.test_folds .* must name folds .*'1', '2', '3'"
        ):
            folds_in(csv, wrong)


def test_split_ids_name_each_runs_split_once():
    assert split_id("seed3", vary_with_seed=False, split_seed=7) == "seed7"
    assert split_id("seed3", vary_with_seed=True, split_seed=7) == "seed3"
    assert split_id("foldA-seed3", vary_with_seed=True, split_seed=7) == "foldA"
    assert parse_split("seed7") == (None, 7) and parse_split("fold2") == ("2", None)
    assert all(re.fullmatch(SPLIT_PATTERN, s) for s in ("seed0", "fold1.5", "fold_x"))
    with pytest.raises(ValueError, match="not a split id"):
        parse_split("split1")


def test_one_fold_parser_for_the_snakefile_and_the_split(tmp_path):
    """folds_in (the Snakefile's run ids) and fold_splits (the split rule) name and order the
    same folds the same way, whatever the CSV writes: "3", "3.0" and " 3 " are fold 3."""
    assert [fold_name(v) for v in ("3", "3.0", " 3 ", 3, 3.0, "a", "2.5")] == [
        "3", "3", "3", "3", "3", "a", "2.5",
    ]  # fmt: skip
    values = ["10", "2", "b", "1.0", "a", "2"]
    assert sorted_folds(values) == ["1", "2", "10", "a", "b"]
    csv = tmp_path / "m.csv"
    rows = [f"{i}.wav,{label},{fold}" for i, fold in enumerate(values) for label in ("x", "y")]
    csv.write_text("fname,label,fold\n" + "\n".join(rows) + "\n")
    clips = pd.read_csv(csv, dtype=str)
    assert folds_in(csv) == list(fold_splits(clips)) == ["1", "2", "10", "a", "b"]


def test_a_fold_name_that_cannot_name_a_folder_is_refused(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("fname,label,fold\na.wav,x,1\nb.wav,x,fold two\n")
    with pytest.raises(ValueError, match="'fold two'.*rename it"):
        folds_in(csv)


def test_curve_ids_carry_their_train_share_to_the_split():
    from audioclf.runs import curve_ids, parse_train_fraction

    runs = curve_ids(["seed0", "fold3-seed1"], [0.25, 1.0, 0.5])
    assert runs == ["seed0-train25", "fold3-seed1-train25", "seed0-train50", "fold3-seed1-train50"]
    assert [parse_train_fraction(r) for r in runs] == [0.25, 0.25, 0.5, 0.5]
    assert parse_run("fold3-seed1-train25") == ("3", 1) and parse_train_fraction("seed0") == 1.0
    assert split_id("seed4-train25", vary_with_seed=False, split_seed=7) == "seed7-train25"
    assert split_id("fold3-seed1-train50", vary_with_seed=False, split_seed=7) == "fold3-train50"
    assert parse_split("fold3-train50") == ("3", None)
    assert all(re.fullmatch(RUN_PATTERN, r) for r in runs)
    assert re.fullmatch(SPLIT_PATTERN, "seed7-train25") and not re.fullmatch(
        RUN_PATTERN, "seed0-train100"
    )
    with pytest.raises(ValueError, match="whole percent"):
        curve_ids(["seed0"], [0.255])
