"""Every input of the report for a consistent fake run, written by the workflow's own
functions: only each model's predictions are drawn (right with the model's accuracy)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import torch

from audioclf.contracts import (
    CLIPS,
    CURVES,
    EXCLUDED,
    HISTORY,
    METRICS,
    PREDICTIONS,
    SPLIT,
    SPLIT_COUNTS,
    SUBSET,
)
from audioclf.evaluate.compare import compare_models, summarize_model
from audioclf.evaluate.curves import collect_curves
from audioclf.evaluate.scoring import run_metrics
from audioclf.learn.checkpoint import save_checkpoint
from audioclf.learn.data import clip_samples
from audioclf.learn.models import count_parameters
from audioclf.learn.registry import MODEL_TYPES, build_model, resolve_settings
from audioclf.learn.weights import load_pretrained
from audioclf.preprocess.cache import PackedClips
from audioclf.preprocess.clips import samples_hash
from audioclf.report.build import build_report
from audioclf.runs import run_ids
from audioclf.split.stratified import count_table

RATE = 16000
FIVE_LABELS = ["Bark", "Cough", "Knock", "Meow", "Telephone"]
HOSTILE_LABEL = "<script>alert(1)</script>"
CONFIG_URL = "https://zenodo.org/record/2552860"
# Fixture models: not claims about real models, just different accuracies per model.
FAKE_MODELS = {
    "raw": {"type": "raw1d", "accuracy": 0.55, "params": 1_234_567},
    "spectrogram": {"type": "spectrogram", "accuracy": 0.85, "params": 11_200_000},
}
THREE_MODELS = {
    "raw": FAKE_MODELS["raw"],
    "raw_deep": {"type": "raw1d_deep", "accuracy": 0.7, "params": 151_000},
    "spectrogram": FAKE_MODELS["spectrogram"],
}
# the hostile run's contrasts: one with markup in its name, two of the same pair of models
# (the first two measured, the third not: neither model loads weights), one whose model is
# not there
HOSTILE_CONTRASTS = (
    {"name": "input <b>&</b> $size$", "question": "is it the input?", "factor": "input",
     "a": "spectrogram", "b": "raw_deep"},
    {"name": "M5 vs the seed's net", "question": "", "factor": "architecture", "a": "raw_deep",
     "b": "raw"},
    {"name": "waveform weights", "question": "", "factor": "weights", "a": "raw_deep",
     "b": "raw"},
    {"name": "pretraining", "question": "do weights help?", "factor": "weights",
     "a": "spectrogram", "b": "spectrogram_scratch"},
)  # fmt: skip
CLIP_SECONDS = 2
FULL_SEEDS = (11, 12, 13)
HOSTILE_SEEDS = (5, 6)
HOSTILE_FOLDS = (1, 2)
DEEP_SETTINGS = {"channels": 32, "blocks": 4, "gain_db": 6.0, "shift_fraction": 0.1,
                 "noise_snr_db": 20.0}  # fmt: skip


def fake_config(models: dict) -> dict:
    settings = {
        "raw1d": {},
        "raw1d_deep": DEEP_SETTINGS,
        "spectrogram": {"n_fft": 512, "hop_length": 160, "n_mels": 64},
        "raw_filterbank": {"n_mels": 32},
        "spectrogram_small": {"n_mels": 32},
    }
    return {
        "clip_seconds": CLIP_SECONDS,
        "device": "cpu",
        "seed": 7,
        "download": {"url": CONFIG_URL},
        "models": {
            name: {
                "type": spec["type"],
                "epochs": 4,
                "lr": 0.001,
                "batch_size": 32,
                "weight_decay": 0.01,
                **settings[spec["type"]],
                **spec.get("settings", {}),
            }
            for name, spec in models.items()
        },
        "report": {"figure_format": "svg", "dpi": 100, "example_clip": None},
    }


def tone(seconds: float, rate: int, freq: float, rng) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t) + 0.05 * rng.standard_normal(t.size)).astype(
        np.float32
    )


def make_fake_run(
    root: Path,
    labels: list[str],
    per_label: dict[str, int],
    original_file: bool = True,
    seed: int = 0,
    models: dict = FAKE_MODELS,
    seeds: tuple = FULL_SEEDS,
    folds: tuple = (),
    contrasts: tuple = (),
) -> dict:
    """Every input of build_report for a consistent fake run; returns its keyword arguments.
    `contrasts` ({name, question, a, b}) go to config and to compare_models.

    Each model is "run" once per seed (and fold): its predictions are drawn at the model's
    accuracy, scored, and the runs aggregated with audioclf.evaluate.aggregate as the workflow does.
    """
    rng = np.random.default_rng(seed)
    data = root / "results" / "data"
    data.mkdir(parents=True)
    rows, clips = [], []
    for label in labels:
        for split, count in per_label.items():
            for _ in range(count):
                fname = f"{len(rows):05d}.wav"
                rows.append((fname, label, split))
    fnames = [r[0] for r in rows]
    example = next(r for r in rows if r[2] == "test")[0]
    for fname, label, _ in rows:
        seconds = 3.1 if fname == example else float(rng.uniform(0.2, 0.5))
        clips.append(tone(seconds, RATE, 220.0 * (1 + labels.index(label)), rng))
    original_seconds = [c.size / RATE + float(rng.uniform(0.0, 0.4)) for c in clips]
    audio = root / "audio"
    audio.mkdir()
    if original_file:
        stereo = np.stack([tone(3.5, 44100, 330.0, rng)] * 2, axis=1)
        stereo[: 44100 // 5] = 0.0  # leading silence, removed in the cache
        sf.write(audio / example, stereo, 44100)
    source = ["test" if s == "test" else "train" for *_, s in rows]
    subset = pd.DataFrame(
        {"fname": fnames, "label": [r[1] for r in rows], "source": source,
         "manually_verified": 1, "path": [str(audio / f) for f in fnames],
         "license": "Creative Commons 0", "freesound_id": [str(1000 + i) for i in range(len(rows))]}
    )  # fmt: skip
    excluded = pd.DataFrame(
        {"fname": ["bad1.wav", "bad2.wav", "bad3.wav"], "label": [labels[0]] * 3,
         "path": [str(audio / "bad1.wav"), str(audio / "bad2.wav"), str(audio / "bad3.wav")],
         "reason": ["zero length", "file missing", "zero length"]}
    )  # fmt: skip
    subset = pd.concat([subset, excluded.drop(columns="reason").assign(source="train")])
    SUBSET.write(data / "subset.csv", subset)
    EXCLUDED.write(data / "excluded.csv", excluded)
    cache = PackedClips.from_clips(
        [torch.from_numpy(c) for c in clips], fnames, [r[1] for r in rows], RATE,
        original_seconds, {"top_db": 20},
    )  # fmt: skip
    cache.save(data / "cache.pt")
    pd.DataFrame(
        {"fname": fnames, "label": [r[1] for r in rows], "original_seconds": original_seconds,
         "trimmed_seconds": cache.trimmed_seconds.numpy(),
         "samples_hash": [samples_hash(cache.raw(i).numpy()) for i in range(len(cache))]}
    ).pipe(lambda clips: CLIPS.write(data / "clips.csv", clips))  # fmt: skip
    split = pd.DataFrame(rows, columns=["fname", "label", "split"])
    SPLIT.write(data / "split.csv", split)
    SPLIT_COUNTS.write(data / "split_counts.csv", count_table(split))

    test = split[split["split"] == "test"].reset_index(drop=True)
    # Cross-validation: every test clip in exactly one fold; without it, one fold called None.
    test_of_fold = (
        {fold: test.iloc[i :: len(folds)] for i, fold in enumerate(folds)}
        if folds
        else {None: test}
    )
    config = {**fake_config(models), "contrasts": [dict(c) for c in contrasts]}
    paths, files = {}, {}
    for name, spec in models.items():
        paths[name], files[name] = fake_model(
            root, name, spec, test_of_fold, seeds, labels, rng, config
        )
    comparison = root / "results" / "eval" / "comparison.json"
    compare_models(files, comparison, contrasts=config["contrasts"])
    curves = root / "results" / "eval" / "curves.csv"
    metrics_files = [p for name in models for p in files[name]["runs"]]
    run_names = []
    for name in models:
        for path in files[name]["runs"]:
            m = json.loads(Path(path).read_text())
            fold = "" if m["fold"] is None else f"fold{m['fold']}-"
            run_names.append((name, f"{fold}seed{m['seed']}"))
    table = collect_curves(metrics_files, run_names, curves)
    # a fake smaller share of the train split, for the curve figure: fewer clips, lower scores
    half = table.assign(
        run=table["run"] + "-train50", fraction=0.5, n_train=table["n_train"] // 2,
        accuracy=table["accuracy"] * 0.8,
    )  # fmt: skip
    CURVES.write(curves, pd.concat([half, table], ignore_index=True))
    bench = root / "results" / "benchmarks"
    for rule, wildcards, seconds in (("preprocess_audio", "all", 12.5), ("train_model", "raw", 61)):
        (bench / rule).mkdir(parents=True, exist_ok=True)
        (bench / rule / f"{wildcards}.tsv").write_text(
            "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
            f"{seconds}\t0:00:12\t512.3\t900.1\t500.0\t505.0\t1.0\t2.0\t95.0\t11.0\n"
        )
    return {
        "config": config,
        "subset_csv": data / "subset.csv",
        "clips_csv": data / "clips.csv",
        "excluded_csv": data / "excluded.csv",
        "split_csv": data / "split.csv",
        "split_counts_csv": data / "split_counts.csv",
        "cache_path": data / "cache.pt",
        "models": paths,
        "benchmark_tsvs": sorted(bench.rglob("*.tsv")),
        "comparison_json": comparison,
        "curves_csv": curves,
        "settings": config["report"],
    }


def fake_predictions(test: pd.DataFrame, accuracy: float, labels, rng) -> pd.DataFrame:
    """predictions.csv of one run: right with probability `accuracy`, else another label."""
    truth = test["label"].to_numpy()
    right = rng.random(truth.size) < accuracy
    others = {t: [x for x in labels if x != t] for t in labels}
    predicted = np.array(
        [t if ok else rng.choice(others[t]) for t, ok in zip(truth, right, strict=True)]
    )
    probs = rng.dirichlet(np.ones(len(labels)), size=truth.size) * 0.4
    for i, p in enumerate(predicted):
        probs[i, labels.index(p)] += 0.6
    predictions = pd.DataFrame(
        {"fname": test["fname"].to_numpy(), "label": truth, "predicted": predicted,
         "confidence": probs.max(axis=1)}
    )  # fmt: skip
    for j, label in enumerate(labels):
        predictions[f"prob_{label}"] = probs[:, j]
    return predictions


def fake_checkpoint(root: Path, name: str, settings: dict, n_classes: int, labels) -> tuple:
    """A real, rebuildable model.pt of an untrained network with the fixture's settings.

    The spectrogram model's body really is loaded from a weights file (random weights
    written here), so the report's "pretrained" wording rests on loaded weights.
    """
    resolved = resolve_settings(settings)
    net = build_model(resolved, n_classes, clip_samples(CLIP_SECONDS, RATE), RATE)
    source = None
    if MODEL_TYPES[resolved["type"]].pretrained_body:
        weights = root / "weights" / f"{name}.pth"
        weights.parent.mkdir(exist_ok=True)
        torch.save(net.backbone.state_dict(), weights)
        source = load_pretrained(net, str(weights))
    checkpoint = {
        "model": name,
        "type": resolved["type"],
        "settings": resolved,
        "classes": list(labels),
        "sample_rate": RATE,
        "clip_seconds": float(CLIP_SECONDS),
        "preprocess": {"top_db": 20},
        "state_dict": net.state_dict(),
        "device": "cpu",
        "seed": 0,
        "pretrained": source is not None,
        "weight_source": source,
        "n_params": count_parameters(net),
        # as train() records them: fine-tuning runs its frozen epochs first
        "epochs_run": int(resolved["epochs"]) + (int(resolved["freeze_epochs"]) if source else 0),
        "optimizer_steps": 7 * int(resolved["epochs"]),
    }
    return net, checkpoint


def fake_model(root: Path, name: str, spec: dict, test_of_fold: dict, seeds, labels, rng, config):
    """A model's files as the workflow writes them, from predictions drawn at its accuracy.

    Each run's predictions.csv and metrics.json are written by the real contract and
    audioclf.evaluate.scoring.run_metrics; summarize_model then writes the model's
    metrics.json (all runs) and predictions.csv (the first seed's); every run has a history.csv,
    model.pt is the first run's.
    """
    net, checkpoint = fake_checkpoint(root, name, config["models"][name], len(labels), labels)
    evaluation = root / "results" / "eval" / name
    out = root / "results" / "models" / name / "first"
    runs = {"runs": [], "predictions": [], "history": []}
    for seed in seeds:
        for fold, test in test_of_fold.items():
            run = evaluation / run_ids([seed], None if fold is None else [fold])[0]
            predictions = fake_predictions(test, spec["accuracy"], labels, rng)
            PREDICTIONS.write(run / "predictions.csv", predictions)
            seeded = {**checkpoint, "seed": seed, "n_train": 120}
            train_seconds = float(rng.uniform(50, 500))
            metrics = run_metrics(
                seeded, predictions, net, valid_accuracy=float(rng.uniform(0.5, 0.9)),
                n_windows=2 * len(predictions), clips_per_second=float(rng.uniform(100, 900)),
                eval_device="cpu", fold=None if fold is None else str(fold),
                eval_windows="sliding", train_seconds=train_seconds,
            )  # fmt: skip
            METRICS.write(run / "metrics.json", metrics)
            runs["runs"].append(run / "metrics.json")
            runs["predictions"].append(run / "predictions.csv")
            if not (out / "model.pt").exists():
                save_checkpoint(out / "model.pt", seeded)
            history = out.parent / run.name / "history.csv"
            HISTORY.write(history, fake_history(spec["accuracy"], metrics["valid_accuracy"], rng))
            runs["history"].append(history)
    summarize_model(
        runs["runs"], runs["predictions"], evaluation / "metrics.json",
        evaluation / "predictions.csv",
    )  # fmt: skip
    paths = {
        "metrics": evaluation / "metrics.json",
        "predictions": evaluation / "predictions.csv",
        "history": runs.pop("history"),
        "model": out / "model.pt",
    }
    return paths, {**runs, "summary": evaluation / "metrics.json"}


def fake_history(accuracy: float, valid_accuracy: float, rng) -> pd.DataFrame:
    """history.csv of one run: losses falling by epoch, a little apart from run to run."""
    epochs = np.arange(1, 5)
    jitter = float(rng.uniform(0.9, 1.1))
    return pd.DataFrame(
        {"epoch": epochs, "train_loss": jitter * (2.2 - 1.5 * accuracy) / epochs,
         "valid_loss": jitter * (2.4 - 1.5 * accuracy) / epochs + 0.1,
         "valid_accuracy": np.linspace(0.3, valid_accuracy, 4), "seconds": 10.0}
    )  # fmt: skip


def build(root: Path, inputs: dict, **overrides) -> tuple[str, Path]:
    out_html = root / "results" / "report.html"
    figures = root / "results" / "report"
    build_report(out_html, figures, **{**inputs, **overrides})
    return out_html.read_text(encoding="utf-8"), figures
