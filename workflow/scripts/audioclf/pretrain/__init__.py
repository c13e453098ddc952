"""Pretraining: a waveform model's first layer(s) trained as an autoencoder's encoder on
unlabeled audio, before the classifier is.

Owns the autoencoder around a registered type's encoder and its spectral loss
(`autoencoder`), and the unlabeled pool, the training loop and the encoder file (`train`,
encoder.pt). Called by the pretrain_frontend rule of workflow/rules/pretrain.smk; the
train_model rule loads encoder.pt for a model with `pretrained: autoencoder:<name>`.
"""
