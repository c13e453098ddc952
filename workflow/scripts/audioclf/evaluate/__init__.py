"""Evaluation: test scores of each run, summaries over runs, paired statistics, the
data-size curve, prediction.

Owns scoring a model.pt on its test split (`scoring`), one model's runs summarised
(`aggregate`), every pair of models and every configured contrast compared (`compare`, on
the statistics of `stats`), accuracy against train clips (`curves`), and labelling new
audio files (`predict`, also `python -m audioclf.evaluate.predict`; a model.onnx is run by
`onnx_model`, without torch; both share `tables`). Called by the
evaluate_model, summarize_model, compare_models, collect_curves and predict_audio rules of
workflow/rules/evaluate.smk.
"""
