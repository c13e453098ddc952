"""The prediction table of clip probabilities: the columns predictions.csv and predict's
CSV share, from a model.pt's or a model.onnx's probabilities (numpy, no torch)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def prediction_table(probs, classes: Sequence[str]) -> pd.DataFrame:
    """`predicted,confidence,prob_<class>...` from (n_clips, n_classes) clip probabilities
    (a tensor on the CPU or an array); confidence is the probability of the predicted class."""
    probs = np.asarray(probs, dtype=np.float32)
    table = pd.DataFrame({"predicted": [classes[k] for k in probs.argmax(axis=1).tolist()]})
    table["confidence"] = probs.max(axis=1).astype(np.float64)
    for k, c in enumerate(classes):
        table[f"prob_{c}"] = probs[:, k].astype(np.float64)
    return table
