"""Splits: which usable clips train, validate and test each run.

Owns the seeded stratified split and the nested train shares of the data-size curve
(`stratified`), the check that split.fractions add up to 1 (`fractions`), k-fold
cross-validation over a dataset's own folds (`folds`), whole groups such as speakers, and
copies of the same audio, kept in one part (`groups`), the dataset's own train/test
division (`official`), and the one entry point that writes the split of a split id,
`seed<S>` or `fold<K>` with an optional `-train<P>`, with each clip's label check
(`write`). Called by the split_dataset rule of workflow/rules/split.smk; split ids are
named in audioclf.runs.
"""
