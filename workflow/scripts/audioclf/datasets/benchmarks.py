"""The standard benchmarks a dataset can be: their official folds, class count and the
published accuracies the report sets beside a run, each with its citation.

Light on purpose (no pandas): the Snakefile reads the official folds at every start.
Every accuracy here was read in its paper's own text, at the section its `checked_in`
names; a number that could not be checked there is left out, never estimated.
"""

from __future__ import annotations

from dataclasses import dataclass

from audioclf.datasets.kinds import KINDS

PICZAK_2015A = (
    "K. J. Piczak, ESC: Dataset for Environmental Sound Classification, "
    "ACM Multimedia 2015, doi:10.1145/2733373.2806390"
)
PICZAK_2015B = (
    "K. J. Piczak, Environmental sound classification with convolutional neural networks, "
    "IEEE MLSP 2015 (karol.piczak.com/papers/Piczak2015-ESC-ConvNet.pdf)"
)
# Where the numbers were read: each paper's LaTeX source as its author published it beside
# the replication code (the publishers' PDFs were not read). Neither paper has a results
# table; the numbers are in the text of the sections named.
PICZAK_2015A_TEXT = (
    "the paper's text (github.com/karolpiczak/paper-2015-esc-dataset, Paper/ESC.tex at 2c1f71dc)"
)
PICZAK_2015B_TEXT = (
    "the paper's text (github.com/karolpiczak/paper-2015-esc-convnet, Paper/ESC-CNN.tex "
    "at 3db37267)"
)
# ESC-50's rows are also listed, with the same numbers, in the dataset's README
ESC50_README = (
    "also in the ESC-50 README's Results table (github.com/karolpiczak/ESC-50 at 00aa5afb)"
)
HUMAN_NOTE = (
    "a crowdsourced listening test (CrowdFlower; about {judgments} judgments per clip), "
    "not a model cross-validated over the folds; on the clips as released in 2015 (Ogg "
    "Vorbis, the README's v1.0.0; today's archive holds the WAV files of v2.0.0)"
)


@dataclass(frozen=True)
class Reference:
    """One published accuracy under a benchmark's official protocol."""

    method: str
    accuracy: float  # percent, as published
    citation: str
    checked_in: str  # where the number was read: source and section
    note: str = ""  # how the number differs from a model cross-validated over the folds


def _a(section: str, readme: bool) -> str:
    return f"{PICZAK_2015A_TEXT}, {section}" + (f"; {ESC50_README}" if readme else "")


HUMAN_A = "section 3.1, Human classification accuracy"
BASELINES_A = "section 3.2, Baseline machine classification results"
CNN_B = f"{PICZAK_2015B_TEXT}, section 3.3, Results"
CNN_NOTE = "each round held one training fold out as the validation set"


def _baselines(rf: float, svm: float, knn: float, readme: bool) -> tuple[Reference, ...]:
    where = _a(BASELINES_A, readme)
    return (
        Reference("Random forest on MFCC and ZCR", rf, PICZAK_2015A, where),
        Reference("SVM on MFCC and ZCR", svm, PICZAK_2015A, where),
        Reference("k-NN on MFCC and ZCR", knn, PICZAK_2015A, where),
    )


@dataclass(frozen=True)
class Benchmark:
    """A standard dataset and its official protocol: cross-validation over `folds`."""

    name: str
    title: str
    folds: tuple[str, ...]
    n_classes: int
    references: tuple[Reference, ...] = ()


BENCHMARKS = {
    "esc50": Benchmark(
        "esc50",
        "ESC-50",
        ("1", "2", "3", "4", "5"),
        50,
        (
            Reference(
                "Human listeners (crowdsourced)",
                81.3,
                PICZAK_2015A,
                _a(HUMAN_A, True),
                HUMAN_NOTE.format(judgments="two"),
            ),
            Reference(
                "Piczak's CNN on log-mel spectrograms (best variant)",
                64.5,
                PICZAK_2015B,
                f'{CNN_B} ("best network: 64.5%"); {ESC50_README}',
                CNN_NOTE,
            ),
            *_baselines(44.3, 39.6, 32.2, readme=True),
        ),
    ),
    "esc10": Benchmark(
        "esc10",
        "ESC-10",
        ("1", "2", "3", "4", "5"),
        10,
        (
            Reference(
                "Human listeners (crowdsourced)",
                95.7,
                PICZAK_2015A,
                _a(HUMAN_A, False),
                HUMAN_NOTE.format(judgments="a dozen"),
            ),
            *_baselines(72.7, 67.5, 66.7, readme=False),
        ),
    ),
    "urbansound8k": Benchmark(
        "urbansound8k",
        "UrbanSound8K",
        tuple(str(k) for k in range(1, 11)),
        10,
        (
            Reference(
                "Piczak's CNN, long segments, probability voting",
                73.1,
                PICZAK_2015B,
                f'{CNN_B} ("LP - 73.1%")',
                CNN_NOTE,
            ),
        ),
    ),
}


def benchmark_name(dataset: dict) -> str | None:
    """The benchmark a configured dataset is: esc50 (or esc10 with `esc50.esc10`), or what
    a folder dataset declares in `dataset.benchmark`; None for any other dataset."""
    kind = KINDS.get(dataset.get("kind"))
    return None if kind is None else kind.benchmark(dataset)


def official_folds(dataset: dict) -> list[str] | None:
    """The folds a dataset's metadata may use: `dataset.folds` when set, else its
    benchmark's official folds (esc50, or a folder's `dataset.benchmark`); None when the
    metadata's folds are its own."""
    declared = dataset.get("folds")
    if declared:
        return [str(f) for f in declared]
    name = benchmark_name(dataset)
    return None if name is None else list(BENCHMARKS[name].folds)
