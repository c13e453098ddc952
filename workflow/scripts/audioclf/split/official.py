"""The dataset's own train/test division: its test clips test, its train clips train and
validate (valid drawn per label, seeded; copies of the same audio kept whole, and train
copies of a test clip left out)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from audioclf.io import log
from audioclf.split.folds import split_around_test
from audioclf.split.groups import COPIES_KEY, copies_of_test, groups_around_test, split_groups
from audioclf.split.stratified import SplitError


def official_split(
    clips: pd.DataFrame, sources: pd.Series, valid_fraction: float, seed: int, source: str
) -> pd.DataFrame:
    """`fname,label,split` of every usable clip: those whose `sources` (subset.csv's source
    column, by fname) is "test" are the test set; valid is `valid_fraction` of each label's
    train clips, copies of the same audio (clips.csv's samples_hash) whole in one of them;
    train copies of a test clip are left out. Every test label must have train clips."""
    origin = clips["fname"].map(sources)
    if origin.isna().any() or not origin.isin(["train", "test"]).all():
        odd = clips.loc[~origin.isin(["train", "test"]), "fname"].tolist()
        raise SplitError(
            f"{source}: split.method official needs each clip's source (train or test), but "
            f"{len(odd)} clip(s) have none, e.g. {odd[:5]}; use a dataset with its own test "
            "set (fsdkaggle2018 or demo)"
        )
    is_test = (origin == "test").to_numpy()
    copies = copies_of_test(clips["samples_hash"], is_test)
    if copies.any():
        log(f"{source}: {int(copies.sum())} train clip(s) left out, copies of a test clip")
        clips, is_test = clips[~copies].reset_index(drop=True), is_test[~copies]
    if not is_test.any():
        raise SplitError(
            f"{source}: split.method official found no test clips among the usable clips; "
            "the dataset's test set is empty for these labels"
        )
    labels = clips["label"].astype(str).reset_index(drop=True)
    untrainable = sorted(set(labels[is_test]) - set(labels[~is_test]))
    if untrainable:
        raise SplitError(f"{source}: label(s) {untrainable} have test clips but no train clips")
    rng = np.random.default_rng(seed)
    whole = split_groups(None, clips["samples_hash"])
    if whole is None:
        split = split_around_test(labels, is_test, valid_fraction, rng)
    else:
        frame = pd.DataFrame({"label": labels, "group": whole})
        split = groups_around_test(frame, is_test, valid_fraction, rng, source, COPIES_KEY)
    return pd.DataFrame(
        {"fname": clips["fname"].astype(str).to_numpy(), "label": labels, "split": split}
    )
