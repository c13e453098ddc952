"""Every file passed between stages: written then read gives the same data; a missing column
or key names the file and the column."""

import json

import numpy as np
import pandas as pd
import pytest

from audioclf import contracts
from audioclf.contracts import (
    COMPARISON,
    METRICS,
    SPLIT,
    SUBSET,
    SUMMARY,
    ContractError,
    Record,
    Table,
)

TABLES = {name: v for name, v in vars(contracts).items() if isinstance(v, Table)}
RECORDS = {name: v for name, v in vars(contracts).items() if isinstance(v, Record)}
# Text that a careless reader turns into NaN or a number: each must come back as written.
AWKWARD_TEXT = ["None", "NA", "nan", "007", "a,b", 'say "hi"', "Bark & $Meow$"]


def sample(table: Table, rows: int = len(AWKWARD_TEXT)) -> pd.DataFrame:
    """A frame with every declared column: awkward text, or floats with a missing value."""
    rng = np.random.default_rng(0)
    data = {}
    for column, kind in {**table.columns, **table.optional}.items():
        if column in table.values:
            data[column] = [
                table.values[column][i % len(table.values[column])] for i in range(rows)
            ]
        elif kind == "str":
            data[column] = AWKWARD_TEXT[:rows]
        else:
            values = rng.uniform(0, 10, rows)
            values[1] = np.nan
            data[column] = values
    return pd.DataFrame(data)


def test_every_stage_file_is_declared():
    assert set(TABLES) == {
        "SUBSET", "MANIFEST", "CLIPS", "EXCLUDED", "SPLIT", "SPLIT_COUNTS", "HISTORY",
        "PREDICTIONS", "CURVES", "HISTORY_PRETRAIN",
    }  # fmt: skip
    assert set(RECORDS) == {"METRICS", "SUMMARY", "COMPARISON"}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_a_table_written_then_read_is_the_same_frame(name, tmp_path):
    table = TABLES[name]
    frame = sample(table)
    path = tmp_path / "dir" / "file.csv"
    table.write(path, frame)
    back = table.read(path)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    for column, kind in table.columns.items():
        if kind == "str" and column not in table.values:
            assert back[column].tolist() == AWKWARD_TEXT, column


@pytest.mark.parametrize("name", sorted(TABLES))
def test_a_missing_column_names_the_file_and_the_column(name, tmp_path):
    table = TABLES[name]
    column = list(table.columns)[-1]
    path = tmp_path / "broken.csv"
    sample(table).drop(columns=column).to_csv(path, index=False)
    with pytest.raises(ContractError, match=rf"{path}: .*missing column\(s\) \['{column}'\]"):
        table.read(path)
    with pytest.raises(ContractError, match=f"Rerun {table.made_by}"):
        table.read(path)
    with pytest.raises(ContractError, match=column):
        table.write(tmp_path / "out.csv", sample(table).drop(columns=column))
    assert not (tmp_path / "out.csv").exists()


def test_extra_columns_are_kept_and_optional_ones_are_text(tmp_path):
    frame = sample(SUBSET).assign(fold=["01", "1", "", "x", "2", "3", "4"])
    frame["prob_x"] = 0.5
    SUBSET.write(tmp_path / "subset.csv", frame)
    back = SUBSET.read(tmp_path / "subset.csv")
    assert back["fold"].tolist() == ["01", "1", "", "x", "2", "3", "4"]
    assert back["prob_x"].tolist() == [0.5] * len(frame)


def test_a_value_outside_the_declared_ones_names_it(tmp_path):
    frame = sample(SPLIT).assign(split=["train", "valid", "test", "tset", "train", "valid", "x"])
    path = tmp_path / "split.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(
        ContractError, match=r"split\.csv: .*'split' has value\(s\) \['tset', 'x'\]"
    ):
        SPLIT.read(path)


@pytest.mark.parametrize("record", [METRICS, SUMMARY, COMPARISON], ids=lambda r: r.made_by)
def test_a_record_written_then_read_is_the_same_and_a_missing_key_is_named(record, tmp_path):
    data = {key: i for i, key in enumerate(record.keys)} | {"extra": [1, "two"]}
    path = tmp_path / "r.json"
    record.write(path, data)
    assert record.read(path) == data
    del data[record.keys[-1]]
    path.write_text(json.dumps(data))
    with pytest.raises(ContractError, match=rf"{path}: .*missing key\(s\) \['{record.keys[-1]}'\]"):
        record.read(path)
    with pytest.raises(ContractError, match=record.keys[-1]):
        record.write(tmp_path / "out.json", data)
    path.write_text("[1, 2]")
    with pytest.raises(ContractError, match="should be a JSON object"):
        record.read(path)
    path.write_text('{"cut off')
    with pytest.raises(ContractError, match=f"not valid JSON.*Rerun {record.made_by}"):
        record.read(path)


def test_summary_keys_extend_the_run_keys():
    assert set(METRICS.keys) < set(SUMMARY.keys)
