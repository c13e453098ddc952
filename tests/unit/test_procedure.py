"""The procedure record and its diff: what each contrast factor owns, what else differs,
the config-time warning, and the default design (every default contrast differs in its
factor alone, at the parameter counts the issue asks for)."""

import copy

import pytest
import yaml

from audioclf.config import config_warnings, leave_out_models
from audioclf.learn.data import clip_samples
from audioclf.learn.models import count_parameters
from audioclf.learn.registry import build_model, model_type, resolve_settings
from audioclf.procedure import (
    FACTORS,
    also_differs,
    config_differences,
    config_record,
    factor_differs,
    owns,
    run_record,
    unmeasured_reason,
)
from conftest import REPO


def checkpoint(settings: dict, pretrained: bool = False, **extra) -> dict:
    """model.pt's keys that the record reads, for a run trained as `settings` say."""
    return {
        "settings": resolve_settings(settings),
        "clip_seconds": 2.0,
        "pretrained": pretrained,
        "weight_source": "weights.pth" if pretrained else None,
        "n_params": 1000,
        "epochs_run": 20,
        "optimizer_steps": 100,
        "train_precision": "float32",
        **extra,
    }


def record(settings: dict, pretrained: bool = False, **extra) -> dict:
    return run_record(
        checkpoint(settings, pretrained, **extra),
        eval_windows="sliding",
        eval_precision="float32",
        type_keys=model_type(settings["type"]).defaults,
    )


SPECTROGRAM = {"type": "spectrogram", "epochs": 20, "lr": 0.003, "freeze_epochs": 0}


def test_an_identical_pair_differs_in_nothing():
    a = record(SPECTROGRAM)
    assert also_differs(a, record(SPECTROGRAM), "weights") == []
    assert also_differs(a, dict(a), None) == []
    assert not factor_differs(a, dict(a), "weights")


def test_fine_tune_against_one_cycle_shows_the_schedule():
    tuned = record({**SPECTROGRAM, "pretrained": "w.pth", "freeze_epochs": 1}, pretrained=True)
    scratch = record(SPECTROGRAM)
    assert tuned["schedule"] == "fine_tune" and scratch["schedule"] == "one_cycle"
    listed = {d["key"]: (d["a"], d["b"]) for d in also_differs(tuned, scratch, "weights")}
    assert listed["schedule"] == ("fine_tune", "one_cycle")
    assert listed["freeze_epochs"] == (1, 0)
    # fastai's fine_tune: the head alone (and the body's batch norm at lr / 10), then the
    # body at lr / 200 and the head at lr / 2 once unfrozen
    assert listed["lr_groups"] == (
        "frozen: head 0.003, body batch norm 0.0003; then body 1.5e-05, head 0.0015",
        "all 0.003",
    )
    # the weights themselves are the factor: never listed
    assert "weights" not in listed and "weights_source" not in listed
    assert factor_differs(tuned, scratch, "weights")
    # with freeze_epochs 0 the pretrained model trains by the same schedule
    same = record({**SPECTROGRAM, "pretrained": "w.pth"}, pretrained=True)
    assert also_differs(same, scratch, "weights") == []


def test_different_augmentation_shows_augmentation():
    deep = {"type": "raw1d_deep", "gain_db": 6.0, "shift_fraction": 0, "noise_snr_db": 0}
    plain = {**deep, "gain_db": 0}
    listed = {d["key"]: (d["a"], d["b"]) for d in also_differs(record(deep), record(plain), None)}
    assert listed == {"augmentation": ("waveform", "none"), "augmentation.gain_db": (6.0, None)}
    masked = record({**SPECTROGRAM, "freq_masks": 1, "freq_mask_width": 10, "time_masks": 0})
    unmasked = record({**SPECTROGRAM, "freq_masks": 0, "time_masks": 0})
    assert [d["key"] for d in also_differs(masked, unmasked, "architecture")] == [
        "augmentation",
        "augmentation.freq_masks",
        "augmentation.freq_mask_width",
    ]
    # a mask of width 0 masks nothing: the same as none
    assert also_differs(record({**SPECTROGRAM, "freq_mask_width": 0, "time_masks": 0}),
                        unmasked, None) == []  # fmt: skip


def test_a_learnable_front_end_records_its_own_lr_and_the_front_end_factor_owns_it():
    filterbank = record({"type": "raw_filterbank", "lr": 0.003, "front_end_lr_mult": 0.1})
    assert filterbank["lr_groups"] == "front end 0.0003 without weight decay, rest 0.003"
    assert filterbank["front_end.front_end_lr_mult"] == 0.1
    small = record({"type": "spectrogram_small", "lr": 0.003})
    assert [d["key"] for d in also_differs(filterbank, small, "front_end")] == []
    # another factor does not own it
    slower = record({"type": "raw_filterbank", "lr": 0.003, "front_end_lr_mult": 0.5})
    assert [d["key"] for d in also_differs(filterbank, slower, "init")] == [
        "front_end.front_end_lr_mult",
        "lr_groups",
    ]


def test_settings_a_type_ignores_are_not_recorded():
    # raw1d has no augmentation, dropout or front end: keys a config sets anyway do nothing
    ignored = record({"type": "raw1d", "gain_db": 6.0, "dropout": 0.5, "n_fft": 512})
    assert ignored == record({"type": "raw1d"})
    assert ignored["augmentation"] == "none"


def test_a_factors_own_keys_are_never_listed():
    small = {"type": "spectrogram_small", "epochs": 20, "lr": 0.003}
    deep = {"type": "raw1d_deep", "epochs": 20, "lr": 0.003, "gain_db": 0, "shift_fraction": 0,
            "noise_snr_db": 0, "freq_masks": 0}  # fmt: skip
    small_record = record({**small, "freq_masks": 0, "time_masks": 0})
    for factor in FACTORS:
        for row in also_differs(small_record, record(deep), factor):
            assert not owns(factor, row["key"]), (factor, row)
    # input owns the type, the architecture and the front end, not the parameter count
    listed = also_differs(small_record, record(deep, n_params=1200), "input")
    assert [d["key"] for d in listed] == ["n_params"]
    # within 10% of the larger count, the parameter counts count as equal
    assert also_differs(small_record, record(deep, n_params=1099), "input") == []
    # architecture owns them
    assert also_differs(small_record, record(deep, n_params=1200), "architecture") == [
        {"key": "front_end.n_fft", "a": 1024, "b": None},
        {"key": "front_end.hop_length", "a": 200, "b": None},
        {"key": "front_end.n_mels", "a": 128, "b": None},
    ]
    # precision resolved per type would be listed outside a precision contrast
    bf16 = record(small, train_precision="bfloat16 autocast")
    assert also_differs(bf16, record(small), "architecture") == [
        {"key": "train_precision", "a": "bfloat16 autocast", "b": "float32"}
    ]


def test_a_weights_contrast_without_weights_is_not_measured():
    a, b = record(SPECTROGRAM), record({**SPECTROGRAM, "pretrained": False})
    assert not factor_differs(a, b, "weights")
    reason = unmeasured_reason("spectrogram", "spectrogram_scratch", "weights", a)
    assert reason.startswith("not measured here: neither spectrogram nor spectrogram_scratch")
    small = record({"type": "spectrogram_small"})
    assert unmeasured_reason("x", "y", "front_end", small) == (
        "not measured here: x and y do not differ in front_end (both: type spectrogram_small, "
        "front_end.n_fft 1024, front_end.hop_length 200, front_end.n_mels 128, lr_groups all "
        "0.001)"
    )


def merged(*files: str) -> dict:
    """The configs as Snakemake merges them (later files key by key over earlier ones)."""

    def merge(base, over):
        for key, value in over.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                merge(base[key], value)
            else:
                base[key] = copy.deepcopy(value)
        return base

    config: dict = {}
    for name in files:
        merge(config, yaml.safe_load((REPO / "config" / name).read_text()))
    leave_out_models(config)
    return config


CONFIGS = {"config.yaml": ("config.yaml",), "demo.yaml": ("config.yaml", "demo.yaml")}


def built_record(config: dict, model: str) -> dict:
    """A default model's run record as evaluate_model would write it: settings resolved
    by the registry, the parameter count of the built network, five labels."""
    settings = dict(config["models"][model])
    samples = clip_samples(float(config["clip_seconds"]), 16000)
    network = {k: v for k, v in settings.items() if k != "pretrained"}
    size = count_parameters(build_model(resolve_settings(network), 5, samples, 16000))
    loads = settings.get("pretrained") not in (None, False)
    return record(settings, pretrained=loads, n_params=size,
                  clip_seconds=float(config["clip_seconds"]))  # fmt: skip


@pytest.mark.parametrize("name", CONFIGS)
def test_every_default_contrast_differs_in_its_factor_alone(name):
    """Every default contrast, as run (settings resolved with the type defaults, parameter
    counts of the built models) and as the config-time check sees it."""
    config = merged(*CONFIGS[name])
    models, clip = config["models"], float(config["clip_seconds"])
    left_out = [c["name"] for c in config["contrasts"] if not {c["a"], c["b"]} <= set(models)]
    # the demo leaves raw_filterbank_random out for its time budget: mel clue is skipped
    assert left_out == (["mel clue"] if name == "demo.yaml" else [])
    for contrast in config["contrasts"]:
        a, b, factor = contrast["a"], contrast["b"], contrast["factor"]
        if contrast["name"] in left_out:
            continue
        run = [built_record(config, m) for m in (a, b)]
        assert also_differs(*run, factor) == [], contrast["name"]
        offline_imagenet = name == "demo.yaml" and contrast["name"] == "pretraining"
        assert factor_differs(*run, factor) != offline_imagenet, contrast["name"]
        configured = [config_record(models[m], clip, "sliding") for m in (a, b)]
        assert config_differences(*configured, factor) == [], contrast["name"]
    warnings = config_warnings(config)
    if name == "demo.yaml":  # offline: no ImageNet file, so pretraining measures nothing
        assert len(warnings) == 1 and "pretraining" in warnings[0]
        assert "not measured here" in warnings[0]
    else:
        assert warnings == []


@pytest.mark.parametrize("name", CONFIGS)
def test_default_capacity_contrasts_hold_at_the_configured_crop(name):
    """Parameter counts need the built models: the input contrast's within 10%, and the
    capacity contrast's a the larger, for the five default labels at the clip length."""
    config = merged(*CONFIGS[name])
    by_factor = {}
    for contrast in config["contrasts"]:
        if not {contrast["a"], contrast["b"]} <= set(config["models"]):
            continue  # a model the config leaves out
        a, b = (built_record(config, contrast[m])["n_params"] for m in ("a", "b"))
        by_factor.setdefault(contrast["factor"], []).append((contrast["name"], a, b))
    ((_, a, b),) = by_factor["input"]
    assert abs(a - b) <= 0.10 * max(a, b)
    capacity = [(a, b) for name_, a, b in by_factor["architecture"] if "capacity" in name_]
    assert len(capacity) == 1 and capacity[0][0] > 10 * capacity[0][1]


def test_a_mismatched_contrast_warns_at_config_time_naming_the_keys():
    config = merged("config.yaml")
    config["models"]["raw"] = {**config["models"]["raw"], "lr": 0.001, "batch_size": 16}
    config["contrasts"].append({"name": "unnamed", "a": "raw_deep", "b": "raw_filterbank"})
    # config/README.md's linear-filters recipe leaves the type defaults out: no false warning
    config["models"]["raw_filterbank_linear"] = {
        "type": "raw_filterbank",
        "init": "linear",
        "epochs": 30,
        "lr": 0.003,
        "batch_size": 64,
        "freq_masks": 0,
        "time_masks": 0,
    }
    config["contrasts"].append(
        {"name": "linear", "factor": "init", "a": "raw_filterbank", "b": "raw_filterbank_linear"}
    )
    warnings = config_warnings(config)
    lr = [w for w in warnings if "M5 vs the seed's net" in w]
    assert len(lr) == 1 and "lr 0.003 vs 0.001" in lr[0] and "batch_size 64 vs 16" in lr[0]
    assert [w for w in warnings if "autoencoder pretraining" in w]  # raw_ae vs raw too
    assert any("contrasts.7 (unnamed: raw_deep vs raw_filterbank) names no factor" in w
               for w in warnings)  # fmt: skip
    assert not [w for w in warnings if "mel clue" in w or "linear" in w]
    config["evaluation"] = {"bootstrap_draws": 500}
    assert any("evaluation.bootstrap_draws is no longer used" in w
               for w in config_warnings(config))  # fmt: skip


def test_the_config_time_check_imports_no_torch():
    """The Snakefile validates the config, contrasts included, without importing torch."""
    import subprocess
    import sys

    code = (
        "import sys; from audioclf.config import config_warnings; "
        "import audioclf.procedure; assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO,
                   env={"PYTHONPATH": str(REPO / "workflow/scripts")})  # fmt: skip
