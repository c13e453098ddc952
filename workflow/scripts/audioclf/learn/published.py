"""Published pretrained weights that the workflow downloads itself: what `pretrained:
<name>` fetches, from where, and how the report cites it. Torch-free, so the Snakefile
reads it (the download_weights rule, train_model's input and the config check)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PublishedWeights:
    """One published weights file: `name` is the `pretrained:` value that asks for it (and
    the procedure record's `weights`), `file` its name in resources/weights/, `fits` the
    model type whose state_dict it holds (no other type can load it)."""

    name: str
    file: str
    fits: str
    sample_rate: int  # the rate the network's own front end is defined at
    url: str
    md5: str | None  # None: not checked
    what: str  # the network and its pretraining, in words
    citation: str  # the paper, the record and the licence


AUDIOSET_CNN14 = PublishedWeights(
    name="audioset",
    file="Cnn14_16k_mAP=0.438.pth",
    fits="cnn14",
    sample_rate=16000,
    url="https://zenodo.org/records/3987831/files/Cnn14_16k_mAP%3D0.438.pth?download=1",
    # the md5 Zenodo lists for the file, as several projects that download it quote it
    # (the record page itself was not read here)
    md5="362fc5ff18f1d6ad2f6d464b45893f2c",
    what="PANNs CNN14 trained on AudioSet at 16 kHz (0.438 mAP)",
    citation=(
        "Kong, Cao, Iqbal, Wang, Wang and Plumbley (2020), PANNs: Large-Scale Pretrained "
        "Audio Neural Networks for Audio Pattern Recognition, IEEE/ACM TASLP 28, "
        "arXiv:1912.10211; checkpoint Cnn14_16k_mAP=0.438.pth from Zenodo record 3987831 "
        "(doi:10.5281/zenodo.3987831), CC BY 4.0"
    ),
)

PUBLISHED_WEIGHTS = {w.name: w for w in (AUDIOSET_CNN14,)}


def published(pretrained) -> PublishedWeights | None:
    """The published weights a `pretrained:` value names, else None."""
    return PUBLISHED_WEIGHTS.get(pretrained) if isinstance(pretrained, str) else None


def weights_to_load(settings: Mapping) -> PublishedWeights | None:
    """The published weights a model's settings load: those its `pretrained` names, if
    they fit its `type`; else None."""
    weights = published(settings.get("pretrained"))
    return weights if weights is not None and weights.fits == settings.get("type") else None


def fetch_weights(name: str, dest: str | os.PathLike, **http) -> Path:
    """Download published weights `name` to `dest` (resumed from its .part file, with
    retries, a progress bar and the md5 check of audioclf.datasets.download.http); a
    file already at `dest` with the right md5 is kept. `http`: download_file's options."""
    from audioclf.datasets.download.http import download_file  # requests: only here

    weights = PUBLISHED_WEIGHTS[name]
    download_file(weights.url, dest, weights.md5, **http)
    return Path(dest)
