"""Config validation beyond the schema: settings that depend on each other, on the sample
rate or on the dataset, each error naming the key."""

import pytest
import yaml

from audioclf.config import ConfigError, apply_defaults, validate_config
from audioclf.learn.limits import check_settings
from audioclf.learn.published import AUDIOSET_CNN14, weights_to_load
from conftest import REPO

RATE = 16000
SCHEMA = REPO / "workflow/schemas/config.schema.yaml"


def default_config() -> dict:
    return yaml.safe_load((REPO / "config/config.yaml").read_text())


def test_filterbank_and_whole_clip_settings_that_do_not_fit_fail_at_config_time():
    config = default_config()
    config["models"]["raw_filterbank"]["n_mels"] = 600
    config["models"]["long"] = {
        "type": "crnn", "epochs": 1, "lr": 0.001, "batch_size": 8,
        "max_seconds": 60, "batch_seconds": 30,
    }  # fmt: skip
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    message = str(err.value)
    assert "models.raw_filterbank: n_mels 600 is more bands than the 513 frequency bins" in message
    assert "models.long: batch_seconds 30" in message and "max_seconds 60" in message
    with pytest.raises(ValueError, match="hop_length 2048 must be between 1 and n_fft"):
        check_settings({"type": "raw_filterbank", "hop_length": 2048}, RATE)
    check_settings({"type": "crnn"}, RATE)  # the defaults fit


def test_official_split_and_verified_testing_need_a_dataset_with_a_test_set():
    config = default_config()
    config["dataset"]["kind"] = "folder"
    config["split"] = {"method": "official", "test_on": "verified"}
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    assert "split.method: official needs dataset.kind fsdkaggle2018 or demo" in str(err.value)
    assert "split.test_on: verified needs a dataset with label checks" in str(err.value)
    config["dataset"]["kind"] = "demo"
    validate_config(config, SCHEMA)


def test_train_fractions_must_hold_the_whole_split_and_whole_percents():
    config = {**default_config(), "train_fractions": [0.25, 0.5]}
    with pytest.raises(ConfigError, match=r"train_fractions: \[0.25, 0.5\] must include 1.0"):
        validate_config(config, SCHEMA)
    config["train_fractions"] = [0.125, 1.0]
    with pytest.raises(ConfigError, match="0.125 must be a whole percent"):
        validate_config(config, SCHEMA)
    config["train_fractions"] = [0.25, 1.0]
    validate_config(config, SCHEMA)


def test_a_models_autoencoder_must_exist_and_fit_its_type():
    config = default_config()
    config["models"]["raw_ae"]["pretrained"] = "autoencoder:nope"
    config["models"]["deep_ae"] = {
        "type": "raw1d_deep", "epochs": 1, "lr": 0.001, "batch_size": 8,
        "pretrained": "autoencoder:raw_conv",
    }  # fmt: skip
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    message = str(err.value)
    assert "models.raw_ae.pretrained: autoencoder:nope names no pretraining config" in message
    assert "pretrain.raw_conv has a raw1d encoder, which does not fit type raw1d_deep" in message


def one_error(config: dict) -> str:
    """The one line of the ConfigError that validating `config` raises."""
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    lines = str(err.value).splitlines()[1:]
    assert len(lines) == 1, lines
    return lines[0].strip()


CNN14 = {"type": "cnn14", "epochs": 1, "lr": 0.001, "batch_size": 8}


def test_a_valid_cnn14_loads_its_published_weights_and_no_other_type_does():
    config = default_config()
    config["models"]["cnn14"] = {**CNN14, "pretrained": "audioset"}
    config["models"]["cnn14_scratch"] = {**CNN14, "pretrained": False}
    config["models"]["cnn14_file"] = {**CNN14, "pretrained": "weights/mine.pth"}
    validate_config(config, SCHEMA)
    # what get_weights_input (common.smk) adds as train_model's input
    assert weights_to_load(config["models"]["cnn14"]) == AUDIOSET_CNN14
    assert weights_to_load(config["models"]["cnn14_scratch"]) is None
    assert weights_to_load({"type": "spectrogram", "pretrained": "audioset"}) is None


@pytest.mark.parametrize("model_type", ["spectrogram", "raw1d"])
def test_published_weights_for_a_type_they_do_not_fit_are_refused(model_type):
    config = default_config()
    config["models"]["wrong"] = {**CNN14, "type": model_type, "pretrained": "audioset"}
    assert one_error(config) == (
        f"models.wrong.pretrained: audioset means {AUDIOSET_CNN14.what}, which fits type "
        f"cnn14 only, not {model_type}; set type: cnn14, or pretrained: false or the path "
        f"of a {model_type} weights file"
    )


def test_imagenet_weights_for_cnn14_are_refused_naming_what_fits():
    config = default_config()
    config["models"]["cnn14"] = {**CNN14, "pretrained": True}
    message = one_error(config)
    assert message.startswith("models.cnn14.pretrained: true means torchvision's ImageNet")
    assert "set pretrained: audioset, the path of a cnn14 checkpoint, or false" in message


def test_cnn14_at_another_sample_rate_is_refused_naming_the_rate_to_set():
    config = default_config()
    config["preprocess"]["sample_rate"] = 22050
    config["models"]["cnn14"] = dict(CNN14)
    message = one_error(config)
    assert message.startswith("models.cnn14.type: cnn14's front end")
    assert "not at preprocess.sample_rate 22050; set preprocess.sample_rate: 16000" in message


def test_pools_without_a_source_fail_naming_keys():
    config = default_config()
    config["pretrain"]["mine"] = {"encoder": "raw1d", "pool": "folder"}
    config["pretrain"]["left_out"] = {"encoder": "raw1d", "pool": "other_labels"}
    config["pretrain"]["stray"] = {"encoder": "raw1d", "folders": ["audio"]}
    config["dataset"] = {"kind": "folder", "path": "audio", "label_regex": "(?P<label>.)"}
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    message = str(err.value)
    assert "pretrain.mine.folders: pool folder needs one or more folders" in message
    assert (
        "pretrain.left_out.pool: other_labels needs dataset.kind fsdkaggle2018 or demo" in message
    )
    assert "pretrain.stray.folders: set, but pool is train" in message


def test_command_line_strings_are_read_as_their_keys_types():
    from audioclf.config import from_command_line

    schema = yaml.safe_load(SCHEMA.read_text())
    raw = {"type": "raw1d", "lr": "0.001", "pretrained": "false"}
    config = {"clip_seconds": "2.5", "seeds": ["0", "1.0"], "predict": {"folder": "none"},
              "models": {"raw": raw}}  # fmt: skip
    from_command_line(config, config, schema)
    assert config["clip_seconds"] == 2.5 and config["seeds"] == [0, 1]
    assert config["predict"]["folder"] == "none"  # a string key keeps a word YAML keeps
    assert config["models"]["raw"] == {"type": "raw1d", "lr": 0.001, "pretrained": False}
    for bad in ("nan", "inf"):
        with pytest.raises(ConfigError, match=f"clip_seconds: '{bad}' \\(from --config\\)"):
            from_command_line({"clip_seconds": bad}, {"clip_seconds": bad}, schema)


def test_a_group_column_validates_from_a_file_and_from_the_command_line():
    from audioclf.config import from_command_line

    schema = yaml.safe_load(SCHEMA.read_text())
    group = schema["properties"]["dataset"]["properties"]["columns"]["properties"]["group"]
    assert "never cross train, valid and test" in group["description"]
    dataset = {"kind": "folder", "path": "audio", "metadata": "audio/speakers.csv",
               "columns": {"fold": "speaker", "group": "speaker"}}  # fmt: skip
    config = {**default_config(), "dataset": dataset, "split": {"method": "folds"}}
    validated = validate_config(config, SCHEMA)
    assert validated["dataset"]["columns"] == {"fold": "speaker", "group": "speaker"}
    # `--config 'dataset={columns: {group: 7}}'`: Snakemake hands over the string "7"
    cli = {"dataset": {"columns": {"group": "7"}}}
    config = {**default_config(), "dataset": {**dataset, "columns": {"group": "7"}}}
    from_command_line(config, cli, schema)
    assert config["dataset"]["columns"]["group"] == "7"
    validate_config(config, SCHEMA)
    config["dataset"]["columns"]["group"] = 7
    with pytest.raises(ConfigError, match="dataset.columns.group: 7 is not of type"):
        validate_config(config, SCHEMA)


def test_a_model_set_to_null_in_a_later_file_is_left_out(tmp_path):
    """Config files merge key by key: null is how the demo leaves out a default model."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["models"]["raw_filterbank_random"] = None
    validated = validate_config(config, REPO / "workflow" / "schemas" / "config.schema.yaml")
    assert "raw_filterbank_random" not in validated["models"]
    assert "raw_filterbank" in validated["models"]


def test_split_fractions_that_do_not_add_up_to_one_are_refused_naming_them():
    config = default_config()
    config["split"] = {"fractions": {"train": 0.7, "valid": 0.2, "test": 0.3}}
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    assert "split.fractions: train 0.7 + valid 0.2 + test 0.3 add up to 1.2" in str(err.value)
    config = default_config()
    config["split"] = {"fractions": {"train": 0.7, "valid": 0.1, "test": 0.2}}
    validate_config(config, SCHEMA)


@pytest.mark.parametrize(
    "template, words",
    [("../x/{fname}", "leads out of dataset.path"), ("{fname.__class__}", "not a plain field")],
)
def test_a_folder_path_template_leading_out_or_with_more_than_fields_is_refused(template, words):
    config = default_config()
    config["dataset"] = {"kind": "folder", "path": "audio", "label_regex": "(?P<label>x)",
                         "metadata": "m.csv", "path_template": template}  # fmt: skip
    with pytest.raises(ConfigError, match=words) as err:
        validate_config(config, SCHEMA)
    assert f"dataset.path_template {template!r}" in str(err.value)


def test_the_defaults_lie_beneath_a_partial_config_as_a_layered_config_file_would():
    """A module's config (config/demo.yaml alone) gets config/config.yaml beneath it, the
    same config as `--configfile config/demo.yaml` over it gives, and again changes nothing."""
    from snakemake.utils import update_config

    demo = yaml.safe_load((REPO / "config/demo.yaml").read_text())
    layered = default_config()
    update_config(layered, demo)
    config = apply_defaults(yaml.safe_load((REPO / "config/demo.yaml").read_text()),
                            REPO / "config/config.yaml")  # fmt: skip
    assert config == layered
    assert list(config["models"]) == list(layered["models"])  # the report's order
    assert config["models"]["raw_filterbank_random"] is None  # left out, as demo.yaml says
    assert config["split"] == default_config()["split"]  # a key demo.yaml never names
    assert apply_defaults(config, REPO / "config/config.yaml") == layered
    validate_config(config, SCHEMA)
    assert "raw_filterbank_random" not in config["models"]
