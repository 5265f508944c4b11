"""The thorough depth's frozen prefix: the model cut where training starts, and the cache of its
output for every face and view (see :mod:`faceorg.train.finetune`)."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from faceorg.train.augment import Augmenter
from faceorg.train.chips import ChipSource, chips_tensor
from faceorg.train.device import torch_threads
from faceorg.train.dlib_resnet import CHIP_SIZE, DlibResNet
from faceorg.train.rounds import CancelCheck, ProgressCallback, check_cancel

if TYPE_CHECKING:
    from faceorg.train.finetune import WorkingSet

log = logging.getLogger(__name__)

N_STAGES = 5


class SplitModel:
    """The student, cut where training starts: a frozen ``prefix`` (stem and the first stages) and a
    trainable ``suffix`` (the last ``trainable_stages`` stages, pooling and ``fc``)."""

    def __init__(self, model: DlibResNet, trainable_stages: int) -> None:
        if not 0 <= trainable_stages <= N_STAGES:
            raise ValueError(f"trainable_stages must be 0..{N_STAGES}")
        self.model = model
        self.cut = N_STAGES - trainable_stages
        model.set_trainable(trainable_stages, fc=True)
        for module in model.modules():
            if isinstance(module, nn.Conv2d) and module.bias is not None:
                module.bias.requires_grad_(False)  # redundant with the affine beta that follows

    @torch.no_grad()
    def prefix(self, chips: torch.Tensor) -> torch.Tensor:
        x = (chips - self.model.input_mean) / 256.0
        x = self.model.stem(x)
        for stage in self.model.stages[: self.cut]:
            x = stage(x)
        return x

    def suffix(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(raw embedding, features)`` from prefix activations."""
        for stage in self.model.stages[self.cut:]:
            x = stage(x)
        features = x.mean(dim=(2, 3))
        return self.model.fc(features), features

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.model.parameters() if p.requires_grad]

    def prefix_shape(self) -> tuple[int, ...]:
        dummy = torch.zeros(1, 3, CHIP_SIZE, CHIP_SIZE, device=self.model.input_mean.device)
        return tuple(self.prefix(dummy).shape[1:])


@dataclass
class ViewCache:
    """Frozen-prefix activations ``[views, n, ...]`` (float16) and the original model's raw
    embeddings ``[views, n, 128]`` of every face and view. Held-out faces have view 0 only."""

    activations: torch.Tensor
    teacher: torch.Tensor
    views: int

    def get(self, rows: torch.Tensor, views: torch.Tensor) -> torch.Tensor:
        return self.activations[views, rows].float()

    def target(self, rows: torch.Tensor, views: torch.Tensor) -> torch.Tensor:
        return self.teacher[views, rows]


def affordable_views(wanted: int, n_faces: int, bytes_per_view: int, budget: int) -> int:
    """The most views (at least 1, at most ``wanted``) whose activations fit in ``budget`` bytes."""
    fits = budget // max(1, n_faces * bytes_per_view)
    return int(max(1, min(wanted, fits)))


class ThreadChooser:
    """Picks torch's CPU thread count: ``requested`` when given; else one cache chunk is timed with
    1 thread and one with ``many`` (after a warm-up chunk) and the faster per face wins (a busy
    2-core machine measured 4x slower with 2 threads). ``chosen`` is None on a GPU."""

    def __init__(self, requested: int | None, device: torch.device) -> None:
        self.many = min(os.cpu_count() or 1, 8)
        self.trying = device.type == "cpu" and requested is None and self.many > 1
        self.chosen: int | None = None
        if device.type == "cpu" and not self.trying:
            self.chosen = requested or 1
        self._timings: dict[int, float] = {}

    def next_threads(self) -> int | None:
        """Threads for the next chunk (None: leave torch's setting)."""
        if not self.trying:
            return self.chosen
        return 1 if 1 not in self._timings else self.many

    def record(self, threads: int | None, seconds_per_face: float) -> None:
        """A timed chunk (the warm-up chunk is not recorded)."""
        if self.trying and threads is not None:
            self._timings[threads] = seconds_per_face
            if len(self._timings) == 2:
                self.finish()

    def finish(self) -> None:
        """Settle on the faster count measured (1 when nothing was compared)."""
        if not self.trying:
            return
        self.trying = False
        self.chosen = min(self._timings, key=self._timings.__getitem__) if self._timings else 1
        if len(self._timings) == 2:
            log.info("torch CPU threads: %.1f ms per face view with 1 thread, %.1f with %d: using %d",
                     1000 * self._timings[1], 1000 * self._timings[self.many], self.many, self.chosen)


def build_view_cache(split: SplitModel, load_chips: ChipSource, work: WorkingSet, views: int,
                     augmenter: Augmenter | None, *, seed: int, device: torch.device,
                     threads: ThreadChooser, cancel: CancelCheck | None,
                     progress: ProgressCallback | None, chunk: int = 64) -> ViewCache:
    """Run the frozen prefix (and the rest of the original model, for the targets) over every face
    and view; views 1.. are augmented with a generator seeded from ``seed`` and the chunk."""
    n = len(work.rows)
    shape = split.prefix_shape()
    activations = torch.zeros((views, n, *shape), dtype=torch.float16, device=device)
    teacher = torch.zeros((views, n, split.model.fc.out_features), dtype=torch.float32, device=device)
    total = n + (views - 1) * int(work.trainable.sum())
    done = 0
    for start in range(0, n, chunk):
        check_cancel(cancel)
        local = np.arange(start, min(start + chunk, n))
        chips = chips_tensor(load_chips(work.rows[local])).to(device)
        n_threads = threads.next_threads()
        began = time.perf_counter()
        with torch_threads(n_threads):
            for view in range(views):
                rows = local if view == 0 else local[work.trainable[local]]
                if len(rows) == 0:
                    continue
                x = chips[torch.as_tensor(rows - start, device=device)]
                if view > 0 and augmenter is not None:
                    x = augmenter(x, torch.Generator().manual_seed(_seed_for(seed, view, start)))
                with torch.no_grad():
                    acts = split.prefix(x)
                    embedding, _ = split.suffix(acts)
                index = torch.as_tensor(rows, device=device)
                activations[view, index] = acts.to(torch.float16)
                teacher[view, index] = embedding
                done += len(rows)
        if start > 0:  # the first chunk pays for warming up
            threads.record(n_threads, (time.perf_counter() - began) / max(1, len(local) * views))
        if progress is not None:
            progress(0, 0, f"preparing faces: {done} of {total} face views through the frozen layers")
    return ViewCache(activations, teacher, views)


def _seed_for(seed: int, view: int, start: int) -> int:
    return int(np.random.default_rng([seed, view, start, 7]).integers(2**62))
