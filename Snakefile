# audioclf: raw waveform vs mel spectrogram sound classification.
# Table of contents only; logic lives in workflow/rules and workflow/scripts/audioclf.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/datasets.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/split.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/learn.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


# On a cluster these run where snakemake runs (the login node), never in the queue: the
# downloads need the network, which compute nodes often lack, and the bookkeeping rules
# take seconds and little memory, less than a wait in the queue. Locally nothing changes.
localrules:
    download_metadata,
    download_esc50,
    download_audio,
    download_pool_audio,
    download_weights,
    make_demo_dataset,
    select_subset,
    select_pool,
    split_dataset,
    summarize_model,
    collect_curves,
    compare_models,
    make_report,
    write_model_card,


rule all:
    default_target: True
    input:
        rules.make_report.output.html,
        rules.cards.input,
