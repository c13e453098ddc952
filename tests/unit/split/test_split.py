"""The stratified seeded split."""

import pandas as pd
import pytest

from audioclf.split.stratified import SplitError, count_table, stratified_split
from audioclf.split.write import write_split

FRACTIONS = {"train": 0.64, "valid": 0.16, "test": 0.20}


def clips(counts: dict[str, int]) -> pd.DataFrame:
    rows = [(f"{label}_{i}.wav", label) for label, n in counts.items() for i in range(n)]
    return pd.DataFrame(rows, columns=["fname", "label"])


SEED_COUNTS = {"Bark": 239, "Cough": 243, "Knock": 279, "Laughter": 300, "Trumpet": 300}


def test_each_class_within_one_clip_of_the_fractions():
    split = stratified_split(clips(SEED_COUNTS), FRACTIONS, seed=0)
    assert len(split) == sum(SEED_COUNTS.values())
    for label, n in SEED_COUNTS.items():
        got = split[split["label"] == label]["split"].value_counts()
        for name, fraction in FRACTIONS.items():
            assert abs(got[name] - n * fraction) <= 1, (label, name, got[name])


def test_every_clip_exactly_once_and_seeded():
    data = clips(SEED_COUNTS)
    a = stratified_split(data, FRACTIONS, seed=3)
    b = stratified_split(data, FRACTIONS, seed=3)
    c = stratified_split(data, FRACTIONS, seed=4)
    assert sorted(a["fname"]) == sorted(data["fname"])
    pd.testing.assert_frame_equal(a, b)
    assert not a.set_index("fname")["split"].equals(c.set_index("fname")["split"])


def test_too_small_class_is_named():
    with pytest.raises(SplitError, match="label 'Tiny' has 2 usable clip"):
        stratified_split(clips({"Big": 50, "Tiny": 2}), FRACTIONS, seed=0)


def test_fractions_must_add_up():
    with pytest.raises(SplitError, match="add up to 1"):
        stratified_split(clips({"A": 50}), {"train": 0.5, "valid": 0.2, "test": 0.2}, 0)


def test_count_table_has_totals(tmp_path):
    clips_csv = tmp_path / "clips.csv"
    clips({"A": 10, "B": 20}).assign(
        original_seconds=1.0, trimmed_seconds=0.5, samples_hash=lambda f: f["fname"]
    ).to_csv(clips_csv, index=False)
    split = write_split(
        "seed3", None, clips_csv, tmp_path / "split.csv", tmp_path / "counts.csv", FRACTIONS
    )
    assert split.equals(stratified_split(pd.read_csv(clips_csv), FRACTIONS, seed=3))
    table = pd.read_csv(tmp_path / "counts.csv")
    assert list(table.columns) == ["label", "train", "valid", "test", "total"]
    assert table.iloc[-1].tolist() == ["total", 19, 5, 6, 30]
    assert table.set_index("label").loc["A"].tolist() == [6, 2, 2, 10]
    assert count_table(pd.read_csv(tmp_path / "split.csv"))["total"].iloc[-1] == 30


def test_nested_train_subsets_are_contained_per_label_and_keep_valid_and_test():
    from audioclf.split.stratified import nested_train_subset

    split = stratified_split(clips({"A": 50, "B": 31, "C": 7}), FRACTIONS, seed=2)
    shares = {f: nested_train_subset(split, f, seed=5) for f in (0.1, 0.25, 0.5, 1.0)}
    assert shares[1.0] is split
    for small, large in ((0.1, 0.25), (0.25, 0.5), (0.5, 1.0)):
        for label in ("A", "B", "C"):

            def train(frame, label=label):
                rows = frame[(frame["split"] == "train") & (frame["label"] == label)]
                return set(rows["fname"])

            assert train(shares[small]) <= train(shares[large]), (small, large, label)
    full = split[split["split"] == "train"].groupby("label").size()
    for f, share in shares.items():
        kept = share[share["split"] == "train"].groupby("label").size()
        assert kept.to_dict() == {k: max(1, round(f * n)) for k, n in full.items()}
        for name in ("valid", "test"):
            assert set(share[share["split"] == name]["fname"]) == set(
                split[split["split"] == name]["fname"]
            )
    with pytest.raises(SplitError, match="train fraction 0"):
        nested_train_subset(split, 0)
