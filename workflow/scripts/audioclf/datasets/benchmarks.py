"""The standard benchmarks a dataset can be: their official folds, class count and the
published accuracies the report sets beside a run, each with its citation.

Light on purpose (no pandas): the Snakefile reads the official folds at every start.
Every accuracy here was checked against the source named in its `checked_in`; a number
that could not be checked is left out, never estimated.
"""

from __future__ import annotations

from dataclasses import dataclass

# The ESC-50 README's results table, as read for these rows (karolpiczak/ESC-50,
# README.md at commit 00aa5afbc655f148255d139b51abcfa5abf9ccb5, "Results").
ESC50_README = "ESC-50 README, Results table (github.com/karolpiczak/ESC-50 at 00aa5afb)"
PICZAK_2015A = (
    "K. J. Piczak, ESC: Dataset for Environmental Sound Classification, "
    "ACM Multimedia 2015, doi:10.1145/2733373.2806390"
)
PICZAK_2015B = (
    "K. J. Piczak, Environmental sound classification with convolutional neural networks, "
    "IEEE MLSP 2015 (karol.piczak.com/papers/Piczak2015-ESC-ConvNet.pdf)"
)


@dataclass(frozen=True)
class Reference:
    """One published accuracy under a benchmark's official protocol."""

    method: str
    accuracy: float  # percent, as published
    citation: str
    checked_in: str


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
            Reference("Human listeners (crowdsourced)", 81.3, PICZAK_2015A, ESC50_README),
            Reference("Piczak's CNN on log-mel spectrograms", 64.5, PICZAK_2015B, ESC50_README),
            Reference("Random forest on MFCC and ZCR", 44.3, PICZAK_2015A, ESC50_README),
            Reference("SVM on MFCC and ZCR", 39.6, PICZAK_2015A, ESC50_README),
            Reference("k-NN on MFCC and ZCR", 32.2, PICZAK_2015A, ESC50_README),
        ),
    ),
    # ESC-10 and UrbanSound8K: their official protocol is known, but no published number
    # could be checked against a paper's own text here, so none is listed.
    "esc10": Benchmark("esc10", "ESC-10", ("1", "2", "3", "4", "5"), 10),
    "urbansound8k": Benchmark(
        "urbansound8k", "UrbanSound8K", tuple(str(k) for k in range(1, 11)), 10
    ),
}


def benchmark_name(dataset: dict) -> str | None:
    """The benchmark a configured dataset is: esc50 (or esc10 with `esc50.esc10`), or what
    a folder dataset declares in `dataset.benchmark`; None for any other dataset."""
    kind = dataset.get("kind")
    if kind == "esc50":
        return "esc10" if (dataset.get("esc50") or {}).get("esc10") else "esc50"
    if kind == "folder":
        return dataset.get("benchmark")
    return None


def official_folds(dataset: dict) -> list[str] | None:
    """The folds a dataset's metadata may use: `dataset.folds` when set, else its
    benchmark's official folds for esc50; None when the metadata's folds are its own."""
    declared = dataset.get("folds")
    if declared:
        return [str(f) for f in declared]
    if dataset.get("kind") == "esc50":
        return list(BENCHMARKS[benchmark_name(dataset)].folds)
    return None
