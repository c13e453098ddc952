"""Train one model with fastai on the packed cache; write model.pt and history.csv."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

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
from torch.utils.data import DataLoader

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
from audioclf.learn.registry import ModelType, build_model, model_type, resolve_settings
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


@dataclass(frozen=True)
class TrainingRun:
    """One training run as settled before its network is built: what it reads (the cache,
    the split's classes and loaders) and how it computes (device, precision, determinism)."""

    name: str
    settings: dict  # resolved (registry.resolve_settings)
    entry: ModelType
    device: torch.device
    precision: torch.dtype | None  # autocast dtype; None: float32
    deterministic: bool
    seed: int
    cache: PackedClips
    classes: list[str]
    clip_seconds: float
    reading: WholeClips | None  # a whole-clip model's reading; None: crops
    train_dl: DataLoader
    valid_dl: DataLoader


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
    model: nn.Module | None = None,
    weights_path: str | os.PathLike | None = None,
) -> dict:
    """Train `model_name` on the train split, validate on valid (test is never read).
    `encoder_path`: the encoder.pt that `pretrained: autoencoder:<name>` loads.
    `weights_path`: the file of the published weights `pretrained: <name>` names
    (learn/published.py; the download_weights rule's output).
    `deterministic`: see audioclf.devices.seed_everything. `model`: the network to train, of
    the type and settings `model_settings` names (None: the registry builds it from them).
    Steps: settle the run, build the network, load its initial weights, choose the
    schedule, fit, and record model.pt and history.csv."""
    run = prepare_run(
        cache_path, split_csv, model_name, model_settings, clip_seconds, device, seed, threads,
        deterministic,
    )  # fmt: skip
    if model is None:
        model = build_network(run)
    weight_source, frozen = initial_weights(model, run, encoder_path, weights_path)
    plan, epochs = schedule(run, model, weight_source)
    history, train_seconds = fit(model, run, plan, epochs, frozen)
    HISTORY.write(out_history, pd.DataFrame(history.rows, columns=list(HISTORY.columns)))
    save_checkpoint(out_model, checkpoint_of(model, run, history, weight_source))
    last = history.rows[-1] if history.rows else {}
    log(
        f"{model_name}: trained in {train_seconds:.1f} s; last valid_accuracy "
        f"{last.get('valid_accuracy', float('nan')):.4f}"
    )
    return {
        "model": model_name,
        "n_params": count_parameters(model),
        "train_seconds": train_seconds,
        "valid_accuracy": last.get("valid_accuracy"),
        "history": history.rows,
        "device": str(run.device),
        "pretrained": weight_source is not None,
        "weight_source": weight_source,
        "train_fnames": list(run.train_dl.dataset.fnames),
        "valid_fnames": list(run.valid_dl.dataset.fnames),
    }


def prepare_run(
    cache_path: str | os.PathLike,
    split_csv: str | os.PathLike,
    model_name: str,
    model_settings: Mapping,
    clip_seconds: float,
    device: str,
    seed: int,
    threads: int | None,
    deterministic: bool | str,
) -> TrainingRun:
    """Resolve the settings and the device, seed every generator, read the cache and the
    split, and make the train and valid loaders."""
    set_threads(threads)
    settings = resolve_settings(model_settings)
    entry = model_type(settings["type"])
    torch_device = resolve_device(device)
    enable_fast_math(torch_device)
    is_deterministic = seed_everything(seed, deterministic, torch_device, not entry.whole_clip)

    cache = PackedClips.load(cache_path)
    split = SPLIT.read(split_csv)
    classes = class_names(split)
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
    return TrainingRun(
        model_name, settings, entry, torch_device, precision, is_deterministic, seed, cache,
        classes, clip_seconds, reading, train_dl, valid_dl,
    )  # fmt: skip


def build_network(run: TrainingRun) -> nn.Module:
    """The network the registry builds for the run's settings, classes and crop length."""
    rate = run.cache.sample_rate
    return build_model(run.settings, len(run.classes), clip_samples(run.clip_seconds, rate), rate)


def initial_weights(
    model: nn.Module,
    run: TrainingRun,
    encoder_path: str | os.PathLike | None,
    weights_path: str | os.PathLike | None = None,
) -> tuple[str | None, nn.Module | None]:
    """Load the weights `pretrained` names into `model`: (where they came from, None for
    random ones; the pretrained encoder that freezing holds still, if any)."""
    settings, type_name = run.settings, run.settings["type"]
    autoencoder = autoencoder_name(settings["pretrained"])
    if autoencoder is not None:
        if run.entry.encoder is None or encoder_path is None:
            raise ValueError(
                f"{run.name}: pretrained: {settings['pretrained']!r}, but "
                + (
                    f"type {type_name!r} has no encoder to pretrain"
                    if run.entry.encoder is None
                    else "no encoder.pt was given"
                )  # fmt: skip
            )
        load_encoder(model, type_name, encoder_path, settings)
        return f"autoencoder {autoencoder} ({encoder_path})", run.entry.encoder(model)
    if settings["pretrained"] not in (None, False) and not run.entry.pretrained_body:
        raise ValueError(
            f"{run.name}: pretrained: {settings['pretrained']!r}, but type "
            f"{type_name!r} has no pretrained body; set `pretrained: false`"
        )
    return load_pretrained(model, settings["pretrained"], weights_file=weights_path), None


def schedule(run: TrainingRun, model: nn.Module, weight_source: str | None) -> tuple[dict, int]:
    """(the schedule plan, the epochs to fit), logged with what is trained and how."""
    settings, train_dl = run.settings, run.train_dl
    plan = schedule_plan(settings, weight_source is not None)
    steps_per_epoch = len(train_dl)
    epochs = epochs_for(int(settings["epochs"]), steps_per_epoch, int(settings["min_steps"]))
    log(
        f"{run.name}: {settings['type']}, {count_parameters(model):,} parameters, "
        f"{len(run.classes)} classes, "
        f"{len(train_dl.dataset)} train / {len(run.valid_dl.dataset)} valid clips, "
        f"device {run.device}, weights: {weight_source or 'random init'}, "
        f"{plan['schedule']} (lr {plan['lr_groups']}), "
        f"{precision_name(run.precision)}, "
        f"{'deterministic' if run.deterministic else 'autotuned'}"
    )
    if run.reading is not None:
        cut = run.reading.cut(train_dl.dataset.stored_lengths + run.valid_dl.dataset.stored_lengths)
        log(
            f"{run.name}: whole clips, read up to their first {settings['max_seconds']} s "
            f"({cut} train/valid clip(s) longer), in batches of up to {settings['batch_size']} "
            f"clips and {settings['batch_seconds']} s of audio"
        )
    if epochs != int(settings["epochs"]):
        log(
            f"{run.name}: {len(train_dl.dataset)} train clips at batch size "
            f"{settings['batch_size']} give {steps_per_epoch} optimizer step(s) per epoch; "
            f"{settings['epochs']} epochs raised to {epochs} so that training takes at least "
            f"min_steps = {settings['min_steps']} steps"
        )
    return plan, epochs


def fit(
    model: nn.Module, run: TrainingRun, plan: dict, epochs: int, frozen: nn.Module | None
) -> tuple[EpochHistory, float]:
    """Fit `model` by the plan's schedule: (its epoch history, the seconds it took)."""
    settings = run.settings
    history = EpochHistory(plan["freeze_epochs"] + epochs)
    lrs, wds = group_hypers(settings, len(parameter_groups(model, frozen)))
    learn = build_learner(
        model, run.train_dl, run.valid_dl, run.device, wds, run.precision, cbs=[history],
        frozen=frozen,
    )  # fmt: skip
    lr = float(settings["lr"])
    started = time.perf_counter()
    if plan["schedule"] == "fine_tune":
        learn.fine_tune(
            epochs, base_lr=lr, freeze_epochs=plan["freeze_epochs"], lr_mult=FINE_TUNE_LR_MULT
        )
    else:
        learn.fit_one_cycle(epochs, np.array(lrs) if len(set(lrs)) > 1 else lr)
    synchronize(run.device)
    train_seconds = time.perf_counter() - started
    log(f"{run.name}: {history.steps} optimizer steps in {len(history.rows)} epochs")
    return history, train_seconds


def checkpoint_of(
    model: nn.Module,
    run: TrainingRun,
    history: EpochHistory,
    weight_source: str | None,
) -> dict:
    """What model.pt records of the trained network and of how it was trained. No wall-clock
    time: the same inputs and seed give the same model.pt, byte for byte (the seconds are in
    history.csv)."""
    return {
        "model": run.name,
        "type": run.settings["type"],
        "settings": run.settings,
        "classes": run.classes,
        "sample_rate": int(run.cache.sample_rate),
        "clip_seconds": float(run.clip_seconds),
        # how the cache was made from audio files, so predict.py can do the same to new ones
        "preprocess": dict(run.cache.settings),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "device": str(run.device),
        "train_precision": precision_name(run.precision),
        "deterministic": run.deterministic,
        "seed": int(run.seed),
        "pretrained": weight_source is not None,
        "weight_source": weight_source,
        "n_params": count_parameters(model),
        "n_train": len(run.train_dl.dataset),
        "epochs_run": len(history.rows),
        "optimizer_steps": history.steps,
    }
