# Config validation (the workflow's defaults beneath the user's config), the package first on
# the path, and the small get_* helpers the rules call. Nothing else.
import os
import re
import sys
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

from snakemake.exceptions import WorkflowError


def package_folder():
    """workflow/scripts, which holds the package, found from this file's own folder (a
    clone, or the folder a module statement names), never from the working directory."""
    rules_folder = workflow.current_basedir.get_path_or_uri(secret_free=True)
    folder = Path(rules_folder).parent / "scripts"
    if not (folder / "audioclf" / "__init__.py").is_file():
        raise WorkflowError(
            f"{rules_folder}: this workflow's Python package (workflow/scripts/audioclf) "
            "is not on disk there; clone the repository at that tag and give the module "
            "statement the clone's workflow/Snakefile (README: Use as a module)"
        )
    return str(folder)


def put_first_on_path(folder):
    """`folder` first on sys.path here and on PYTHONPATH for the jobs (their scripts, and
    on a cluster their own snakemake), so the package is this workflow's own copy even
    when another one is installed (an editable install of another clone, say)."""
    sys.path.insert(0, folder)
    before = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    others = [path for path in before if path and path != folder]
    os.environ.update(PYTHONPATH=os.pathsep.join([folder, *others]))


put_first_on_path(package_folder())

from audioclf.config import apply_defaults, validate_config  # noqa: E402
from audioclf.datasets.benchmarks import official_folds  # noqa: E402
from audioclf.datasets.files import folder_listing  # noqa: E402
from audioclf.datasets.kinds import DEMO_LABELS, dataset_kind  # noqa: E402
from audioclf.datasets.settings import catalog_settings  # noqa: E402
from audioclf.learn.published import PUBLISHED_WEIGHTS, weights_to_load  # noqa: E402
from audioclf.pretrain import DEFAULT_POOL  # noqa: E402
from audioclf.report import figure_files  # noqa: E402
from audioclf.runs import (  # noqa: E402
    RUN_PATTERN,
    SPLIT_PATTERN,
    curve_ids,
    folds_in,
    parse_run,
    parse_split,
    run_ids,
    split_id,
)

# the workflow's own config/config.yaml beneath the user's config files, so that a partial
# one works also in a module, where Snakemake reads no configfile of the workflow's
apply_defaults(config, workflow.source_path("../../config/config.yaml"))
# what `--config` set is converted to the schema's types first (Snakemake reads nested
# values as strings)
validate_config(
    config,
    workflow.source_path("../schemas/config.schema.yaml"),
    cli=workflow.config_settings.config,
)

DATASET = config["dataset"]
KIND = DATASET["kind"]
# the kind's rules, catalog and protocol (audioclf/datasets/kinds.py)
DATASET_KIND = dataset_kind(KIND)
MODELS = list(config["models"])
SPLIT = config["split"]
# the official split tests on the dataset's own test clips, so the subset must hold them
INCLUDE_TEST_CLIPS = config["include_test_clips"] or SPLIT["method"] == "official"
FOLDS = (
    folds_in(
        DATASET.get("metadata"),
        SPLIT.get("test_folds"),
        fold_column=(DATASET.get("columns") or {}).get("fold") or "fold",
        declared=official_folds(DATASET),
    )
    if SPLIT["method"] == "folds"
    else None
)
RUNS = run_ids(config["seeds"], FOLDS)
# the data-size curve: every run again on nested shares of its train split
CURVE_RUNS = curve_ids(RUNS, config["train_fractions"])
SPLITS = list(
    dict.fromkeys(
        split_id(r, SPLIT["vary_with_seed"], SPLIT["seed"]) for r in RUNS + CURVE_RUNS
    )
)


wildcard_constraints:
    model="|".join(MODELS),
    run=RUN_PATTERN,
    split=SPLIT_PATTERN,
    name="|".join(config["pretrain"]) or "(?!)",
    scope=f"{SPLIT_PATTERN}|pool",
    weights_file="|".join(re.escape(w.file) for w in PUBLISHED_WEIGHTS.values()),


def path_of(pattern, **wildcards):
    """One file of a rule's output or benchmark `pattern` (`rules.<name>.output.<key>`),
    the given wildcards filled in and any other left as a wildcard."""
    (path,) = expand(pattern, **wildcards, allow_missing=True)
    return path


def get_meta_input():
    """What select_subset reads: the dataset's metadata (folder: the user's CSV, if any)."""
    if DATASET_KIND.meta_rule:
        return getattr(rules, DATASET_KIND.meta_rule).output[0]
    return [DATASET["metadata"]] if DATASET.get("metadata") else []


def get_audio_input():
    """What preprocess_audio waits for besides the subset: the audio being on disk."""
    if DATASET_KIND.audio_rule:
        return getattr(rules, DATASET_KIND.audio_rule).output[0]
    return []


def get_catalog_settings():
    """select_subset's keywords for the kind's catalog: only the settings that kind reads,
    an optional one left out while it is unset, so a setting a kind ignores never reruns
    select_subset."""
    return catalog_settings(DATASET)


def get_http_download_options():
    """dataset.download's options for a plain HTTP download (ESC-50's archive, published
    weights): retries only, as the others concern FSDKaggle2018's range reads, so that
    changing one of those reruns neither download."""
    return {k: v for k, v in DATASET.get("download", {}).items() if k == "retries"}


def get_demo_labels():
    labels = config["labels"]
    return list(DEMO_LABELS) if labels == "all" else labels


def get_model_settings(wildcards):
    return config["models"][wildcards.model]


def get_pretrain_settings(wildcards):
    return config["pretrain"][wildcards.name]


def pool_of(name):
    return config["pretrain"][name].get("pool", DEFAULT_POOL)


def encoder_file(name, run):
    """encoder.pt of pretraining config `name` for `run`: per split for the train pool
    (which never holds that split's valid or test clips), once for a pool of its own."""
    if pool_of(name) == "train":
        scope = split_id(run, SPLIT["vary_with_seed"], SPLIT["seed"])
    else:
        scope = "pool"
    return path_of(rules.pretrain_frontend.output.encoder, name=name, scope=scope)


def autoencoder_name(settings):
    """The pretraining config a model's `pretrained: autoencoder:<name>` names, or None."""
    pretrained = settings.get("pretrained")
    if isinstance(pretrained, str) and pretrained.startswith("autoencoder:"):
        return pretrained.split(":", 1)[1]
    return None


def get_encoder_input(wildcards):
    """{"encoder": its encoder.pt} for a model with `pretrained: autoencoder:<name>`."""
    name = autoencoder_name(config["models"][wildcards.model])
    return {"encoder": encoder_file(name, wildcards.run)} if name else {}


def get_weights_input(wildcards):
    """{"weights": its file in resources/weights/} for a model whose `pretrained` names
    published weights (audioclf/learn/published.py) that fit its type, which
    download_weights fetches, or finds already there (offline: put the file there
    yourself)."""
    weights = weights_to_load(config["models"][wildcards.model])
    if weights is None:
        return {}
    return {
        "weights": path_of(
            rules.download_weights.output.weights, weights_file=weights.file
        )
    }


def get_weights_name(wildcards):
    """The `pretrained:` name of the published weights file download_weights makes."""
    return next(
        w.name for w in PUBLISHED_WEIGHTS.values() if w.file == wildcards.weights_file
    )


def get_report_encoders():
    """(name, encoder.pt of the first run) of each pretraining config a model uses."""
    used = [autoencoder_name(s) for s in config["models"].values()]
    return [(n, encoder_file(n, RUNS[0])) for n in dict.fromkeys(used) if n]


def get_pretrain_input(wildcards):
    """The train pool: the dataset's cache and the split; a pool of its own: its cache and
    the table of the files it excluded."""
    if pool_of(wildcards.name) == "train":
        return {
            "cache": rules.preprocess_audio.output.cache,
            "split": path_of(rules.split_dataset.output.split, split=wildcards.scope),
        }
    pool = rules.cache_pool.output
    return {
        "cache": path_of(pool.cache, name=wildcards.name),
        "excluded": path_of(pool.excluded, name=wildcards.name),
    }


def get_pool_meta_input(wildcards):
    """What select_pool reads: the dataset's metadata for other_labels."""
    return get_meta_input() if pool_of(wildcards.name) == "other_labels" else []


def get_pool_selection(wildcards):
    """The settings that choose a pool's files, and nothing else, so that a change of
    epochs or lr never selects, fetches or decodes the pool again. A folder pool's listing
    (the path, size and mtime of each entry walk_audio finds there, the audio files and
    those it names with a reason, as a digest) is one of them: adding, removing or editing a file anywhere
    under its folders selects it again."""
    settings = config["pretrain"][wildcards.name]
    pool = pool_of(wildcards.name)
    if pool == "folder":
        return {"pool": pool, "folders": settings["folders"],
                "listing": folder_listing(settings["folders"])}  # fmt: skip
    return {
        "pool": pool,
        "max_clips": settings.get("max_clips"),
        "labels": config["labels"],
    }


def get_pool_audio_input(wildcards):
    """What cache_pool waits for besides the pool table: its audio on disk."""
    if pool_of(wildcards.name) != "other_labels":
        return []
    if DATASET_KIND.pool_rule:
        manifest = getattr(rules, DATASET_KIND.pool_rule).output[0]
        return path_of(manifest, name=wildcards.name)
    return get_audio_input()


def get_split_file(wildcards):
    """The split a run trains and tests on: fixed, one per seed, or one per fold."""
    split = split_id(wildcards.run, SPLIT["vary_with_seed"], SPLIT["seed"])
    return path_of(rules.split_dataset.output.split, split=split)


def get_first_split(key):
    """split_dataset's output `key` (split, counts) for the first run (the one the report
    shows in detail)."""
    split = split_id(RUNS[0], SPLIT["vary_with_seed"], SPLIT["seed"])
    return path_of(rules.split_dataset.output[key], split=split)


def get_fold_valid_seed(wildcards):
    """The seed that draws a fold split's valid clips (a seed split's own seed is its id)."""
    fold, _ = parse_split(wildcards.split)
    return SPLIT["seed"] if fold is not None else None


def get_run_seed(wildcards):
    return parse_run(wildcards.run)[1]


def get_run_fold(wildcards):
    return parse_run(wildcards.run)[0]


def get_run_files(key, model=None):
    """evaluate_model's output `key` of every run of one model (or of the {model}
    wildcard's), in run order."""

    def files(wildcards):
        which = model or wildcards.model
        pattern = rules.evaluate_model.output[key]
        return [path_of(pattern, model=which, run=run) for run in RUNS]

    return files


def get_curve_runs():
    """(model, run) of every run the data-size curve reads: the full runs and CURVE_RUNS."""
    return [(model, run) for model in MODELS for run in RUNS + CURVE_RUNS]


def get_curve_files():
    """The metrics.json of every run the data-size curve reads, in get_curve_runs' order."""
    pattern = rules.evaluate_model.output.metrics
    return [path_of(pattern, model=model, run=run) for model, run in get_curve_runs()]


def get_eval_outputs(key):
    return expand(rules.summarize_model.output[key], model=MODELS)


def get_first_run_outputs(key):
    return expand(rules.train_model.output[key], model=MODELS, run=RUNS[0])


def get_every_run_outputs(key):
    """train_model's output `key` of every run of every model: each model's runs in run
    order, one model after another in MODELS order."""
    pattern = rules.train_model.output[key]
    return [path_of(pattern, model=model, run=run) for model in MODELS for run in RUNS]


def get_first_run_model():
    """The {model} wildcard's model.pt of the first run: the one predict_audio uses."""
    return get_first_run_file("model")


def get_first_run_file(key):
    """The {model} wildcard's train_model output `key` of the first run."""
    return path_of(rules.train_model.output[key], run=RUNS[0])


def get_run_trained(key):
    """train_model's output `key` of every run of the {model} wildcard's model, in run
    order."""

    def files(wildcards):
        return expand(rules.train_model.output[key], model=wildcards.model, run=RUNS)

    return files


def get_data_source():
    """The dataset in words, for the model cards: its name, origin and licence."""
    return asdict(DATASET_KIND.about(DATASET))


def get_comparison_inputs():
    return {
        f"{kind}_{model}": get_run_files(key, model)(None)
        for model in MODELS
        for kind, key in (("runs", "metrics"), ("predictions", "predictions"))
    }


def get_benchmark_inputs():
    """The benchmark files of every rule that ran before the report (wall time per rule),
    found from the files each job makes, in the order the jobs run."""
    made = [get_meta_input(), get_audio_input()]  # the dataset's download, if any
    made += [rules.select_subset.output.subset, rules.preprocess_audio.output.cache]
    made += [path_of(rules.split_dataset.output.split, split=split) for split in SPLITS]
    run_outputs = (rules.train_model.output.model, rules.evaluate_model.output.metrics)
    made += [
        path_of(output, model=model, run=run)
        for output in run_outputs
        for model in MODELS
        for run in RUNS + CURVE_RUNS
    ]
    made += get_pretrain_outputs()
    made += get_eval_outputs("metrics")
    made += [rules.compare_models.output.comparison, rules.collect_curves.output.curves]
    return benchmarks_of(made)


def get_pretrain_outputs():
    """A file of every pretraining job the models need: an encoder per split for the
    train pool; for a pool of its own: its table, cache, download (if any), encoder."""
    made = []
    for name in dict.fromkeys(autoencoder_name(s) for s in config["models"].values()):
        if name is None:
            continue
        if pool_of(name) == "train":
            encoder = rules.pretrain_frontend.output.encoder
            made += [path_of(encoder, name=name, scope=split) for split in SPLITS]
            continue
        made += [path_of(rules.select_pool.output.subset, name=name)]
        made += [path_of(rules.cache_pool.output.cache, name=name)]
        made += [get_pool_audio_input(SimpleNamespace(name=name))]
        made += [encoder_file(name, RUNS[0])]
    return made


def benchmarks_of(made):
    """The benchmark file of each job that makes one of `made` (paths, or lists of them),
    each job once: its rule's own `benchmark:` with the job's wildcards. A path that no
    rule makes (the user's metadata) has none."""
    found = []
    for path in flatten(made):
        maker = next((r for r in workflow.rules if r.is_producer(path)), None)
        if maker is not None:
            benchmark = getattr(rules, maker.name).benchmark
            found.append(path_of(benchmark, **maker.get_wildcards(path)))
    return list(dict.fromkeys(found))


def flatten(items):
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from flatten(item)
        else:
            yield item


def get_report_figures():
    """Every figure file of the report, each marked for `snakemake --report`."""
    files = figure_files("results/report", config["report"]["figure_format"]).items()
    return [mark_figure(path, f"../report/{name}.rst") for name, path in files]


def mark_figure(path, caption):
    return report(path, caption=caption, category="Figures")


def get_predict_folder(wildcards):
    folder = config["predict"]["folder"]
    if not folder:
        raise ValueError(
            "the predict target needs predict.folder: set it to a folder of audio files, "
            "e.g. --config predict='{folder: my_recordings}' or in your config file"
        )
    return folder


def get_predict_listing(wildcards):
    """predict.folder's listing (each entry's path, size and mtime) as a digest: adding,
    removing or editing a file there reruns predict_audio, as a folder pool's listing
    reruns its pool."""
    return folder_listing([get_predict_folder(wildcards)], others=True)
