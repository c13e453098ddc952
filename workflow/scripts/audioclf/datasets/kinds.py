"""The dataset kinds: every `dataset.kind`, named once, with its catalog, its catalog's
settings, the rules that put it on disk, its split protocol, and where its audio comes from
and under which licence (the model cards say so).

Config validation, the rules (workflow/rules/common.smk) and select_subset read KINDS; the
config schema's `dataset.kind` enum lists the same names (a test keeps the two equal).
Adding a kind is its catalog module and one entry here. Light on purpose (no pandas): the
Snakefile reads it at every start, so each catalog's module is imported only when called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# The labels the demo gives a sound of its own (datasets/demo.py: CHARACTERS), in the order
# the demo is made with for `labels: all`.
DEMO_LABELS = ("Bark", "Cough", "Knock", "Laughter", "Trumpet")

# A folder's catalog settings: these always, the optional ones only when set, so that a
# config using none of them keeps select_subset's params (datasets/settings.py says why).
FOLDER_KEYS = ("path", "metadata", "label_regex")
FOLDER_OPTIONAL_KEYS = ("columns", "path_template")


@dataclass(frozen=True)
class DataSource:
    """A configured dataset in words, as far as the workflow knows it: its name, where its
    audio comes from, and the licence that audio is under."""

    name: str
    origin: str
    licence: str


# catalog(meta_dir, audio_root, settings) -> the kind's catalog (a pandas DataFrame)
Catalog = Callable[[object, object, "dict | None"], object]
# settings(dataset config, its official folds or None) -> the catalog's keywords, or None
Settings = Callable[[dict, "list[str] | None"], "dict | None"]


@dataclass(frozen=True)
class DatasetKind:
    """One dataset kind.

    `catalog` builds its catalog from the metadata folder (and the audio root) the rules
    give it, with `settings(dataset, official_folds)`: select_subset's keywords for it from
    the config. `meta_rule` is the rule whose first output select_subset reads (None: the
    user's own metadata CSV, if any), `audio_rule` the rule whose first output puts the
    audio on disk, `pool_rule` the rule that fetches the audio of an other_labels pool
    (None: the dataset's audio holds it). `official_split`: it has its own scored test
    clips and a manually_verified flag per clip, so split.method official, split.test_on
    verified and the other_labels pool (labels to leave out) work with it. `benchmark`:
    the standard benchmark a configured dataset of this kind is (datasets/benchmarks.py),
    or None. `about(dataset)`: a configured dataset of this kind in words (DataSource).
    """

    name: str
    catalog: Catalog = field(repr=False)
    settings: Settings = field(repr=False)
    meta_rule: str | None = None
    audio_rule: str | None = None
    pool_rule: str | None = None
    official_split: bool = False
    benchmark: Callable[[dict], str | None] = field(default=lambda dataset: None, repr=False)
    about: Callable[[dict], DataSource] = field(
        default=lambda dataset: DataSource(str(dataset.get("kind")), "not recorded", "unknown"),
        repr=False,
    )

    @property
    def download_rules(self) -> tuple[str, ...]:
        """The rules that put the dataset on disk, in the order they run."""
        return tuple(dict.fromkeys(r for r in (self.meta_rule, self.audio_rule) if r))


def _fsdkaggle_catalog(meta_dir, audio_root, settings):
    # imported when called: the Snakefile imports this module and never pandas
    from audioclf.datasets.fsdkaggle import fsdkaggle_catalog

    return fsdkaggle_catalog(meta_dir, audio_root)


def _esc50_catalog(meta_dir, audio_root, settings):
    from audioclf.datasets.esc50 import esc50_catalog

    return esc50_catalog(meta_dir, **(settings or {}))


def _folder_catalog(meta_dir, audio_root, settings):
    from audioclf.datasets.folder import folder_catalog

    return folder_catalog(**(settings or {}))


def _no_settings(dataset: dict, folds: list[str] | None) -> None:
    return None


def _esc50_settings(dataset: dict, folds: list[str] | None) -> dict:
    return {"esc10": dataset["esc50"]["esc10"], "folds": folds}


def _folder_settings(dataset: dict, folds: list[str] | None) -> dict:
    settings = {key: dataset.get(key) for key in FOLDER_KEYS}
    settings.update({key: dataset[key] for key in FOLDER_OPTIONAL_KEYS if dataset.get(key)})
    if folds is not None:
        settings["folds"] = folds
    return settings


def _esc50_benchmark(dataset: dict) -> str:
    return "esc10" if (dataset.get("esc50") or {}).get("esc10") else "esc50"


def _declared_benchmark(dataset: dict) -> str | None:
    return dataset.get("benchmark")


def _fsdkaggle_about(dataset: dict) -> DataSource:
    return DataSource(
        "FSDKaggle2018",
        "Freesound clips of FSDKaggle2018 (E. Fonseca et al., General-purpose tagging of "
        "Freesound audio with AudioSet labels, DCASE 2018), Zenodo record 2552860 "
        f"(doi:10.5281/zenodo.2552860), fetched from {dataset.get('base_url')}",
        "the dataset is released under CC BY 4.0; each clip keeps the Creative Commons "
        "licence its Freesound uploader chose (CC0, CC BY or CC BY-NC), listed in the "
        "`license` column of its metadata CSVs (train_post_competition.csv and "
        "test_post_competition_scoring_clips.csv in FSDKaggle2018.meta.zip): check them "
        "before any commercial use",
    )


def _demo_about(dataset: dict) -> DataSource:
    return DataSource(
        "the synthetic demo set",
        "synthetic clips made by the workflow itself (audioclf/datasets/demo.py, seed "
        f"{(dataset.get('demo') or {}).get('seed')}) in FSDKaggle2018's shape: no recordings",
        "none needed: the clips are generated, not recorded (the `license` column of the "
        "demo's metadata is made up, to give it FSDKaggle2018's shape)",
    )


def _esc50_about(dataset: dict) -> DataSource:
    esc10 = bool(dataset["esc50"]["esc10"])
    return DataSource(
        "ESC-10" if esc10 else "ESC-50",
        f"Freesound clips of {'ESC-10, the 10-class subset of ESC-50' if esc10 else 'ESC-50'} "
        "(K. J. Piczak, ESC: Dataset for Environmental Sound Classification, ACM Multimedia "
        f"2015), fetched from {dataset['esc50']['url']}",
        "CC BY (the ESC-10 clips; the rest of ESC-50 is CC BY-NC 3.0)"
        if esc10
        else "CC BY-NC 3.0, non-commercial (its ESC-10 clips alone are CC BY)",
    )


def _folder_about(dataset: dict) -> DataSource:
    return DataSource(
        f"the recordings under {dataset.get('path')}",
        f"the audio files under {dataset.get('path')} (dataset.path)",
        "as given by the audio's owner: unknown to the workflow",
    )


KINDS: dict[str, DatasetKind] = {
    kind.name: kind
    for kind in (
        DatasetKind(
            "fsdkaggle2018",
            _fsdkaggle_catalog,
            _no_settings,
            meta_rule="download_metadata",
            audio_rule="download_audio",
            pool_rule="download_pool_audio",
            official_split=True,
            about=_fsdkaggle_about,
        ),
        # offline and synthetic, shaped like FSDKaggle2018 (datasets/demo.py)
        DatasetKind(
            "demo",
            _fsdkaggle_catalog,
            _no_settings,
            meta_rule="make_demo_dataset",
            audio_rule="make_demo_dataset",
            official_split=True,
            about=_demo_about,
        ),
        DatasetKind(
            "esc50",
            _esc50_catalog,
            _esc50_settings,
            meta_rule="download_esc50",
            audio_rule="download_esc50",
            benchmark=_esc50_benchmark,
            about=_esc50_about,
        ),
        # the user's own audio, already on disk
        DatasetKind(
            "folder",
            _folder_catalog,
            _folder_settings,
            benchmark=_declared_benchmark,
            about=_folder_about,
        ),
    )
}

OFFICIAL_SPLIT_KINDS = tuple(name for name, kind in KINDS.items() if kind.official_split)


def dataset_kind(name: str | None) -> DatasetKind:
    """The entry of `name`; an unknown kind is an error listing the known ones."""
    if name not in KINDS:
        raise ValueError(f"dataset.kind {name!r} is unknown; use one of {', '.join(KINDS)}")
    return KINDS[name]
