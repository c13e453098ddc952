"""The model card: MODEL_CARD.md of one configured model, written from the facts the report
reads (its metrics.json over runs, the first run's model.pt, every run's history, the
first split's counts), for someone who takes the model out of the workflow."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import yaml

from audioclf.contracts import SPLIT_COUNTS
from audioclf.datasets.kinds import DataSource
from audioclf.evaluate.stats import mean_interval
from audioclf.io import write_text
from audioclf.learn.checkpoint import load_trained
from audioclf.learn.data import WholeClips
from audioclf.preprocess.audio import SILENT_PEAK_DBFS, ClipSettings
from audioclf.report.build import model_view
from audioclf.report.formatting import hertz, integer, number, percent
from audioclf.report.inputs import ModelRun, read_model_run
from audioclf.report.summary import chance_sentence, listed, runs_words, type_words

# (metrics.json key, the card's name for it): the test scores the card reports, in order
CARD_METRICS = (
    ("accuracy", "accuracy"),
    ("balanced_accuracy", "balanced accuracy"),
    ("macro_f1", "macro F1"),
)
LEVEL = 0.95
FRONT_MATTER = "---"


@dataclass(frozen=True)
class CardFacts:
    """What one model's card says, read from the workflow's files."""

    run: ModelRun
    checkpoint: dict  # the first run's model.pt, without its weights
    crop_samples: int  # the crop it was trained on
    reading: WholeClips | None  # how it reads whole clips; None: it scores crops
    counts: pd.DataFrame  # the first run's split: clips per label and part
    data: DataSource
    model_files: list[str]  # every run's model.pt, in run order
    onnx_file: str  # the first run's model.onnx, as export_model writes it
    split_varies: bool  # split.vary_with_seed: each seed splits the data its own way

    @property
    def classes(self) -> list[str]:
        return list(self.checkpoint["classes"])

    @property
    def rate(self) -> int:
        return int(self.checkpoint["sample_rate"])


def write_model_card(
    out_md: str | os.PathLike,
    name: str,
    paths: dict,
    *,
    split_counts_csv: str | os.PathLike,
    data_source: dict,
    model_files: list[str],
    onnx_file: str,
    split_varies: bool,
) -> None:
    """Write `out_md` for model `name` from its report inputs `paths` (metrics,
    predictions, history, model: as make_report reads them), the first split's counts,
    the dataset in words (DataSource's fields), every run's model.pt path and the first
    run's model.onnx path."""
    trained = load_trained(paths["model"], "cpu")
    facts = CardFacts(
        run=read_model_run(name, paths),
        checkpoint={k: v for k, v in trained.checkpoint.items() if k != "state_dict"},
        crop_samples=trained.clip_samples,
        reading=trained.reading,
        counts=SPLIT_COUNTS.read(split_counts_csv),
        data=DataSource(**data_source),
        model_files=[str(p) for p in model_files],
        onnx_file=str(onnx_file),
        split_varies=bool(split_varies),
    )
    write_text(out_md, card_text(facts))


def card_text(facts: CardFacts) -> str:
    """The whole card: YAML front matter (the Hugging Face Hub's model-index), then Markdown."""
    sections = [
        title_section(facts),
        classes_section(facts),
        preprocessing_section(facts),
        data_section(facts),
        results_section(facts),
        parameters_section(facts),
        use_section(facts),
        running_section(facts),
    ]
    return front_matter(facts) + "\n" + "\n\n".join(sections) + "\n"


def front_matter(facts: CardFacts) -> str:
    """The Hub's card metadata: tags and model-index, whose metrics are metrics.json's
    means over runs, unrounded."""
    metrics = facts.run.metrics
    meta = {
        "pipeline_tag": "audio-classification",
        "tags": ["audio-classification", "audioclf", str(metrics.get("type")), "onnx"],
        "model-index": [
            {
                "name": facts.run.name,
                "results": [
                    {
                        "task": {"type": "audio-classification"},
                        "dataset": {"name": facts.data.name, "type": facts.data.name},
                        "metrics": [
                            {"type": key, "name": f"test {words}", "value": float(metrics[key])}
                            for key, words in CARD_METRICS
                        ],
                    }
                ],
            }
        ],
    }
    body = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return f"{FRONT_MATTER}\n{body}{FRONT_MATTER}\n"


def card_metrics(text: str) -> dict[str, float]:
    """{metrics.json key: value} from a card's front matter (its model-index)."""
    if not text.startswith(FRONT_MATTER + "\n"):
        raise ValueError("not a model card: it does not start with its YAML front matter")
    meta = yaml.safe_load(text.split(f"\n{FRONT_MATTER}\n", 1)[0][len(FRONT_MATTER) :])
    (result,) = meta["model-index"][0]["results"]
    return {m["type"]: float(m["value"]) for m in result["metrics"]}


def title_section(facts: CardFacts) -> str:
    run = facts.run
    return (
        f"# {run.name}: a sound classifier for {len(facts.classes)} labels of "
        f"{facts.data.name}\n\n"
        f"A {type_words(run.metrics.get('type'))} ({run.metrics.get('type')}), "
        f"{runs_words(run)}. Written by the audioclf workflow (rule write_model_card) from "
        "the same files as its report; rerun the workflow rather than edit it."
    )


def classes_section(facts: CardFacts) -> str:
    rows = "\n".join(f"| {i} | {label} |" for i, label in enumerate(facts.classes))
    return (
        "## Classes\n\n"
        f"{len(facts.classes)} classes, in the order of the model's outputs "
        "(the ONNX output's columns, `prob_<class>` in the predict command's CSV):\n\n"
        f"| output | class |\n|---|---|\n{rows}"
    )


def reading_words(facts: CardFacts) -> list[str]:
    """How the network reads a preprocessed clip: its crop and the window rule, or whole."""
    checkpoint, rate, whole = facts.checkpoint, facts.rate, facts.reading
    if whole is not None:
        return [
            f"Whole clips: the network reads each clip in one pass, up to its first "
            f"{integer(whole.max_samples)} samples ({number(whole.max_samples / rate, 1)} s); "
            f"a clip shorter than {integer(whole.min_samples)} samples (one STFT window) is "
            "repeated end to end up to that length. The ONNX file takes one clip at a time."
        ]
    crop = facts.crop_samples
    seconds = number(float(checkpoint["clip_seconds"]), 2)
    words = [
        f"Crop: the network reads windows of exactly {integer(crop)} samples ({seconds} s). "
        "A clip shorter than that is repeated end to end to fill one window, never padded "
        "with silence."
    ]
    rule = str(facts.run.metrics.get("eval_windows"))
    if rule == "centre":
        words.append(
            "Window rule (centre): a longer clip is scored by its one centred window, "
            "starting at (clip samples - window samples) // 2."
        )
    else:
        words.append(
            "Window rule (sliding): a longer clip is cut into windows that start every "
            f"{integer(crop)} samples, the last one moved back to end at the clip's end "
            "(so it may overlap the one before); the clip's probabilities are the mean of "
            "its windows' probabilities."
        )
    return words


def preprocessing(checkpoint: dict) -> dict:
    """model.pt's preprocessing settings, each one it lacks at the workflow's default (as
    the predict command reads them)."""
    return asdict(ClipSettings.from_record(checkpoint.get("preprocess") or {}))


def preprocessing_section(facts: CardFacts) -> str:
    """What a caller must do to a recording before the network sees it, as the workflow did."""
    recorded = preprocessing(facts.checkpoint)
    mode = recorded["mode"]
    stretches = (
        "every stretch (at the start, the end and inside the clip)"
        if mode == "all"
        else "the leading and trailing stretches only"
    )
    steps = [
        "Mono: the channels are averaged.",
        f"Sample rate: resampled to {hertz(facts.rate)} ({facts.rate} samples per second); "
        "the network understands no other rate.",
        f"Silence removal (mode {mode}): {stretches} quieter than {recorded['top_db']:g} dB "
        f"below the clip's peak is dropped, keeping {recorded['pad_ms']:g} ms on each side "
        "of every louder stretch. A clip whose 16-bit samples peak under "
        f"{SILENT_PEAK_DBFS:g} dBFS after mixing to mono is silent and cannot be scored, nor "
        f"can one shorter than {recorded['min_ms']:g} ms.",
        f"Length: a file longer than {recorded['max_seconds']:g} s is "
        + (
            "read up to that point only."
            if recorded["too_long"] == "cut"
            else "not used (the workflow excludes it)."
        ),
        "Samples: float32 in [-1, 1] (the workflow stores them as 16-bit integers in between).",
        *reading_words(facts),
    ]
    listing = "\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1))
    return (
        "## Input and preprocessing\n\n"
        "What a caller must repeat, in this order (`audioclf-predict` does all of it, with "
        f"the settings recorded in the model file):\n\n{listing}"
    )


def data_section(facts: CardFacts) -> str:
    counts = facts.counts  # split_counts.csv: one row per label, then their total
    rows = "\n".join(
        f"| {r.label} | {int(r.train)} | {int(r.valid)} | {int(r.test)} | {int(r.total)} |"
        for r in counts.itertuples()
    )
    totals = {k: int(counts[k].iloc[-1]) for k in ("train", "valid", "test", "total")}
    first = facts.run.first_run
    split = f"seed {first.get('seed')}" + (
        f", fold {first.get('fold')}" if first.get("fold") is not None else ""
    )
    other = ""
    if facts.run.n_runs > 1 and (facts.run.folds or facts.split_varies):
        other = " The other runs split the same clips their own way (other folds or seeds)."
    return (
        "## Training data\n\n"
        f"- Source: {facts.data.origin}.\n"
        f"- Licence: {facts.data.licence}.\n"
        f"- Size: {totals['total']:,} clips of {len(counts) - 1} labels after preprocessing; the "
        f"first run ({split}) fitted the network on {totals['train']:,} train clips, watched "
        f"{totals['valid']:,} valid clips during training and was scored on "
        f"{totals['test']:,} test clips.{other}\n\n"
        f"| label | train | valid | test | total |\n|---|---|---|---|---|\n{rows}"
    )


def score_row(facts: CardFacts, key: str, words: str) -> str:
    """One test score: its mean, sd and t interval over runs, and each run's."""
    run = facts.run
    values = [r[key] for r in run.runs]
    interval = mean_interval(values, LEVEL)
    ci = (
        "— (one run)"
        if interval["low"] is None
        else f"{percent(max(0.0, interval['low']))} to {percent(min(1.0, interval['high']))}"
    )
    sd = number(100 * float((run.metrics.get("std") or {}).get(key) or 0.0), 1)
    each = ", ".join(percent(v) for v in values)
    return f"| {words} | {percent(run.metrics[key])} | {sd} | {ci} | {each} |"


def interval_words(facts: CardFacts) -> str:
    """What the interval over runs covers, and what it does not, for this design."""
    run, k = facts.run, facts.run.n_runs
    n_test = integer(run.metrics.get("n_test"))
    if k == 1:
        return (
            f"One run: the scores are one training run's on {n_test} test clips, with no "
            "interval; another seed could score differently."
        )
    head = (
        f"Scores are means over the {k} runs; sd is their standard deviation in points. The "
        f"{100 * LEVEL:g}% CI is a t interval over the {k} runs' scores ({k - 1} degrees of "
        "freedom): it covers how the score varies "
    )
    if run.folds:
        return head + (
            "from run to run, each run one seed on one fold's test clips: with the seed "
            "(initial weights, batch order, crops) and the fold. It treats the runs as "
            "independent, which runs sharing a fold's clips are not."
        )
    if facts.split_varies:
        return head + (
            "with the seed, which here also draws each run's own train, valid and test "
            "clips, so it includes the choice of test clips from this dataset; not how the "
            "model does on recordings from elsewhere."
        )
    return head + (
        "with the training seed alone (initial weights, batch order, crops), on the same "
        f"{n_test} test clips; not how it would vary on other clips of these sounds, so "
        "it is narrower than the uncertainty about the accuracy on new recordings."
    )


def results_section(facts: CardFacts) -> str:
    run = facts.run
    rows = "\n".join(score_row(facts, key, words) for key, words in CARD_METRICS)
    per_class = run.metrics["per_class"]
    class_rows = "\n".join(
        f"| {label} | {percent(c['precision'])} | {percent(c['recall'])} "
        f"| {percent(c['f1'])} | {int(c['support'])} |"
        for label, c in ((label, per_class[label]) for label in facts.classes)
    )
    mean = f"mean of {run.n_runs} runs" if run.n_runs > 1 else "one run"
    support = "summed over the runs" if run.n_runs > 1 else "the test clips"
    return (
        "## Test results\n\n"
        f"On {integer(run.metrics.get('n_test'))} held-out test clips of {facts.data.name}. "
        f"{chance_sentence(len(facts.classes))}\n\n"
        f"| metric | {mean} | sd (points) | {100 * LEVEL:g}% CI | per run |\n"
        f"|---|---|---|---|---|\n{rows}\n\n"
        f"{interval_words(facts)}\n\n"
        f"Per class (precision, recall and F1 the {mean}; support {support}):\n\n"
        f"| class | precision | recall | F1 | support |\n|---|---|---|---|---|\n{class_rows}"
    )


def parameters_section(facts: CardFacts) -> str:
    view = model_view(facts.run)
    rows = "\n".join(f"| {name} | {value} |" for name, value in view["facts"])
    return (
        "## Parameters\n\n"
        f"| setting | value |\n|---|---|\n{rows}\n\n"
        "Its settings as resolved for training (the workflow's `models` entry, with the "
        f"type's defaults):\n\n```yaml\n{view['model_settings']}\n```\n\n"
        f"The network:\n\n```text\n{view['architecture']}\n```"
    )


def use_section(facts: CardFacts) -> str:
    classes, data = facts.classes, facts.data
    limits = [
        f"Not for other sounds: the model has no 'none of these' class, so every input, "
        f"whatever it holds, gets one of its {len(classes)} labels.",
        "The confidence is the top class's softmax probability; it was not calibrated, and "
        "a high one does not mean the sound is one of the classes.",
        f"Tested only on held-out clips of {data.name}; recordings from other sources, "
        "microphones or places may score lower than the results above.",
    ]
    if "synthetic" in data.origin:
        limits.insert(
            0,
            "A demonstration of the workflow: trained on synthetic sounds, it labels no real "
            "recording meaningfully.",
        )
    items = "\n".join(f"- {limit}" for limit in limits)
    return (
        "## Intended use and limits\n\n"
        f"Labelling short recordings of single sounds as one of {len(classes)} labels of "
        f"{data.name} ({listed(classes)}), preprocessed as above.\n\n{items}"
    )


def onnx_windows_code(facts: CardFacts) -> str:
    """Python that cuts a preprocessed float32 clip into the network's input, by its rule."""
    whole = facts.reading
    if whole is not None:
        return (
            "def network_input(wave):  # one whole clip, [1, samples]\n"
            f"    wave = wave[:{whole.max_samples}]\n"
            f"    return np.resize(wave, max(len(wave), {whole.min_samples}))[None]"
        )
    crop = facts.crop_samples
    if str(facts.run.metrics.get("eval_windows")) == "centre":
        starts = "[max(0, (len(wave) - length) // 2)]"
    else:
        starts = (
            "list(range(0, len(wave) - length + 1, length))\n"
            "    if starts[-1] != len(wave) - length:\n"
            "        starts.append(len(wave) - length)"
        )
    return (
        f"def network_input(wave, length={crop}):  # windows, [n_windows, {crop}]\n"
        "    if len(wave) <= length:\n"
        "        return np.resize(wave, length)[None]  # repeated end to end\n"
        f"    starts = {starts}\n"
        "    return np.stack([wave[s : s + length] for s in starts])"
    )


def running_section(facts: CardFacts) -> str:
    """How to run the ONNX file with onnxruntime alone, and the predict command."""
    first, onnx = Path(facts.model_files[0]), facts.onnx_file
    runs = ", ".join(str(Path(p).parent.name) for p in facts.model_files)
    return (
        "## How to run it\n\n"
        f"Each run ({runs}) has its own files; the first run's are `{first}` (the workflow's "
        f"own format, read by audioclf) and `{onnx}` (written by `snakemake --cores 1 "
        "export`).\n\n"
        "### ONNX, with onnxruntime alone\n\n"
        "The ONNX file holds the whole network, its log-mel or filterbank front end included. "
        f"Input: float32 `[batch, samples]`, mono waveforms at {hertz(facts.rate)}, "
        "preprocessed as above. Output: float32 `[batch, classes]`, the probabilities of the "
        "classes in the order listed above. Its `metadata_props` hold, as JSON, the classes, "
        "the crop length, the preprocessing settings and the window rule.\n\n"
        "```python\nimport numpy as np\nimport onnxruntime as ort\nimport soundfile as sf\n\n"
        f"session = ort.InferenceSession({str(onnx)!r})\n"
        "print(session.get_modelmeta().custom_metadata_map)  # metadata_props\n"
        f"CLASSES = {facts.classes!r}\n\n\n{onnx_windows_code(facts)}\n\n\n"
        'wave, rate = sf.read("clip.wav", dtype="float32", always_2d=True)\n'
        f"wave = wave.mean(axis=1)  # mono; resample to {facts.rate} Hz and remove silence first\n"
        "name = session.get_inputs()[0].name\n"
        "probs = session.run(None, {name: network_input(wave)})[0].mean(axis=0)\n"
        "print(CLASSES[int(probs.argmax())], float(probs.max()))\n```\n\n"
        "### The predict command\n\n"
        "`pip install .` in the workflow's folder installs `audioclf-predict` (README: Install "
        "the predict command). It preprocesses as above, applies the window rule, and writes "
        "one row per file: `file, predicted, confidence, prob_<class>..., error`.\n\n"
        f"```sh\naudioclf-predict {onnx} my_recordings/ --out predictions.csv\n"
        f"audioclf-predict {first} my_recordings/ --out predictions.csv\n```"
    )
