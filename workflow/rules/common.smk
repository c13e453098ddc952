# Config validation and the small get_* helpers the rules call. Nothing else.
import sys
from pathlib import Path

# The package sits beside the scripts; the rules' own envs find it through `script:`,
# this makes it importable here too when snakemake itself runs outside the venv.
sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))

from audioclf.config import validate_config  # noqa: E402
from audioclf.report import figure_files  # noqa: E402

validate_config(config, workflow.source_path("../schemas/config.schema.yaml"))

DATASET = config["dataset"]
KIND = DATASET["kind"]
DATA_ROOTS = {"demo": "resources/demo", "fsdkaggle2018": "resources/FSDKaggle2018"}
DEMO_LABELS = ["Bark", "Cough", "Knock", "Laughter", "Trumpet"]
MODELS = list(config["models"])


wildcard_constraints:
    model="|".join(MODELS),


def get_meta_input():
    """What select_subset reads: the dataset's metadata (folder: the user's CSV, if any)."""
    if KIND == "demo":
        return DATA_ROOTS["demo"]
    if KIND == "fsdkaggle2018":
        return f"{DATA_ROOTS['fsdkaggle2018']}/FSDKaggle2018.meta"
    return [DATASET["metadata"]] if DATASET.get("metadata") else []


def get_audio_input():
    """What preprocess_audio waits for besides the subset: the audio being on disk."""
    if KIND == "demo":
        return DATA_ROOTS["demo"]
    if KIND == "fsdkaggle2018":
        return f"{DATA_ROOTS['fsdkaggle2018']}/clips_manifest.csv"
    return []


def get_folder_settings():
    if KIND != "folder":
        return None
    return {key: DATASET.get(key) for key in ("path", "metadata", "label_regex")}


def get_demo_labels():
    labels = config["labels"]
    return DEMO_LABELS if labels == "all" else labels


def get_model_settings(wildcards):
    return config["models"][wildcards.model]


def get_eval_outputs(name):
    return expand(f"results/eval/{{model}}/{name}", model=MODELS)


def get_model_outputs(name):
    return expand(f"results/models/{{model}}/{name}", model=MODELS)


def get_benchmark_inputs():
    """The benchmark files of every rule that ran before the report (wall time per rule)."""
    data = {
        "demo": ["make_demo_dataset/demo"],
        "fsdkaggle2018": [
            "download_metadata/FSDKaggle2018",
            "download_audio/FSDKaggle2018",
        ],
    }.get(KIND, [])
    data += [
        "select_subset/subset",
        "preprocess_audio/preprocess",
        "split_dataset/split",
    ]
    per_model = [
        f"{rule}/{model}"
        for rule in ("train_model", "evaluate_model")
        for model in MODELS
    ]
    return [f"results/benchmarks/{name}.tsv" for name in data + per_model]


def get_report_figures():
    """Every figure file of the report, each marked for `snakemake --report`."""
    files = figure_files("results/report", config["report"]["figure_format"]).items()
    return [mark_figure(path, f"../report/{name}.rst") for name, path in files]


def mark_figure(path, caption):
    return report(path, caption=caption, category="Figures")
