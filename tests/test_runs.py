"""Run ids: seeds, folds and their parsing."""

import re

import pytest

from audioclf.runs import RUN_PATTERN, folds_in, parse_run, run_ids


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
