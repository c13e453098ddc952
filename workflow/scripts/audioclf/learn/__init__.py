"""Learning: the networks and how they are trained.

Owns the model registry (`registry`: every model type once, with its builder, defaults and
flags), the bare networks (`models`; `cnn14`: PANNs' CNN14 in the layout of the authors'
checkpoint) and their on-device input layers (`features`: log-mel front end; `augment`:
waveform augmentation), the settings limits config validation checks without torch
(`limits`), pretrained weights (`weights`; `published`: the files the workflow downloads),
batches of crops or of whole clips by length from the cache (`crop`, `data`), the fastai
training procedure (`train`) and the model file it writes (`checkpoint`, model.pt), and that
model as ONNX (`export`, model.onnx). Called by the download_weights, train_model and
export_model rules of workflow/rules/learn.smk.
"""
