"""Datasets: where the audio comes from, and which clips of it a run uses.

Owns each dataset kind's catalog (every clip it offers: `fsdkaggle` for FSDKaggle2018 from
Zenodo, `esc50` for ESC-50 and ESC-10, `folder` for a user's own audio with its CSV's
columns mapped, `demo` for the offline synthetic set shaped like FSDKaggle2018), the
standard benchmarks' official folds and published accuracies (`benchmarks`), the label
selection (`subset`), and the download client beneath them (`download`). Called by the
rules of workflow/rules/datasets.smk: make_demo_dataset, download_metadata, download_esc50,
select_subset and download_audio.
"""
