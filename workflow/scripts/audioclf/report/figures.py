"""The report's matplotlib figures, each saved to a file and returned as a data URI."""

from __future__ import annotations

import base64
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from audioclf.io import atomic_path  # noqa: E402
from audioclf.report.example import ExampleClip  # noqa: E402
from audioclf.report.filters import FLOOR_DB, mel_centres  # noqa: E402
from audioclf.report.inputs import ModelRun  # noqa: E402

MIME = {"svg": "image/svg+xml", "png": "image/png"}
ENVELOPE_BINS = 1200
ANNOTATE_MAX_LABELS = 15
# a confusion matrix's cell and count size, so that every count reads at 100% zoom
CONFUSION_CELL_INCHES = 0.55
CONFUSION_COUNT_POINTS = 10

# Same file for the same figure: fixed SVG ids and no creation date.
matplotlib.rcParams["svg.hashsalt"] = "audioclf-report"
matplotlib.rcParams["svg.fonttype"] = "path"


def save_figure(fig, path: Path, figure_format: str, dpi: int) -> str:
    """Write `fig` to `path` atomically, close it, and return the file as a base64 data URI."""
    metadata = {"Date": None} if figure_format == "svg" else {"Software": None}
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=figure_format, dpi=dpi, bbox_inches="tight", metadata=metadata)
    plt.close(fig)
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:{MIME[figure_format]};base64,{encoded}"


def plain(text: str) -> str:
    """Text shown as typed: a '$' in a label must not switch matplotlib into math mode."""
    return str(text).replace("$", r"\$")


def model_colours(names: list[str]) -> dict[str, tuple]:
    return dict(zip(names, sns.color_palette("colorblind", len(names)), strict=True))


def envelope(wave: np.ndarray, bins: int = ENVELOPE_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of `wave` in `bins` equal chunks: the drawn shape of a long wave, small."""
    wave = np.asarray(wave, dtype=np.float32)
    if wave.size <= bins:
        return wave, wave
    usable = wave[: wave.size - wave.size % bins].reshape(bins, -1)
    return usable.min(axis=1), usable.max(axis=1)


def _draw_wave(ax, wave: np.ndarray, rate: int, colour, title: str) -> None:
    low, high = envelope(wave)
    seconds = np.linspace(0, wave.size / rate, num=low.size)
    ax.fill_between(seconds, low, high, color=colour, linewidth=0.5, edgecolor=colour)
    ax.set_title(plain(title), fontsize=10, loc="left")
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("amplitude")
    ax.grid(alpha=0.3)


def preprocessing_figure(example: ExampleClip):
    """Original file, after silence removal, after crop/repeat, on one time axis."""
    fig, axes = plt.subplots(3, 1, figsize=(10, 6.2), sharex=True, constrained_layout=True)
    rate = example.sample_rate
    if example.original is not None:
        _draw_wave(
            axes[0],
            example.original,
            example.original_rate,
            "#555555",
            f"1. original file: {example.original.size / example.original_rate:.2f} s, "
            f"{example.original_rate} Hz, {example.original_channels} channel(s) (mixed to mono)",
        )
    else:
        axes[0].text(
            0.5, 0.5, plain(f"original not shown: {example.original_note}"),
            ha="center", va="center", transform=axes[0].transAxes, wrap=True,
        )  # fmt: skip
        axes[0].set_title("1. original file", fontsize=10, loc="left")
        axes[0].set_yticks([])
    _draw_wave(
        axes[1],
        example.trimmed,
        rate,
        "#1f77b4",
        f"2. silence removed (from the cache): {example.trimmed.size / rate:.2f} s at {rate} Hz",
    )
    action = "cropped" if example.trimmed.size >= example.clip_samples else "repeated"
    _draw_wave(
        axes[2],
        example.cropped,
        rate,
        "#d62728",
        f"3. {action} to {example.clip_samples / rate:g} s "
        f"(start at sample {example.crop_start}): the network's input",
    )
    axes[2].set_xlabel("time (s)")
    fig.suptitle(plain(f"{example.fname} ({example.label})"), fontsize=11)
    return fig


def spectrogram_figure(example: ExampleClip):
    """The spectrogram model's input for the cropped clip, without and with training masks."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True, constrained_layout=True)
    settings = example.mel_settings
    seconds = example.mel.shape[1] * settings["hop_length"] / example.sample_rate
    vmin = float(min(example.mel.min(), example.mel_masked.min()))
    vmax = float(max(example.mel.max(), example.mel_masked.max()))
    titles = (
        "normalised log-mel spectrogram (as at test time)",
        f"with training masks ({settings['freq_masks']} × ≤ {settings['freq_mask_width']} "
        f"mel bins, {settings['time_masks']} × ≤ {settings['time_mask_width']} frames; "
        f"seed {example.mask_seed})",
    )
    for ax, mel, title in zip(axes, (example.mel, example.mel_masked), titles, strict=True):
        image = ax.imshow(
            mel, origin="lower", aspect="auto", cmap="magma", vmin=vmin, vmax=vmax,
            extent=(0, seconds, 0, mel.shape[0]), interpolation="nearest",
        )  # fmt: skip
        ax.set_title(title, fontsize=9, loc="left")
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("mel bin")
    fig.colorbar(image, ax=axes, label="standard deviations from the clip's mean", shrink=0.9)
    return fig


def durations_figure(clips: pd.DataFrame, labels: list[str]):
    """Per label: clip durations before and after silence removal."""
    long = pd.concat(
        [
            pd.DataFrame({"label": clips["label"], "seconds": clips[col], "duration": stage})
            for col, stage in (
                ("original_seconds", "original"),
                ("trimmed_seconds", "silence removed"),
            )
        ],
        ignore_index=True,
    )
    long["label"] = long["label"].map(plain)
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.55 * len(labels)), constrained_layout=True)
    with warnings.catch_warnings():
        # seaborn 0.13 still passes boxplot's `vert`, deprecated in matplotlib 3.11
        warnings.simplefilter("ignore", matplotlib.MatplotlibDeprecationWarning)
        sns.boxplot(
            data=long, x="seconds", y="label", hue="duration", order=[plain(x) for x in labels],
            ax=ax, fliersize=2, linewidth=0.8, palette=["#999999", "#1f77b4"],
        )  # fmt: skip
    ax.set_xlabel("clip duration (s)")
    ax.set_ylabel("")
    sns.move_legend(
        ax, "lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, title=None, frameon=False
    )
    ax.grid(axis="x", alpha=0.3)
    return fig


def confusion_figure(runs: list[ModelRun], labels: list[str]):
    """One confusion matrix per model (summed over its runs), one per row so that every count
    is readable at the page's width: same class order, one colour scale (share of the true
    label)."""
    annotated = len(labels) <= ANNOTATE_MAX_LABELS
    side = max(2.5, (CONFUSION_CELL_INCHES if annotated else 0.25) * len(labels))
    fig, axes = plt.subplots(
        len(runs), 1, figsize=(side + 3.2, (side + 1.9) * len(runs)), squeeze=False,
        constrained_layout=True,
    )  # fmt: skip
    ticks = [plain(x) for x in labels]
    for ax, run in zip(axes[:, 0], runs, strict=True):
        counts = ordered_confusion(run.metrics["confusion_matrix"], labels)
        totals = counts.sum(axis=1, keepdims=True)
        shares = np.divide(counts, totals, out=np.zeros_like(counts, float), where=totals > 0)
        image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
        if annotated:
            for (i, j), n in np.ndenumerate(counts):
                colour = "white" if shares[i, j] > 0.6 else "black"
                ax.text(j, i, str(n), ha="center", va="center", color=colour,
                        fontsize=CONFUSION_COUNT_POINTS)  # fmt: skip
        ax.set_xticks(range(len(labels)), ticks, rotation=45, ha="right", fontsize=9)
        ax.set_yticks(range(len(labels)), ticks, fontsize=9)
        ax.set_xlabel("predicted label")
        ax.set_ylabel("true label")
        accuracy = f"{100 * run.accuracy:.1f}%"
        title = f"{run.name} (accuracy {accuracy})"
        if run.n_runs > 1:
            title = f"{run.name}: {run.n_runs} runs summed (mean accuracy {accuracy})"
        ax.set_title(plain(title), fontsize=11, loc="left")
        fig.colorbar(image, ax=ax, label="share of the true label's clips", shrink=0.8)
    return fig


def ordered_confusion(confusion: dict, labels: list[str]) -> np.ndarray:
    """The matrix of metrics.json with rows and columns put in `labels` order."""
    own = list(confusion["labels"])
    position = [own.index(label) for label in labels]
    matrix = np.asarray(confusion["matrix"], dtype=int)
    return matrix[np.ix_(position, position)]


def per_class_f1_figure(runs: list[ModelRun], labels: list[str]):
    """Grouped bars: each label's test F1 (mean over runs) for every model."""
    rows = [
        {"label": plain(label), "model": run.name, "F1": run.metrics["per_class"][label]["f1"]}
        for run in runs
        for label in labels
    ]
    fig, ax = plt.subplots(figsize=(max(7.0, 1.0 + 0.5 * len(labels) * len(runs)), 4.2))
    sns.barplot(
        data=pd.DataFrame(rows), x="label", y="F1", hue="model", ax=ax,
        palette=model_colours([r.name for r in runs]), order=[plain(x) for x in labels],
    )  # fmt: skip
    ax.set_ylim(0, 1)
    ax.set_xlabel("")
    several = any(run.n_runs > 1 for run in runs)
    ax.set_ylabel("F1 on the test clips" + (" (mean over runs)" if several else ""))
    sns.move_legend(
        ax, "lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(runs), title=None, frameon=False
    )
    ax.grid(axis="y", alpha=0.3)
    ax.tick_params(axis="x", labelrotation=30)
    for tick in ax.get_xticklabels():
        tick.set_ha("right")
    fig.tight_layout()
    return fig


def training_curves_figure(runs: list[ModelRun]):
    """Train loss, valid loss and valid accuracy per epoch of every run of each model (its
    history.csv files), one line per run in the model's colour; all models on the same axes."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharex=True, constrained_layout=True)
    colours = model_colours([r.name for r in runs])
    panels = (
        ("train_loss", "training loss"),
        ("valid_loss", "validation loss"),
        ("valid_accuracy", "validation accuracy"),
    )
    for ax, (column, title) in zip(axes, panels, strict=True):
        for run in runs:
            several = len(run.histories) > 1
            label = f"{run.name} ({len(run.histories)} runs)" if several else run.name
            for i, history in enumerate(run.histories):
                ax.plot(
                    history["epoch"], history[column], marker="" if several else "o",
                    markersize=3, linewidth=1.0 if several else 1.5, alpha=0.7 if several else 1,
                    color=colours[run.name], label=plain(label) if i == 0 else None,
                )  # fmt: skip
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    every = [h[["train_loss", "valid_loss"]] for r in runs for h in r.histories]
    losses = pd.concat(every).to_numpy(float)
    losses = losses[np.isfinite(losses)]
    if losses.size and (losses > 0).all():
        # One diverged epoch (a loss of hundreds) would flatten every other curve on a linear axis.
        for ax in axes[:2]:
            ax.set_yscale("log")
        axes[0].set_ylabel("cross-entropy (log scale)")
    # Both losses on one scale, so training and validation loss can be compared by eye.
    low = min(axes[0].get_ylim()[0], axes[1].get_ylim()[0])
    high = max(axes[0].get_ylim()[1], axes[1].get_ylim()[1])
    axes[0].set_ylim(low, high)
    axes[1].set_ylim(low, high)
    axes[2].set_ylim(0, 1)
    axes[2].legend(title="model", fontsize=8)
    return fig


def _placeholder(fig, ax, text: str):
    """`fig` with `text` where its plot would be, for a figure with nothing to show: the
    file the rule declares is still written, and the page says why in a sentence instead."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return fig


def filterbank_figure(filterbanks: dict[str, tuple[np.ndarray, np.ndarray]], sample_rate: int):
    """Centre frequency of each learnable filter before and after training, per model, on
    the mel scale's centres for as many bands (grey)."""
    fig, ax = plt.subplots(figsize=(8, 4.2), constrained_layout=True)
    if not filterbanks:
        return _placeholder(
            fig, ax, "no model with a learnable filterbank (type raw_filterbank) in this run"
        )
    colours = model_colours(list(filterbanks))
    n_bands = max(len(initial) for initial, _ in filterbanks.values())
    ax.plot(mel_centres(n_bands, sample_rate), color="#999999", linewidth=3, alpha=0.6,
            label="mel scale")  # fmt: skip
    for name, (initial, trained) in filterbanks.items():
        ax.plot(initial, color=colours[name], linestyle="--", label=plain(f"{name}: initial"))
        ax.plot(trained, color=colours[name], label=plain(f"{name}: trained"))
    ax.set_yscale("symlog", linthresh=500)
    ax.set_xlabel("filter (sorted by initial centre frequency)")
    ax.set_ylabel("centre frequency (Hz)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def learned_filters_figure(views: list, sample_rate: int):
    """One panel per waveform model's first layer (and stage): each filter's magnitude
    response in dB below its own peak, rows sorted by peak frequency, the peaks (dots) on
    the mel scale's band centres for as many filters (grey)."""
    if not views:
        fig, ax = plt.subplots(figsize=(8, 3), constrained_layout=True)
        return _placeholder(fig, ax, "no model of this run reads the waveform")
    fig, axes = plt.subplots(
        len(views), 1, figsize=(8, 0.4 + 2.1 * len(views)), constrained_layout=True,
        squeeze=False,
    )  # fmt: skip
    for ax, view in zip(axes[:, 0], views, strict=True):
        rows = np.arange(view.n_filters)
        mesh = ax.pcolormesh(view.freqs, rows, view.response_db, shading="nearest",
                             cmap="magma", vmin=FLOOR_DB, vmax=0, rasterized=True)  # fmt: skip
        ax.plot(mel_centres(view.n_filters, sample_rate), rows, color="#bbbbbb", linewidth=2,
                label="mel band centres")  # fmt: skip
        ax.plot(view.peaks, rows, ".", color="#56b4e9", markersize=4, label="filter peaks")
        ax.set_xscale("symlog", linthresh=500)
        ax.set_xlim(0, sample_rate / 2)
        ax.set_title(plain(view.label), fontsize=9, loc="left")
        ax.set_ylabel("filter (by peak)")
        ax.legend(fontsize=7, loc="lower right")
    axes[-1, 0].set_xlabel("frequency (Hz; linear below 500 Hz, logarithmic above)")
    fig.colorbar(mesh, ax=axes[:, 0], label="dB below the filter's peak", shrink=0.8)
    return fig


def contrasts_figure(contrasts: list[dict]):
    """Forest plot: each measured contrast's mean accuracy difference (a - b, points) with
    its CI, in colour when it is clear after Holm's correction."""
    height = 1.2 + 0.45 * max(1, len(contrasts))
    fig, ax = plt.subplots(figsize=(8, height), constrained_layout=True)
    if not contrasts:
        return _placeholder(
            fig, ax, "no contrast was run: none is configured, or their models are not"
        )
    rows = np.arange(len(contrasts))[::-1]
    alpha = 1 - float(contrasts[0].get("level", 0.95))
    for row, c in zip(rows, contrasts, strict=True):
        clear = float(c["p_adjusted"]) < alpha  # Holm over the contrasts, as the sentences
        colour = "#1f77b4" if clear else "#999999"
        ax.plot([c["low"], c["high"]], [row, row], color=colour, linewidth=2.5)
        ax.plot([c["difference"]], [row], "o", color=colour, markersize=7)
    ax.axvline(0, color="#444444", linewidth=1, linestyle="--")
    ax.set_yticks(rows)
    ax.set_yticklabels([plain(f"{c['name']}\n{c['model_a']} - {c['model_b']}") for c in contrasts])
    level = 100 * float(contrasts[0].get("level", 0.95))
    ax.set_xlabel(f"difference in test accuracy (points), with its {level:g}% CI")
    ax.grid(axis="x", alpha=0.3)
    return fig


def data_curves_figure(curves: pd.DataFrame):
    """Test accuracy against train clips, one line per model: the mean over its runs at
    each train fraction, the band from the lowest to the highest run."""
    fig, ax = plt.subplots(figsize=(8, 4.2), constrained_layout=True)
    if curves.empty or curves["fraction"].nunique() < 2:
        return _placeholder(
            fig, ax, "one amount of training data only: set train_fractions, e.g. "
            "[0.25, 0.5, 1.0],\nto see accuracy against the number of train clips",
        )  # fmt: skip
    models = list(dict.fromkeys(curves["model"]))
    colours = model_colours(models)
    for name in models:
        rows = curves[curves["model"] == name]
        by = rows.groupby("fraction").agg(
            n_train=("n_train", "mean"), mean=("accuracy", "mean"),
            low=("accuracy", "min"), high=("accuracy", "max"),
        )  # fmt: skip
        ax.plot(by["n_train"], 100 * by["mean"], "o-", color=colours[name], label=plain(name))
        ax.fill_between(by["n_train"], 100 * by["low"], 100 * by["high"], color=colours[name],
                        alpha=0.15)  # fmt: skip
    ax.set_xlabel("train clips")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def pretraining_figure(encoders: dict[str, dict]):
    """Left: the autoencoder loss per epoch of each pretraining config; right: the first
    config's first example clip and its reconstruction."""
    if not encoders:
        fig, ax = plt.subplots(figsize=(8, 3), constrained_layout=True)
        return _placeholder(fig, ax, "no model of this run uses a pretrained encoder")
    fig, (loss_ax, wave_ax) = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
    colours = model_colours(list(encoders))
    for name, encoder in encoders.items():
        epochs = [row["epoch"] for row in encoder["history"]]
        loss_ax.plot(epochs, [row["loss"] for row in encoder["history"]], "o-",
                     color=colours[name], label=plain(name))  # fmt: skip
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("autoencoder loss")
    loss_ax.grid(alpha=0.3)
    loss_ax.legend(fontsize=8)
    name, first = next(iter(encoders.items()))
    clip = np.asarray(first["examples"]["input"][0])
    rebuilt = np.asarray(first["examples"]["reconstruction"][0])
    t = np.arange(clip.size) / float(first["sample_rate"])
    wave_ax.plot(t, clip, color="#999999", linewidth=0.6, label="input")
    wave_ax.plot(t, rebuilt, color=colours[name], linewidth=0.6, alpha=0.8,
                 label=plain(f"{name}: reconstruction"))  # fmt: skip
    wave_ax.set_xlabel("time (s)")
    wave_ax.set_ylabel("amplitude")
    wave_ax.legend(fontsize=8)
    return fig
