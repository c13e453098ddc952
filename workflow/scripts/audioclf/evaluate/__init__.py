"""Evaluation: test scores of each run, summaries over runs, paired statistics, prediction.

Owns scoring a model.pt on its test split (`scoring`), one model's runs summarised
(`aggregate`), every pair of models compared (`compare`, on the statistics of `stats`), and
labelling new audio files (`predict`, also `python -m audioclf.evaluate.predict`). Called
by the evaluate_model, summarize_model, compare_models and predict_audio rules of
workflow/rules/evaluate.smk.
"""
