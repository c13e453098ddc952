"""Splits: which usable clips train, validate and test each run.

Owns the seeded stratified split (`stratified`), k-fold cross-validation over a dataset's
own folds (`folds`), and the one entry point that writes the split of a split id, `seed<S>`
or `fold<K>` (`write`). Called by the split_dataset rule of workflow/rules/split.smk; split
ids are named in audioclf.runs.
"""
