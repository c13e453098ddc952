"""Train an autoencoder around a waveform model's encoder on an unlabeled pool; write
encoder.pt (the encoder's weights, keyed as in the classifier) and history.csv."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

from audioclf.contracts import EXCLUDED, HISTORY_PRETRAIN, SPLIT
from audioclf.devices import resolve_device, seed_everything, set_threads
from audioclf.io import log, write_torch
from audioclf.learn.data import ClipDataset, batched, clip_samples, to_device
from audioclf.learn.registry import MODEL_TYPES, build_model, model_type
from audioclf.preprocess.cache import PackedClips
from audioclf.preprocess.clips import is_cached_copy
from audioclf.pretrain import DEFAULT_POOL, POOLS
from audioclf.pretrain.autoencoder import LOSS_FFTS, LOSSES, WaveformAutoencoder, encoder_keys
from audioclf.pretrain.pool import MAX_CLIPS

ENCODER_FORMAT = "audioclf-encoder/1"
PRETRAIN_DEFAULTS = {
    "pool": DEFAULT_POOL,
    "epochs": 20,
    "lr": 1e-3,
    "batch_size": 32,
    "crop_seconds": 1.0,
    "loss": "spectral",
    "settings": {},  # the encoder's shape: its type's encoder_settings, as its models set them
}
EXAMPLES = 2  # clips whose input and reconstruction encoder.pt keeps for the report


def pool_record(s, split_csv, cache, fnames, pool_samples, pool_excluded) -> dict:
    """What encoder.pt says of its pool, for the report: source, size, and for a pool of
    its own the folders or labels it came from and the files it excluded."""
    record = {
        "source": s["pool"],
        "split": None if split_csv is None else str(split_csv),
        "n_clips": len(fnames),
        "seconds": pool_samples / cache.sample_rate,
        "fnames": list(fnames),  # what the encoder was trained on, for checks and audits
    }
    if s["pool"] == "folder":
        record["folders"] = [str(f) for f in s.get("folders") or []]
    if s["pool"] == "other_labels":
        record["labels"] = sorted(set(cache.labels))
        record["max_clips"] = int(s.get("max_clips", MAX_CLIPS))
    if pool_excluded is not None:
        excluded = EXCLUDED.read(pool_excluded)
        record["excluded"] = len(excluded)
        record["excluded_csv"] = str(pool_excluded)
        record["excluded_as_dataset_clips"] = sum(map(is_cached_copy, excluded["reason"]))
    return record


class PretrainError(ValueError):
    """The pool or the settings cannot pretrain an encoder."""


def encoder_types() -> list[str]:
    """The registered model types that have an encoder to pretrain."""
    return [name for name, entry in MODEL_TYPES.items() if entry.encoder is not None]


def resolve(settings: Mapping) -> dict:
    s = {**PRETRAIN_DEFAULTS, **settings}
    if s.get("encoder") not in encoder_types():
        raise PretrainError(
            f"encoder {s.get('encoder')!r} is not one of {encoder_types()} (the model types "
            "whose first layers an autoencoder can pretrain)"
        )
    if s["pool"] not in POOLS:
        raise PretrainError(f"pool {s['pool']!r} is not one of {POOLS}")
    if s["loss"] not in LOSSES:
        raise PretrainError(f"loss {s['loss']!r} is not one of {sorted(LOSSES)}")
    return s


def pool_fnames(cache: PackedClips, split_csv: str | os.PathLike | None, pool: str) -> list[str]:
    """The unlabeled pool's clips: with `train`, the split's train clips only, so the pool
    of a run never holds a valid or test clip of that run's split; any other pool is its
    own cache, whole (built without any clip equal to a dataset clip)."""
    if pool != "train":
        return list(cache.fnames)
    if split_csv is None:
        raise PretrainError("the train pool needs the run's split.csv")
    split = SPLIT.read(split_csv)
    return [str(f) for f in split.loc[split["split"] == "train", "fname"]]


def pool_words(pool: str, split_csv, cache_path) -> str:
    if pool == "train":
        return f"the train pool of {split_csv}"
    return f"the {pool} pool {cache_path}"


def pretrain(
    cache_path: str | os.PathLike,
    split_csv: str | os.PathLike | None,
    out_encoder: str | os.PathLike,
    out_history: str | os.PathLike,
    *,
    name: str,
    settings: Mapping,
    pool_excluded: str | os.PathLike | None = None,
    device: str = "auto",
    seed: int = 0,
    threads: int | None = None,
    deterministic: bool | str = "auto",
) -> dict:
    """Fit the autoencoder of `settings["encoder"]`'s first layer(s) on the pool; return
    what encoder.pt holds. `cache_path` is the dataset's cache for the train pool (with the
    run's `split_csv`), else the pool's own cache (with its `pool_excluded` table)."""
    set_threads(threads)
    s = resolve(settings)
    torch_device = resolve_device(device)
    seed_everything(seed, deterministic, torch_device)
    cache = PackedClips.load(cache_path)
    fnames = pool_fnames(cache, split_csv, s["pool"])
    where = pool_words(s["pool"], split_csv, cache_path)
    crop = clip_samples(float(s["crop_seconds"]), cache.sample_rate)
    pool_samples = checked_pool(name, s, cache, fnames, crop, where)
    model = build_model({"type": s["encoder"], **s["settings"]}, 2, crop, cache.sample_rate)
    encoder = model_type(s["encoder"]).encoder(model)
    autoencoder = WaveformAutoencoder(encoder).to(torch_device)
    dataset = ClipDataset(
        cache, fnames, [0] * len(fnames), crop, torch.Generator().manual_seed(seed + 1)
    )
    log(
        f"pretrain.{name}: {s['encoder']} encoder, {s['loss']} loss, {where}: "
        f"{len(fnames)} clips ({pool_samples / cache.sample_rate:.0f} s), crops of "
        f"{s['crop_seconds']} s, {s['epochs']} epochs, device {torch_device}"
    )
    history = fit_autoencoder(autoencoder, dataset, s, seed, torch_device)
    state = model.state_dict()
    checkpoint = {
        "format": ENCODER_FORMAT,
        "name": name,
        "encoder_type": s["encoder"],
        "settings": s,
        "sample_rate": int(cache.sample_rate),
        "state_dict": {k: state[k].detach().cpu().clone() for k in encoder_keys(model, encoder)},
        "pool": pool_record(s, split_csv, cache, fnames, pool_samples, pool_excluded),
        "examples": reconstructions(autoencoder, dataset, torch_device),
        # the loss per epoch; the seconds only in history.csv, so that the same inputs
        # give the same encoder.pt, byte for byte
        "history": [{k: v for k, v in row.items() if k != "seconds"} for row in history],
    }
    write_torch(out_encoder, checkpoint)
    HISTORY_PRETRAIN.write(
        out_history, pd.DataFrame(history, columns=list(HISTORY_PRETRAIN.columns))
    )
    log(f"pretrain.{name}: loss {history[0]['loss']:.4f} -> {history[-1]['loss']:.4f}")
    return checkpoint


def checked_pool(
    name: str, s: dict, cache: PackedClips, fnames: list[str], crop: int, where: str
) -> int:
    """The pool's samples, once the crop is long enough for the loss and the pool holds at
    least one crop of audio."""
    if s["loss"] == "spectral" and crop <= max(LOSS_FFTS) // 2:
        raise PretrainError(
            f"pretrain.{name}.crop_seconds: {s['crop_seconds']} s is {crop} samples, too short "
            f"for the spectral loss's {max(LOSS_FFTS)}-point window (more than "
            f"{max(LOSS_FFTS) // 2} needed); raise crop_seconds"
        )
    rows = cache.index(fnames)
    pool_samples = int(sum(int(cache.lengths[r]) for r in rows))
    if not fnames or pool_samples < crop:
        raise PretrainError(
            f"pretrain.{name}: {where} has {len(fnames)} usable clip(s), "
            f"{pool_samples / cache.sample_rate:.2f} s of audio, less than one crop of "
            f"{s['crop_seconds']} s; add audio or lower crop_seconds"
        )
    return pool_samples


def fit_autoencoder(
    autoencoder: nn.Module, dataset: ClipDataset, s: dict, seed: int, device: torch.device
) -> list[dict]:
    """Train `autoencoder` on random crops of `dataset` with AdamW; one history row an epoch."""
    loss_of = LOSSES[s["loss"]]
    batch_size = min(int(s["batch_size"]), len(dataset))
    loader = DataLoader(
        dataset, batch_size=batch_size, shuffle=True, drop_last=len(dataset) > batch_size,
        generator=torch.Generator().manual_seed(seed), collate_fn=batched,
    )  # fmt: skip
    optimizer = torch.optim.AdamW(autoencoder.parameters(), lr=float(s["lr"]))
    history = []
    for epoch in range(1, int(s["epochs"]) + 1):
        started, total, seen = time.perf_counter(), 0.0, 0
        autoencoder.train()
        for batch in loader:
            wave, _ = to_device(batch, device)
            loss = loss_of(autoencoder(wave), wave)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total = total + loss.detach() * len(wave)  # on the device: no host sync a batch
            seen += len(wave)
        history.append(
            {
                "epoch": epoch,
                "loss": float(total) / max(1, seen),
                "seconds": time.perf_counter() - started,
            }
        )
        log(f"epoch {epoch}/{s['epochs']}  loss {history[-1]['loss']:.4f}  "
            f"{history[-1]['seconds']:.1f} s")  # fmt: skip
    return history


def reconstructions(
    autoencoder: nn.Module, dataset: ClipDataset, device: torch.device
) -> dict[str, torch.Tensor]:
    """The first EXAMPLES crops of the pool and the trained autoencoder's reconstructions."""
    autoencoder.eval()
    with torch.no_grad():
        examples = torch.stack([dataset[i][0] for i in range(min(EXAMPLES, len(dataset)))])
        (inputs,) = to_device((examples,))  # int16 -> float, on the CPU
        outputs = autoencoder(inputs.to(device)).cpu()
    return {"input": inputs[:, 0].clone(), "reconstruction": outputs[:, 0].clone()}
