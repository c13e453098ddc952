"""Assemble the report page from a run's outputs: read, draw, render, check, write."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pandas as pd
import yaml

from audioclf.contracts import CLIPS, CURVES, EXCLUDED, SPLIT, SPLIT_COUNTS, SUBSET
from audioclf.evaluate.stats import p_range
from audioclf.io import load_torch_file, write_text
from audioclf.learn.checkpoint import load_trained
from audioclf.learn.features import filterbank_centres
from audioclf.learn.published import published
from audioclf.preprocess.cache import PackedClips
from audioclf.procedure import differences_text
from audioclf.report import figures as fig
from audioclf.report.audio import Player, clip_player, clip_predictions, error_players
from audioclf.report.comparison import (
    NUMERIC_FIELDS,
    STATISTICS_FIELDS,
    Comparisons,
    ci_scope,
    lead_sentences,
    read_comparisons,
    statistics_rows,
)
from audioclf.report.example import ExampleClip, example_clip, pick_example
from audioclf.report.filters import FilterView, learned_view
from audioclf.report.formatting import duration, file_size, integer, number, percent
from audioclf.report.inputs import ModelRun, read_model_runs
from audioclf.report.layout import DEFAULT_SETTINGS, figure_files
from audioclf.report.provenance import benchmark_table, git_commit, package_versions
from audioclf.report.references import reference_view
from audioclf.report.selfcontained import defang_urls, external_references
from audioclf.report.summary import (
    augment_words,
    augments_waveform,
    chance_sentence,
    first_run_note,
    history_words,
    listed,
    ranked,
    reads_waveform,
    runs_sentence,
    summary_sentence,
    type_words,
    weights_words,
    what_was_run,
    windows_words,
)
from audioclf.report.tables import (
    class_order,
    copies_view,
    duration_table,
    error_tables,
    excluded_list,
    excluded_reasons,
    frame_table,
    group_view,
    label_check_sentence,
    label_check_table,
    prediction_matrix,
    results_rows,
    run_table,
)

TEMPLATES = Path(__file__).parent / "templates"


def build_report(
    out_html: str | os.PathLike,
    figures_dir: str | os.PathLike,
    *,
    config: dict,
    subset_csv: str | os.PathLike,
    clips_csv: str | os.PathLike,
    excluded_csv: str | os.PathLike,
    split_csv: str | os.PathLike,
    split_counts_csv: str | os.PathLike,
    cache_path: str | os.PathLike,
    models: dict[str, dict],
    benchmark_tsvs: list[str | os.PathLike],
    comparison_json: str | os.PathLike,
    curves_csv: str | os.PathLike | None = None,
    encoder_files: dict[str, str | os.PathLike] | None = None,
    settings: dict | None = None,
    generated_at: dt.datetime | None = None,
) -> None:
    """Write every figure into `figures_dir` and the self-contained page to `out_html`.

    `models` maps each model name to {"metrics", "predictions", "history", "model"} paths:
    metrics.json summarises the model's runs (seeds, folds); predictions are the first seed's,
    history every run's history.csv (a list, in the runs' order), model the first run's.
    `comparison_json` holds the paired statistics between the models; `curves_csv`
    (curves.csv) each run's accuracy against its train clips, for the data-size curve (None:
    no curve). `encoder_files` maps each pretraining config a model uses to its encoder.pt
    on the first run's split.
    """
    settings = {**DEFAULT_SETTINGS, **(settings or {})}
    runs = read_model_runs(models)
    comparisons = read_comparisons(comparison_json, runs)
    labels = class_order(runs)
    data = read_run_data(
        subset_csv, clips_csv, excluded_csv, split_csv, split_counts_csv, curves_csv
    )
    encoders = {
        name: load_torch_file(path, "an encoder file", "rerun pretrain_frontend")
        for name, path in (encoder_files or {}).items()
    }
    views = network_views(runs, data, cache_path, settings, encoders)
    images = draw_figures(figures_dir, settings, runs, labels, data, views, comparisons, encoders)
    context = {
        **results_context(runs, comparisons, labels),
        **data_context(config, runs, labels, data, views.example),
        "example_player": views.example_player,
        "error_players": views.error_players,
        "clips_per_model": settings["audio_clips_per_model"],
        **provenance_context(config, runs, benchmark_tsvs, generated_at),
        "images": images,
        "filterbank_models": list(views.filterbanks),
        "learned_filters": views.filter_words,
        "pretraining": [pretraining_words(name, e, runs) for name, e in encoders.items()],
        "figure_format": settings["figure_format"],
    }
    write_page(out_html, context)


@dataclass(frozen=True)
class RunData:
    """The run's data tables, as the page reads them."""

    subset: pd.DataFrame
    clips: pd.DataFrame
    excluded: pd.DataFrame
    split: pd.DataFrame
    counts: pd.DataFrame
    curves: pd.DataFrame  # empty: no data-size curve


def read_run_data(
    subset_csv, clips_csv, excluded_csv, split_csv, split_counts_csv, curves_csv=None
) -> RunData:
    """subset.csv, clips.csv, excluded.csv, split.csv, split_counts.csv and curves.csv."""
    return RunData(
        subset=SUBSET.read(subset_csv),
        clips=CLIPS.read(clips_csv),
        excluded=EXCLUDED.read(excluded_csv),
        split=SPLIT.read(split_csv),
        counts=SPLIT_COUNTS.read(split_counts_csv),
        curves=CURVES.read(curves_csv) if curves_csv is not None else pd.DataFrame(),
    )


@dataclass(frozen=True)
class NetworkViews:
    """What the page shows that needs the trained networks or the packed audio."""

    example: ExampleClip
    filterbanks: dict[str, tuple]  # learnable filterbanks' (initial, trained) centres
    filter_views: list[FilterView]
    filter_words: dict[str, list[str]]
    sample_rate: int  # the cache's
    example_player: Player
    error_players: list[Player]  # the misclassified test clips the Errors section plays


def network_views(
    runs: list[ModelRun],
    data: RunData,
    cache_path: str | os.PathLike,
    settings: dict,
    encoders: dict[str, dict],
) -> NetworkViews:
    """The example clip, the audio players, the filterbanks' centres and the learned
    filters, read from the models' files and the cache (neither is kept: the cache holds
    the whole run's audio)."""
    trained = {run.name: load_trained(run.model_path) for run in runs}
    cache = PackedClips.load(cache_path)
    fname = pick_example(data.split, cache, settings["example_clip"])
    example = example_clip(fname, cache, data.subset, data.split, trained)
    merged, max_seconds = prediction_matrix(runs), float(settings["audio_max_seconds"])
    example_player = clip_player(
        fname, cache, data.subset, max_seconds, clip_predictions(merged, runs, fname)
    )
    per_model = int(settings["audio_clips_per_model"])
    players = error_players(merged, runs, cache, data.subset, per_model, max_seconds)
    filterbanks = {}
    for name, model in trained.items():
        centres = filterbank_centres(model.checkpoint["state_dict"])
        if centres is not None:
            filterbanks[name] = tuple(c.numpy() for c in centres)
    filter_views, filter_words = learned_view(trained, model_encoders(runs, encoders))
    return NetworkViews(
        example, filterbanks, filter_views, filter_words, int(cache.sample_rate),
        example_player, players,
    )  # fmt: skip


def draw_figures(
    figures_dir: str | os.PathLike,
    settings: dict,
    runs: list[ModelRun],
    labels: list[str],
    data: RunData,
    views: NetworkViews,
    comparisons: Comparisons,
    encoders: dict[str, dict],
) -> dict:
    """Draw and save every figure of the page; {figure name: what the page embeds}."""
    files = figure_files(figures_dir, settings["figure_format"])
    clips, rate = data.clips, views.sample_rate
    drawings = {
        "preprocessing": lambda: fig.preprocessing_figure(views.example),
        "spectrogram": lambda: fig.spectrogram_figure(views.example),
        "durations": lambda: fig.durations_figure(clips, labels_of(clips, labels)),
        "confusion": lambda: fig.confusion_figure(runs, labels),
        "per_class_f1": lambda: fig.per_class_f1_figure(runs, labels),
        "training_curves": lambda: fig.training_curves_figure(runs),
        "filterbank": lambda: fig.filterbank_figure(views.filterbanks, rate),
        "learned_filters": lambda: fig.learned_filters_figure(views.filter_views, rate),
        "contrasts": lambda: fig.contrasts_figure(comparisons.contrasts),
        "data_curves": lambda: fig.data_curves_figure(data.curves),
        "pretraining": lambda: fig.pretraining_figure(encoders),
    }
    return {
        name: fig.save_figure(draw(), files[name], settings["figure_format"], settings["dpi"])
        for name, draw in drawings.items()
    }


def results_context(runs: list[ModelRun], comparisons: Comparisons, labels: list[str]) -> dict:
    """The page's results: summary, ranking, models, metrics, statistics and errors."""
    all_wrong, only_one = error_tables(runs)
    run_columns, run_rows = run_table(runs)
    return {
        "summary": summary_sentence(runs),
        "comparison_sentences": lead_sentences(comparisons, ranked(runs)[0].name),
        "lead_from_contrasts": bool(comparisons.contrasts),
        "gap": gap_view(comparisons),
        "runs_sentence": runs_sentence(runs),
        "first_run_note": first_run_note(runs),
        "several_runs": any(r.n_runs > 1 for r in runs),
        "chance": chance_sentence(len(labels)),
        "ran": [what_was_run(run) for run in runs],
        "ranking": [
            {"name": r.name, "type": r.metrics.get("type"), "accuracy": percent(r.accuracy)}
            for r in ranked(runs)
        ],
        "raw_models": raw_models(runs),
        "models": [model_view(run) for run in runs],
        "metric_rows": results_rows(runs),
        "label_checks": label_check_table(runs),
        "run_columns": run_columns,
        "run_rows": run_rows,
        "summed_words": summed_words(runs),
        "statistics": statistics_view(comparisons, len(runs)),
        "model_names": [r.name for r in runs],
        "all_wrong": all_wrong,
        "only_one": only_one,
        "only_one_counts": [(r.name, sum(row[0] == r.name for row in only_one.rows)) for r in runs]
        if only_one is not None
        else [],
    }


def data_context(
    config: dict, runs: list[ModelRun], labels: list[str], data: RunData, example: ExampleClip
) -> dict:
    """The page's data: labels, clips, split, exclusions, the example clip, references."""
    clips, excluded, split = data.clips, data.excluded, data.split
    return {
        "labels": labels_of(clips, labels),
        "n_subset": len(data.subset),
        "n_clips": len(clips),
        "split_counts": frame_table(data.counts),
        "durations": duration_table(clips, labels_of(clips, labels)),
        "total_original": duration(float(clips["original_seconds"].sum())),
        "total_trimmed": duration(float(clips["trimmed_seconds"].sum())),
        "n_excluded": len(excluded),
        "excluded_reasons": excluded_reasons(excluded),
        "excluded_list": excluded_list(excluded),
        "example": example,
        "example_seconds": {
            "original": None
            if example.original is None
            else number(example.original.size / example.original_rate, 2),
            "trimmed": number(example.trimmed.size / example.sample_rate, 2),
            "clip": number(example.clip_samples / example.sample_rate, 2),
        },
        "references": reference_view(config, runs, len(labels), len(excluded), len(data.subset)),
        "group_split": group_view(split, group_column(config)),
        "copies": copies_view(clips, excluded, split),
        "label_check_words": label_check_sentence(
            split, str((config.get("split") or {}).get("test_on", "all"))
        ),
        "curve_fractions": sorted(set(data.curves["fraction"])) if not data.curves.empty else [],
    }


def provenance_context(
    config: dict,
    runs: list[ModelRun],
    benchmark_tsvs: list[str | os.PathLike],
    generated_at: dt.datetime | None,
) -> dict:
    """How the page came to be: when, the config, versions, devices, commit, timings."""
    bench, bench_total = benchmark_table(benchmark_tsvs)
    when = generated_at or dt.datetime.now().astimezone()
    return {
        "when": when.strftime("%Y-%m-%d %H:%M %Z").strip(),
        "config_yaml": yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
        "versions": package_versions(),
        "devices": sorted(
            {str(r.metrics.get(key)) for r in runs for key in ("device", "eval_device")} - {"None"}
        ),
        "commit": git_commit(Path(__file__).parent),
        "benchmarks": bench,
        "bench_total": duration(bench_total) if bench.rows else None,
    }


def write_page(out_html: str | os.PathLike, context: dict) -> None:
    """Render the page, make sure it fetches nothing from outside, and write it."""
    html = defang_urls(render(context))
    problems = external_references(html)
    if problems:
        raise RuntimeError(
            f"{out_html}: the report would fetch from outside the file ({problems[:5]}); "
            "this is a bug in audioclf/report"
        )
    write_text(out_html, html)


def model_encoders(runs: list[ModelRun], encoders: dict[str, dict]) -> dict[str, dict]:
    """model name -> the weights of the pretrained encoder it started from (its
    `pretrained: autoencoder:<name>`), for the models whose encoder file the report has."""
    found = {}
    for run in runs:
        pretrained = str((run.metrics.get("settings") or {}).get("pretrained"))
        name = pretrained.removeprefix("autoencoder:")
        if pretrained.startswith("autoencoder:") and name in encoders:
            found[run.name] = encoders[name]["state_dict"]
    return found


def group_column(config: dict) -> str | None:
    """The CSV column the config maps as dataset.columns.group, if any."""
    return ((config.get("dataset") or {}).get("columns") or {}).get("group")


def labels_of(clips, model_labels: list[str]) -> list[str]:
    """The model's class order, then any label in the data that no model was tested on."""
    extra = sorted(set(clips["label"]) - set(model_labels))
    return [label for label in model_labels if label in set(clips["label"])] + extra


def on_device(device, precision=None, deterministic=None) -> str:
    """ "cpu, bf16 autocast, deterministic": where a run computed and how (a run that
    recorded only its device: just the device)."""
    words = [str(device)] + [str(precision)] * (precision is not None)
    if deterministic is not None:
        words.append("deterministic" if deterministic else "not deterministic (autotuned)")
    return ", ".join(words)


def model_view(run: ModelRun) -> dict:
    """One model's facts for the Models section, formatted."""
    m = run.metrics
    model_type = m.get("type")
    first = history_words([run])
    settings = [
        ("type", f"{model_type} ({type_words(model_type)})"),
        ("parameters", integer(m.get("n_params"))),
        ("epochs", str(m.get("epochs"))),
        (f"optimizer steps ({first})", integer(m.get("optimizer_steps"))),
        ("learning rate", str(m.get("lr"))),
        ("batch size", str(m.get("batch_size"))),
        ("weight decay", str(m.get("weight_decay"))),
        ("runs", integer(run.n_runs)),
        ("seeds" if len(run.seeds) > 1 else "seed", listed(run.seeds)),
    ]
    if run.folds:
        settings.append(("cross-validation folds", listed(run.folds)))
    if augments_waveform(run):
        settings.append(("augmentation", augment_words(m.get("settings") or {})))
    per_run = " per run (mean)" if run.n_runs > 1 else ""
    settings += [
        (
            "trained on",
            on_device(m.get("device"), m.get("train_precision"), m.get("deterministic")),
        ),
        ("evaluated on", on_device(m.get("eval_device", m.get("device")), m.get("eval_precision"))),
        ("initial weights", weights_words(m)),
    ]
    weights = (
        published((m.get("settings") or {}).get("pretrained")) if m.get("pretrained") else None
    )
    if weights is not None:
        settings.append(("pretrained weights", f"{weights.what}: {weights.citation}"))
    settings += [
        ("test windows", windows_words(m)),
        ("training time", duration(m.get("train_seconds")) + per_run),
        (f"epochs run ({first})", integer(len(run.history))),
        (f"model file ({first})", file_size(run.model_bytes)),
    ]
    return {
        "name": run.name,
        "facts": settings,
        "model_settings": yaml.safe_dump(m.get("settings") or {}, sort_keys=False).strip(),
        "architecture": str(m.get("architecture") or "not recorded"),
    }


def raw_models(runs: list[ModelRun]) -> list[dict]:
    """The models that read the waveform itself, with their training augmentation in words."""
    return [
        {
            "name": r.name,
            "augment": augment_words(r.metrics.get("settings") or {})
            if augments_waveform(r)
            else None,
        }
        for r in runs
        if reads_waveform(r)
    ]


def summed_words(runs: list[ModelRun]) -> str:
    """How the confusion matrices add up runs: ', summed over the 3 runs of each model'."""
    counts = {r.n_runs for r in runs}
    if counts == {1}:
        return ""
    if len(counts) == 1:
        whose = "of each model" if len(runs) > 1 else "of the model"
        return f", summed over the {counts.pop()} runs {whose}"
    each = ", ".join(f"{r.name}: {r.n_runs}" for r in runs)
    return f", summed over each model's runs ({each})"


def pool_source_words(pool: dict) -> str:
    """Where a pretraining pool came from, and what it left out."""
    source = pool["source"]
    if source == "train":
        return "the train split of the first run (never its valid or test clips)"
    if source == "folder":
        words = f"the audio files under {', '.join(pool.get('folders', []))}"
    else:
        labels = pool.get("labels", [])
        words = (
            f"the dataset's clips of {len(labels)} label(s) not selected "
            f"({', '.join(labels[:8])}{', ...' if len(labels) > 8 else ''}; at most "
            f"{pool.get('max_clips')} clips)"
        )
    excluded = pool.get("excluded", 0)
    if excluded:
        same = pool.get("excluded_as_dataset_clips", 0)
        words += (
            f"; {excluded} file(s) excluded ({same} the same audio as a dataset clip), "
            f"listed in {pool.get('excluded_csv')}"
        )
    return words


def pretraining_words(name: str, encoder: dict, runs: list) -> str:
    """One pretraining config in a sentence: encoder, loss, pool and its size, epochs, loss
    before and after, and the models that use it."""
    s, pool, history = encoder["settings"], encoder["pool"], encoder["history"]
    users = [
        r.name for r in runs
        if (r.metrics.get("settings") or {}).get("pretrained") == f"autoencoder:{name}"
    ]  # fmt: skip
    return (
        f"{name}: the first layers of a {encoder['encoder_type']} model trained as an "
        f"autoencoder's encoder ({s['loss']} loss) on {pool_source_words(pool)}, labels "
        f"ignored: {pool['n_clips']} clips, {duration(pool['seconds'])}, "
        f"random crops of {s['crop_seconds']} s, {len(history)} epochs; loss "
        f"{number(history[0]['loss'], 3)} at the first epoch, {number(history[-1]['loss'], 3)} "
        f"at the last. Used by {', '.join(users) or 'no model'}."
    )


def gap_view(comparisons: Comparisons) -> dict:
    """What explains the gap: one sentence and its numbers per measured contrast, with its
    factor and what else differs; what the intervals cover; the contrasts that measure
    nothing here, and those that could not be run."""
    return {
        "contrasts": [
            {
                "name": c["name"],
                "question": c["question"],
                "factor": c["factor"] or "none named",
                "sentence": c["sentence"],
                "difference": c["difference"],
                "low": c["low"],
                "high": c["high"],
                "n_seeds": c["n_seeds"],
                "p": p_range(c),
                "p_adjusted": c["p_adjusted"],
                "also_differs": differences_text(c["also_differs"]),
            }
            for c in comparisons.contrasts
        ],
        "n_measured": len(comparisons.contrasts),
        "scope": ci_scope(comparisons),
        "unmeasured": [
            {
                "name": c["name"],
                "factor": c["factor"],
                "pair": f"{c['model_a']} vs {c['model_b']}",
                "reason": c["reason"],
                "also_differs": differences_text(c["also_differs"]),
            }
            for c in comparisons.unmeasured
        ],
        "skipped": [
            f"{s['name']} ({s['a']} vs {s['b']}): {s['reason']}" for s in comparisons.skipped
        ],
    }


def statistics_view(comparisons: Comparisons, n_models: int) -> dict:
    """The Statistics part: its columns and rows, or why there are none."""
    if n_models == 1:
        reason = "There is only one model, so nothing to compare."
    else:
        reason = "The comparison file lists no pair of models."
    if not comparisons.pairs:
        return {"rows": [], "reason": reason}
    return {
        "columns": STATISTICS_FIELDS,
        "numeric": NUMERIC_FIELDS,
        "rows": statistics_rows(comparisons),
        "n_seeds": comparisons.n_seeds,
        "n_clips": integer(comparisons.pairs[0]["n_clips"]),
        "shared": all(p["shared_test_clips"] for p in comparisons.pairs),
    }


def render(context: dict) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("report.html.j2").render(**context)


def model_paths(names: list[str], **files: list[str]) -> dict[str, dict]:
    """{name: {"metrics": ..., ...}} from Snakemake's per-model input lists (same order)."""
    for kind, paths in files.items():
        if len(paths) != len(names):
            raise ValueError(
                f"{len(paths)} {kind} file(s) for {len(names)} model(s) {list(names)}; "
                "the report rule must list one per model, in params.model_names order"
            )
    return {name: {kind: paths[i] for kind, paths in files.items()} for i, name in enumerate(names)}


def per_model(paths: list[str], n_models: int) -> list[list[str]]:
    """Snakemake's flat list of every run's file (each model's runs together, models in
    order) as one list per model."""
    paths = list(paths)
    if n_models < 1 or len(paths) % n_models:
        raise ValueError(
            f"{len(paths)} per-run file(s) for {n_models} model(s); the report rule must list "
            "every run of every model, each model's runs together"
        )
    size = len(paths) // n_models
    return [paths[i * size : (i + 1) * size] for i in range(n_models)]


def figures_dir_of(figures: str | os.PathLike | list) -> Path:
    """The figures folder: given as is, or the one folder holding all declared figure files."""
    if isinstance(figures, str | os.PathLike):
        return Path(figures)
    folders = {Path(p).parent for p in figures}
    if len(folders) != 1:
        raise ValueError(
            f"the report's figure outputs lie in {len(folders)} folders "
            f"({sorted(map(str, folders))}); declare them all in one folder"
        )
    return folders.pop()
