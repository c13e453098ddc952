"""The packed clip cache: every usable clip, trimmed and whole, in one int16 tensor."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from audioclf.io import load_torch_file, write_torch
from audioclf.preprocess.audio import INT16_SCALE, to_int16


@dataclass
class PackedClips:
    """Clips concatenated into `waveforms`; clip i is waveforms[offsets[i]:offsets[i+1]]."""

    waveforms: torch.Tensor  # int16, 1-D
    offsets: torch.Tensor  # int64, (n + 1,)
    fnames: list[str]
    labels: list[str]
    sample_rate: int
    original_seconds: torch.Tensor  # float64, (n,): duration before silence removal
    settings: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.fnames)
        if len(self.labels) != n or self.offsets.numel() != n + 1:
            raise ValueError(
                f"packed cache is inconsistent: {n} fnames, {len(self.labels)} labels, "
                f"{self.offsets.numel()} offsets (expected {n + 1})"
            )
        self._index = {name: i for i, name in enumerate(self.fnames)}

    def __len__(self) -> int:
        return len(self.fnames)

    @property
    def lengths(self) -> torch.Tensor:
        return self.offsets[1:] - self.offsets[:-1]

    @property
    def trimmed_seconds(self) -> torch.Tensor:
        return self.lengths.double() / self.sample_rate

    def raw(self, i: int) -> torch.Tensor:
        """Clip i as stored (int16), without a copy."""
        return self.waveforms[self.offsets[i] : self.offsets[i + 1]]

    def clip(self, i: int) -> torch.Tensor:
        """Clip i as float32 in [-1, 1]."""
        return self.raw(i).float() / INT16_SCALE

    def index(self, fnames: Sequence[str]) -> list[int]:
        """Positions of `fnames` in the cache; a name not in it raises KeyError naming it."""
        missing = [f for f in fnames if f not in self._index]
        if missing:
            raise KeyError(
                f"{len(missing)} clip(s) not in the packed cache, e.g. {missing[:5]}; "
                "rerun preprocess_audio (delete results/data/cache.pt)"
            )
        return [self._index[f] for f in fnames]

    @classmethod
    def from_clips(
        cls,
        clips: Sequence[torch.Tensor],
        fnames: Sequence[str],
        labels: Sequence[str],
        sample_rate: int,
        original_seconds: Sequence[float],
        settings: dict | None = None,
    ) -> PackedClips:
        """Pack float clips (1-D, [-1, 1]) into one int16 tensor."""
        lengths = torch.tensor([0] + [c.numel() for c in clips], dtype=torch.int64)
        offsets = torch.cumsum(lengths, 0)
        waveforms = torch.empty(int(offsets[-1]), dtype=torch.int16)
        for i, c in enumerate(clips):
            waveforms[offsets[i] : offsets[i + 1]] = torch.from_numpy(to_int16(c))
        return cls(
            waveforms=waveforms,
            offsets=offsets,
            fnames=list(fnames),
            labels=list(labels),
            sample_rate=int(sample_rate),
            original_seconds=torch.tensor(list(original_seconds), dtype=torch.float64),
            settings=dict(settings or {}),
        )

    def save(self, path: str | os.PathLike) -> None:
        """Write the cache atomically (temporary name, then rename)."""
        payload = {
            "format": "audioclf-packed-clips/1",
            "waveforms": self.waveforms,
            "offsets": self.offsets,
            "fnames": self.fnames,
            "labels": self.labels,
            "sample_rate": self.sample_rate,
            "original_seconds": self.original_seconds,
            "settings": self.settings,
        }
        write_torch(path, payload)

    @classmethod
    def load(cls, path: str | os.PathLike) -> PackedClips:
        """Load the whole cache in one read."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no packed clip cache; run preprocess_audio")
        payload = load_torch_file(
            path, "a packed clip cache", "delete it and rerun preprocess_audio"
        )
        if not isinstance(payload, dict) or payload.get("format") != "audioclf-packed-clips/1":
            raise ValueError(f"{path}: not an audioclf packed clip cache; delete it and rerun")
        payload.pop("format")
        return cls(**payload)
