"""Pretraining: a waveform model's first layer(s) trained as an autoencoder's encoder on
unlabeled audio, before the classifier is.

Owns the autoencoder around a registered type's encoder and its spectral loss
(`autoencoder`), the pools of their own, a folder of audio or the labels a run leaves out
(`pool`), and the training loop and the encoder file (`train`, encoder.pt). Called by the
select_pool, download_pool_audio and cache_pool rules (a pool's table, its audio fetched,
its cache; the last two through the datasets and preprocess stages' own code) and the
pretrain_frontend rule of workflow/rules/pretrain.smk; the train_model rule loads
encoder.pt for a model with `pretrained: autoencoder:<name>`.
"""

# What a pretraining config's `pool` draws from: train, the split's train clips (the
# default); folder and other_labels, a pool cache of their own. Here, not in `train`: the
# Snakefile and config validation read them without torch or pandas.
POOLS = ("train", "folder", "other_labels")
DEFAULT_POOL = "train"
