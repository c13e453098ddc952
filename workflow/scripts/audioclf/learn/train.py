"""Train one model with fastai on the packed cache; write model.pt and history.csv."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch
from fastai.callback.core import Callback
from fastai.callback.progress import ProgressCallback
from fastai.callback.schedule import fine_tune, fit_one_cycle  # noqa: F401 (patch Learner)
from fastai.data.core import DataLoaders
from fastai.learner import AvgSmoothLoss, Learner
from fastai.metrics import accuracy
from torch import nn

from audioclf.contracts import HISTORY, SPLIT
from audioclf.devices import (
    autocast,
    autocast_dtype,
    enable_fast_math,
    precision_name,
    resolve_device,
    seed_everything,
    set_threads,
    synchronize,
)
from audioclf.io import log
from audioclf.learn.checkpoint import save_checkpoint
from audioclf.learn.data import WholeClips, class_names, clip_samples, training_loaders
from audioclf.learn.models import count_parameters, parameter_groups
from audioclf.learn.registry import build_model, model_type, resolve_settings
from audioclf.learn.weights import autoencoder_name, load_encoder, load_pretrained
from audioclf.preprocess.cache import PackedClips
from audioclf.procedure import FINE_TUNE_LR_MULT, group_hypers, schedule_plan


class EpochHistory(Callback):
    """One history row per epoch (mean train loss, valid loss and accuracy, seconds), printed
    as a plain line: fastai's progress bars are unreadable in log files."""

    order = 60  # after fastai's Recorder (50), which computes the valid metrics

    def __init__(self, total_epochs: int) -> None:
        self.total_epochs = total_epochs
        self.rows: list[dict] = []
        self.steps = 0  # optimizer steps taken, counted as they happen

    def before_epoch(self) -> None:
        self.started = time.perf_counter()
        self.loss_sum = None  # on the device: read once, at the epoch's end
        self.seen = 0

    def after_batch(self) -> None:
        if self.training:
            self.steps += 1
            size = len(self.yb[0])
            loss = self.learn.loss.detach().float() * size
            self.loss_sum = loss if self.loss_sum is None else self.loss_sum + loss
            self.seen += size

    def after_epoch(self) -> None:
        synchronize(self.learn.dls.device)
        _, valid_loss, valid_accuracy = self.learn.final_record
        row = {
            "epoch": len(self.rows) + 1,
            "train_loss": float(self.loss_sum or 0.0) / max(1, self.seen),
            "valid_loss": float(valid_loss),
            "valid_accuracy": float(valid_accuracy),
            "seconds": time.perf_counter() - self.started,
        }
        self.rows.append(row)
        log(
            f"epoch {row['epoch']}/{self.total_epochs}  train_loss {row['train_loss']:.4f}  "
            f"valid_loss {row['valid_loss']:.4f}  valid_accuracy {row['valid_accuracy']:.4f}  "
            f"{row['seconds']:.1f} s"
        )


class DeviceSmoothLoss(AvgSmoothLoss):
    """fastai's smoothed train loss, kept on the device: fastai's own copies each batch's loss
    to the CPU, which makes the host wait for the GPU once a batch."""

    def accumulate(self, learn) -> None:
        self.count += 1
        loss = learn.loss.detach().float().mean()
        self.val = torch.lerp(loss, self.val.to(loss.device), self.beta)


class Autocast(Callback):
    """Each batch's forward pass and loss, training and validation, under torch.autocast
    at `dtype` (bf16 needs no loss scaling); the backward pass and the optimiser step run
    outside it, as torch's AMP recipe has them. AudioLearner leaves the context however a
    batch ends (fastai sends no event after an exception)."""

    order = 5  # before anything that reads predictions

    def __init__(self, device: torch.device, dtype: torch.dtype) -> None:
        self.device, self.dtype = device, dtype
        self.context = None

    def before_batch(self) -> None:
        self.context = autocast(self.device, self.dtype)
        self.context.__enter__()

    def after_pred(self) -> None:
        self.learn.pred = self.pred.float()  # the loss and metrics in float32

    def after_loss(self) -> None:
        self._leave()

    def after_batch(self) -> None:  # also after a cancelled batch
        self._leave()

    def _leave(self) -> None:
        if self.context is not None:
            self.context.__exit__(None, None, None)
            self.context = None


class AudioLearner(Learner):
    """fastai's Learner, leaving any autocast a batch entered even when the batch raised:
    an out-of-memory error or an interrupt must not leave the thread computing in bf16."""

    def one_batch(self, i, b) -> None:
        try:
            super().one_batch(i, b)
        finally:
            for cb in self.cbs:
                if isinstance(cb, Autocast):
                    cb._leave()


def epochs_for(epochs: int, steps_per_epoch: int, min_steps: int) -> int:
    """`epochs`, raised when a small train split would give fewer than `min_steps` optimizer
    steps in all (a 70-clip split at batch 64 takes one step per epoch)."""
    if steps_per_epoch < 1:
        raise ValueError("the train split gives no batch at all; add clips or lower batch_size")
    return max(int(epochs), -(-int(min_steps) // steps_per_epoch))


def build_learner(
    model: nn.Module,
    train_dl,
    valid_dl,
    device: torch.device,
    weight_decay: float | list[float],
    autocast_to: torch.dtype | None = None,
    cbs: list | None = None,
    frozen: nn.Module | None = None,
) -> Learner:
    """A fastai Learner over plain PyTorch loaders, with a body/head splitter for freezing
    (`frozen`: a pretrained encoder, the part that freezing holds still; a learnable front
    end is a group of its own), computing under autocast at `autocast_to` (None: float32),
    with no host sync per batch. `weight_decay`: one for all groups, or one per group."""
    dls = DataLoaders(train_dl, valid_dl, device=device)
    learn = AudioLearner(
        dls,
        model.to(device),
        loss_func=nn.CrossEntropyLoss(),
        metrics=accuracy,
        splitter=lambda m: parameter_groups(m, frozen),
        wd=weight_decay,
        cbs=cbs,
    )
    learn.remove_cbs([cb for cb in learn.cbs if isinstance(cb, ProgressCallback)])
    learn.logger = lambda *args: None  # EpochHistory prints its own lines
    learn.recorder.smooth_loss = DeviceSmoothLoss(beta=learn.recorder.smooth_loss.beta)
    if autocast_to is not None:
        learn.add_cb(Autocast(device, autocast_to))
    return learn


def train(
    cache_path: str | os.PathLike,
    split_csv: str | os.PathLike,
    out_model: str | os.PathLike,
    out_history: str | os.PathLike,
    *,
    model_name: str,
    model_settings: Mapping,
    clip_seconds: float = 5.0,
    device: str = "auto",
    seed: int = 0,
    threads: int | None = None,
    encoder_path: str | os.PathLike | None = None,
    deterministic: bool | str = "auto",
) -> dict:
    """Train `model_name` on the train split, validate on valid (test is never read).
    `encoder_path`: the encoder.pt that `pretrained: autoencoder:<name>` loads.
    `deterministic`: see audioclf.devices.seed_everything."""
    set_threads(threads)
    settings = resolve_settings(model_settings)
    model_type_name = settings["type"]
    torch_device = resolve_device(device)
    enable_fast_math(torch_device)
    fixed_shapes = not model_type(model_type_name).whole_clip
    is_deterministic = seed_everything(seed, deterministic, torch_device, fixed_shapes)

    cache = PackedClips.load(cache_path)
    split = SPLIT.read(split_csv)
    classes = class_names(split)
    entry = model_type(model_type_name)
    precision = autocast_dtype(settings["mixed_precision"], torch_device, entry.cpu_autocast)
    reading = WholeClips.of(settings, cache.sample_rate) if entry.whole_clip else None
    train_dl, valid_dl = training_loaders(
        cache,
        split,
        classes,
        clip_seconds,
        int(settings["batch_size"]),
        seed,
        torch_device,
        source=str(split_csv),
        reading=reading,
    )

    model = build_model(
        settings, len(classes), clip_samples(clip_seconds, cache.sample_rate), cache.sample_rate
    )
    autoencoder = autoencoder_name(settings["pretrained"])
    frozen = None
    if autoencoder is not None:
        if entry.encoder is None or encoder_path is None:
            raise ValueError(
                f"{model_name}: pretrained: {settings['pretrained']!r}, but "
                + (
                    f"type {model_type_name!r} has no encoder to pretrain"
                    if entry.encoder is None
                    else "no encoder.pt was given"
                )  # fmt: skip
            )
        load_encoder(model, model_type_name, encoder_path, settings)
        frozen = entry.encoder(model)
        weight_source = f"autoencoder {autoencoder} ({encoder_path})"
    elif settings["pretrained"] not in (None, False) and not entry.pretrained_body:
        raise ValueError(
            f"{model_name}: pretrained: {settings['pretrained']!r}, but type "
            f"{model_type_name!r} has no pretrained body; set `pretrained: false`"
        )
    else:
        weight_source = load_pretrained(model, settings["pretrained"])
    n_params = count_parameters(model)
    plan = schedule_plan(settings, weight_source is not None)
    freeze_epochs = plan["freeze_epochs"]
    steps_per_epoch = len(train_dl)
    epochs = epochs_for(int(settings["epochs"]), steps_per_epoch, int(settings["min_steps"]))
    log(
        f"{model_name}: {model_type_name}, {n_params:,} parameters, {len(classes)} classes, "
        f"{len(train_dl.dataset)} train / {len(valid_dl.dataset)} valid clips, "
        f"device {torch_device}, weights: {weight_source or 'random init'}, "
        f"{plan['schedule']} (lr {plan['lr_groups']}), "
        f"{precision_name(precision)}, {'deterministic' if is_deterministic else 'autotuned'}"
    )
    if reading is not None:
        cut = reading.cut(train_dl.dataset.stored_lengths + valid_dl.dataset.stored_lengths)
        log(
            f"{model_name}: whole clips, read up to their first {settings['max_seconds']} s "
            f"({cut} train/valid clip(s) longer), in batches of up to {settings['batch_size']} "
            f"clips and {settings['batch_seconds']} s of audio"
        )
    if epochs != int(settings["epochs"]):
        log(
            f"{model_name}: {len(train_dl.dataset)} train clips at batch size "
            f"{settings['batch_size']} give {steps_per_epoch} optimizer step(s) per epoch; "
            f"{settings['epochs']} epochs raised to {epochs} so that training takes at least "
            f"min_steps = {settings['min_steps']} steps"
        )

    history = EpochHistory(freeze_epochs + epochs)
    lrs, wds = group_hypers(settings, len(parameter_groups(model, frozen)))
    learn = build_learner(
        model, train_dl, valid_dl, torch_device, wds, precision, cbs=[history], frozen=frozen
    )
    lr = float(settings["lr"])
    started = time.perf_counter()
    if plan["schedule"] == "fine_tune":
        learn.fine_tune(epochs, base_lr=lr, freeze_epochs=freeze_epochs, lr_mult=FINE_TUNE_LR_MULT)
    else:
        learn.fit_one_cycle(epochs, np.array(lrs) if len(set(lrs)) > 1 else lr)
    synchronize(torch_device)
    train_seconds = time.perf_counter() - started
    log(f"{model_name}: {history.steps} optimizer steps in {len(history.rows)} epochs")

    HISTORY.write(out_history, pd.DataFrame(history.rows, columns=list(HISTORY.columns)))
    checkpoint = {
        "model": model_name,
        "type": model_type_name,
        "settings": settings,
        "classes": classes,
        "sample_rate": int(cache.sample_rate),
        "clip_seconds": float(clip_seconds),
        # how the cache was made from audio files, so predict.py can do the same to new ones
        "preprocess": dict(cache.settings),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "train_seconds": train_seconds,
        "device": str(torch_device),
        "train_precision": precision_name(precision),
        "deterministic": is_deterministic,
        "seed": int(seed),
        "pretrained": weight_source is not None,
        "weight_source": weight_source,
        "n_params": n_params,
        "n_train": len(train_dl.dataset),
        "epochs_run": len(history.rows),
        "optimizer_steps": history.steps,
    }
    save_checkpoint(out_model, checkpoint)
    last = history.rows[-1] if history.rows else {}
    log(
        f"{model_name}: trained in {train_seconds:.1f} s; last valid_accuracy "
        f"{last.get('valid_accuracy', float('nan')):.4f}"
    )
    return {
        "model": model_name,
        "n_params": n_params,
        "train_seconds": train_seconds,
        "valid_accuracy": last.get("valid_accuracy"),
        "history": history.rows,
        "device": str(torch_device),
        "pretrained": weight_source is not None,
        "weight_source": weight_source,
        "train_fnames": list(train_dl.dataset.fnames),
        "valid_fnames": list(valid_dl.dataset.fnames),
    }
