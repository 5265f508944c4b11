"""Thorough depth: fine-tune the embedder's last residual stages and its final linear layer on chips.

The recipe is the quick depth's (:mod:`faceorg.train.head`) one level deeper: person batches
(:class:`PersonBatchSampler` through :class:`HeadBatchBuilder`), semi-hard triplets plus every
cannot-link pair (:class:`SemiHardTripletMiner`), the triplet loss with margin 0.2 on L2-normalised
outputs, a distillation term that keeps unlabelled faces where the original model put them, and
early stopping on held-out user labels (:func:`split_holdout`, :class:`HeldOutEvaluator`) that keeps
the best weights.

Frozen-prefix cache. Only the last ``trainable_stages`` residual stages and ``fc`` learn; the stem and
the stages before them are frozen, and on the CPU they cost about two thirds of a training step per
face (measured: 6.8 ms of a 10.4 ms forward+backward per chip, 1 thread). So their output is computed
once per face and *view*: view 0 is the chip itself, views 1..``views-1`` are augmented copies
(:mod:`faceorg.train.augment`, seeded), and each training step picks a random view per face. The
original model's embedding of every view is stored alongside: it is the distillation target (the
frozen copy of the original model, computed once instead of every step). Activations are kept as
float16 (16 KB per face and view for ``trainable_stages=2``).

Learning rates are relative, per tensor: Adam's step for each tensor is ``learning_rate`` times that
tensor's RMS. dlib's folded batch norm leaves conv weights around 0.003 and affine gains around 8, so one
absolute rate would either freeze the gains or blow up the convolutions. Conv biases (all ~1e-8, made
redundant by the affine ``beta`` that follows each conv) stay fixed.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from faceorg.train.augment import Augmenter
from faceorg.train.data import TrainingSet
from faceorg.train.distill import EmbeddingDistillation
from faceorg.train.dlib_resnet import CHIP_SIZE, DlibResNet
from faceorg.train.head import (
    CancelCheck,
    HeadBatch,
    HeadBatchBuilder,
    HeldOutEvaluator,
    HeldOutMetrics,
    ProgressCallback,
    RoundRecord,
    optimise_step,
    resolve_device,
    split_holdout,
    torch_threads,
)
from faceorg.train.losses import TripletLoss
from faceorg.train.miners import SemiHardTripletMiner
from faceorg.train.rounds import TrainingRounds, check_cancel
from faceorg.train.samplers import CannotLinkIndex

log = logging.getLogger(__name__)

N_STAGES = 5


# ------------------------------------------------------------------------------------------ inputs
def chips_tensor(chips: np.ndarray | torch.Tensor) -> torch.Tensor:
    """float32 ``[k, 3, 150, 150]`` 0..255 from chips as loaders deliver them: uint8 (or float)
    ``[k, 150, 150, 3]`` RGB, or already ``[k, 3, 150, 150]``."""
    x = torch.as_tensor(np.asarray(chips) if not isinstance(chips, torch.Tensor) else chips)
    if x.ndim != 4:
        raise ValueError(f"chips must be a 4-D array, got shape {tuple(x.shape)}")
    if x.shape[1:] == (CHIP_SIZE, CHIP_SIZE, 3):
        x = x.permute(0, 3, 1, 2)
    if x.shape[1:] != (3, CHIP_SIZE, CHIP_SIZE):
        raise ValueError(f"chips must be [k, 150, 150, 3] or [k, 3, 150, 150], got {tuple(x.shape)}")
    return x.to(torch.float32).contiguous()


ChipSource = Callable[[np.ndarray], np.ndarray]


@torch.no_grad()
def embed_chips_and_features(model: DlibResNet, load_chips: ChipSource, rows: np.ndarray, *,
                             batch: int = 128, device: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Raw embeddings ``[k, 128]`` and features ``[k, 256]`` (float32) of the chips ``load_chips(rows)``
    returns, in batches, with ``model`` as it is (moved to ``device`` for the call, then back)."""
    dev = resolve_device(device)
    original = next(model.parameters()).device
    model.to(dev)
    rows = np.asarray(rows, dtype=np.int64)
    embeddings, features = [], []
    try:
        for start in range(0, len(rows), batch):
            e, f = model(chips_tensor(load_chips(rows[start:start + batch])).to(dev))
            embeddings.append(e.cpu().numpy())
            features.append(f.cpu().numpy())
    finally:
        model.to(original)
    if not embeddings:
        return np.zeros((0, 128), np.float32), np.zeros((0, 256), np.float32)
    return np.concatenate(embeddings), np.concatenate(features)


def embed_chips(model: DlibResNet, load_chips: ChipSource, rows: np.ndarray, *, batch: int = 128,
                device: str | None = None) -> np.ndarray:
    """Raw (not normalised) embeddings ``[k, 128]`` of the chips of ``rows``; see
    :func:`embed_chips_and_features`."""
    return embed_chips_and_features(model, load_chips, rows, batch=batch, device=device)[0]


# ------------------------------------------------------------------------------------------ result
@dataclass(frozen=True)
class FinetuneResult:
    """The fine-tuned embedder and how it came about.

    ``model``: a new :class:`DlibResNet` on the CPU in eval mode with the best weights seen (a copy of
    the initial model when nothing beat it; the model passed in is never changed). ``before`` /
    ``after``: held-out metrics of the initial and the returned weights (``None`` without a usable
    held-out set). ``stop_reason``: "nothing to train", "no steps", "patience", "epochs",
    "max_steps" or "time limit". ``seconds`` in all, of which ``cache_seconds`` computing the frozen
    layers; ``threads``: torch CPU threads used (None on a GPU).
    """

    model: DlibResNet
    before: HeldOutMetrics | None
    after: HeldOutMetrics | None
    history: list[RoundRecord] = field(default_factory=list)
    best_round: int = 0
    steps: int = 0
    stop_reason: str = ""
    device: str = "cpu"
    seconds: float = 0.0
    cache_seconds: float = 0.0
    n_held_out: int = 0
    trainable_stages: int = 2
    views: int = 1
    threads: int | None = None

    @property
    def changed(self) -> bool:
        return self.best_round > 0

    @property
    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.model.state_dict()

    @property
    def seconds_per_step(self) -> float:
        """Training seconds per step (evaluations included, the cache excluded)."""
        return (self.seconds - self.cache_seconds) / self.steps if self.steps else math.nan


@dataclass(frozen=True)
class FinetuneRecipe:
    """The knobs of :func:`finetune` (documented there)."""

    trainable_stages: int = 2
    margin: float = 0.2
    distill_weight: float = 1.0
    augment: bool = True
    views: int = 3
    epochs: int = 100
    max_steps: int | None = 600
    max_seconds: float | None = None
    patience: int = 4
    eval_every: int = 50
    people_per_batch: int = 16
    faces_per_person: int = 4
    unlabelled_per_batch: int = 32
    max_unlabelled: int = 2000
    max_partners: int = 64
    max_reference: int = 2000
    learning_rate: float = 1e-3
    holdout_fraction: float = 0.2
    target_far: float = 1e-3
    seed: int = 0
    max_cache_bytes: int = 1 << 30


# ------------------------------------------------------------------------------------ working set
@dataclass(frozen=True)
class WorkingSet:
    """The faces one run touches, as local rows ``0..n-1`` (``rows`` maps them to training rows).

    Labelled faces (trained on, or held out), every face of a cannot-link pair, and up to
    ``max_unlabelled`` other unlabelled faces for the distillation term. ``reference`` marks the
    labelled training faces the held-out ones are compared with (at most ``max_reference``).
    """

    rows: np.ndarray
    labels: np.ndarray
    holdout: np.ndarray
    cannot_link: np.ndarray  # [k, 2] local rows
    reference: np.ndarray

    @property
    def trainable(self) -> np.ndarray:
        return ~self.holdout

    @property
    def evaluated(self) -> np.ndarray:
        """Local rows scored each round: the held-out faces and the reference faces."""
        return np.flatnonzero(self.holdout | self.reference)


def select_working_set(labels: np.ndarray, cannot_link: np.ndarray, holdout: np.ndarray,
                       recipe: FinetuneRecipe) -> WorkingSet:
    """Choose the faces of a run (see :class:`WorkingSet`); seeded by ``recipe.seed``."""
    rng = np.random.default_rng([recipe.seed, 11])
    n = len(labels)
    linked = np.zeros(n, dtype=bool)
    linked[cannot_link.ravel()] = True
    spare = np.flatnonzero((labels < 0) & ~linked)
    if len(spare) > recipe.max_unlabelled:
        spare = rng.choice(spare, size=recipe.max_unlabelled, replace=False)
    keep = (labels >= 0) | linked
    keep[spare] = True
    rows = np.flatnonzero(keep)
    local = np.full(n, -1, dtype=np.int64)
    local[rows] = np.arange(len(rows))
    held = holdout[rows]
    candidates = np.flatnonzero((labels[rows] >= 0) & ~held)
    if len(candidates) > recipe.max_reference:
        candidates = rng.choice(candidates, size=recipe.max_reference, replace=False)
    reference = np.zeros(len(rows), dtype=bool)
    reference[candidates] = True
    return WorkingSet(rows=rows, labels=labels[rows], holdout=held,
                      cannot_link=local[cannot_link].reshape(-1, 2), reference=reference)


# -------------------------------------------------------------------------------------- the model
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


def relative_adam(parameters: list[nn.Parameter], learning_rate: float) -> torch.optim.Adam:
    """Adam with one group per tensor, its rate ``learning_rate`` times the tensor's initial RMS."""
    groups = []
    for p in parameters:
        rms = float(p.detach().pow(2).mean().sqrt())
        groups.append({"params": [p], "lr": learning_rate * max(rms, 1e-6)})
    return torch.optim.Adam(groups)


# -------------------------------------------------------------------------------------- the cache
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


# -------------------------------------------------------------------------------------- one step
class FinetuneStep:
    """One optimisation step: a random view per face, the trainable suffix on the cached
    activations, semi-hard triplets + cannot-link, distillation of the unlabelled faces."""

    def __init__(self, split: SplitModel, cache: ViewCache, recipe: FinetuneRecipe,
                 generator: torch.Generator) -> None:
        self._split = split
        self._cache = cache
        self._optimizer = relative_adam(split.trainable_parameters(), recipe.learning_rate)
        self._miner = SemiHardTripletMiner(recipe.margin)
        self._triplet_loss = TripletLoss(recipe.margin)
        self._distill = EmbeddingDistillation()
        self._distill_weight = recipe.distill_weight
        self._views = cache.views if recipe.augment else 1
        self._generator = generator

    def _random_views(self, n: int, device: torch.device) -> torch.Tensor:
        return torch.randint(self._views, (n,), generator=self._generator).to(device)

    def __call__(self, batch: HeadBatch) -> np.ndarray:
        """Take a step; returns (loss, triplet loss, distill loss, active triplets, triplets)."""
        rows = torch.cat([batch.faces, batch.unlabelled])
        views = self._random_views(len(rows), rows.device)
        embeddings, _ = self._split.suffix(self._cache.get(rows, views))
        n = len(batch.faces)
        labelled = embeddings[:n]
        triplets = self._miner(labelled, batch.labels, batch.cannot_link)
        triplet = self._triplet_loss(labelled, triplets)
        distill = self._distill(embeddings[n:], self._cache.target(batch.unlabelled, views[n:]))
        return optimise_step(self._optimizer, triplet, distill, self._distill_weight)

    def snapshot(self) -> dict[str, torch.Tensor]:
        """A CPU copy of the whole model's weights."""
        return {k: v.detach().to("cpu", copy=True) for k, v in self._split.model.state_dict().items()}


# ------------------------------------------------------------------------------------- evaluation
class RoundEvaluator:
    """Held-out metrics of the current suffix: features of the evaluated faces (view 0), then
    :class:`HeldOutEvaluator` with the current ``fc`` weight."""

    def __init__(self, split: SplitModel, cache: ViewCache, work: WorkingSet, recipe: FinetuneRecipe,
                 device: torch.device) -> None:
        self._split = split
        self._cache = cache
        self._rows = torch.as_tensor(work.evaluated, device=device)
        self._labels = work.labels[work.evaluated]
        self._holdout = work.holdout[work.evaluated]
        self._far = recipe.target_far
        self._seed = recipe.seed
        probe = HeldOutEvaluator(torch.zeros(len(self._labels), 1), self._labels, self._holdout,
                                 self._far, seed=self._seed, max_reference=len(self._labels))
        self.usable = probe.usable

    @torch.no_grad()
    def __call__(self) -> HeldOutMetrics:
        parts = []
        zeros = torch.zeros(0, dtype=torch.long, device=self._rows.device)
        for start in range(0, len(self._rows), 256):
            rows = self._rows[start:start + 256]
            _, features = self._split.suffix(self._cache.get(rows, zeros.new_zeros(len(rows))))
            parts.append(features)
        features = torch.cat(parts)
        evaluator = HeldOutEvaluator(features, self._labels, self._holdout, self._far, seed=self._seed,
                                     max_reference=len(self._labels))
        return evaluator(self._split.model.fc.weight.detach())


# ------------------------------------------------------------------------------------- entry point
def finetune(
    training: TrainingSet,
    model: DlibResNet,
    *,
    trainable_stages: int = 2,
    margin: float = 0.2,
    distill_weight: float = 1.0,
    augment: bool = True,
    views: int = 3,
    epochs: int = 100,
    max_steps: int | None = 600,
    max_seconds: float | None = None,
    patience: int = 4,
    eval_every: int = 50,
    people_per_batch: int = 16,
    faces_per_person: int = 4,
    unlabelled_per_batch: int = 32,
    max_unlabelled: int = 2000,
    learning_rate: float = 1e-3,
    holdout: np.ndarray | None = None,
    holdout_fraction: float = 0.2,
    target_far: float = 1e-3,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    device: str | None = None,
    cpu_threads: int | None = None,
) -> FinetuneResult:
    """Fine-tune ``model``'s last ``trainable_stages`` residual stages and ``fc`` on
    ``training``'s chips (see the module docstring); ``model`` itself is not changed.

    ``training.load_chips(rows)`` must give the chips (uint8 ``[k, 150, 150, 3]`` or float
    ``[k, 3, 150, 150]``). Each step: ``people_per_batch x faces_per_person`` labelled faces and their
    cannot-link partners, semi-hard triplets with ``margin``, plus ``distill_weight`` times the
    distillation term over ``unlabelled_per_batch`` unlabelled faces (drawn from at most
    ``max_unlabelled``). ``augment``: train on ``views`` views per face (the chip and ``views - 1``
    augmented copies); off, only the chips themselves. ``learning_rate`` is relative (see the module
    docstring).

    Early stopping as in :func:`faceorg.train.head.train_head`: ``holdout`` (default
    :func:`split_holdout` with ``holdout_fraction``) is scored after each round at ``target_far``;
    ``patience`` rounds without improvement, ``epochs``, ``max_steps`` or ``max_seconds`` (wall clock
    of the whole call, the frozen-layer pass included) stop it. ``progress(steps, max_steps,
    summary)`` is called while preparing (with 0, 0) and after each round; ``cancel()`` is checked
    before each step and chunk (true, or raising ``CancelledError``, stops with ``CancelledError``).

    ``device``: None = CUDA when torch sees a GPU, else the CPU. ``cpu_threads``: torch threads on the
    CPU during the call (restored afterwards); None measures 1 thread against several on the first
    chunks of the frozen-layer pass and keeps the faster.
    """
    recipe = FinetuneRecipe(
        trainable_stages=trainable_stages, margin=margin, distill_weight=distill_weight,
        augment=augment, views=views if augment else 1, epochs=epochs, max_steps=max_steps,
        max_seconds=max_seconds, patience=patience, eval_every=eval_every,
        people_per_batch=people_per_batch, faces_per_person=faces_per_person,
        unlabelled_per_batch=unlabelled_per_batch, max_unlabelled=max_unlabelled,
        learning_rate=learning_rate, holdout_fraction=holdout_fraction, target_far=target_far, seed=seed)
    return run_finetune(training, model, recipe, holdout=holdout, progress=progress, cancel=cancel,
                        device=device, cpu_threads=cpu_threads)


def run_finetune(training: TrainingSet, model: DlibResNet, recipe: FinetuneRecipe, *,
                 holdout: np.ndarray | None = None, progress: ProgressCallback | None = None,
                 cancel: CancelCheck | None = None, device: str | None = None,
                 cpu_threads: int | None = None) -> FinetuneResult:
    """:func:`finetune` with its knobs in a :class:`FinetuneRecipe`."""
    started = time.perf_counter()
    if training.load_chips is None:
        raise ValueError("the thorough depth needs the chips: training.load_chips is not set")
    if recipe.views < 1:
        raise ValueError("views must be at least 1")
    dev = resolve_device(device)
    labels = training.labels
    links = CannotLinkIndex(training.cannot_link, len(labels))
    if holdout is None:
        holdout = split_holdout(labels, links.pairs, recipe.holdout_fraction, seed=recipe.seed)
    holdout = np.asarray(holdout, dtype=bool) & (labels >= 0)
    work = select_working_set(labels, links.pairs, holdout, recipe)
    student = copy.deepcopy(model).to(dev).eval()
    split = SplitModel(student, recipe.trainable_stages)
    threads = ThreadChooser(cpu_threads, dev)
    base = _Outcome(model, recipe, dev, started, int(holdout.sum()))

    if not np.any(work.trainable & (work.labels >= 0)):
        return base.result(student, None, "nothing to train", threads=threads.chosen)
    if recipe.epochs <= 0 or recipe.max_steps == 0:
        return base.result(student, None, "no steps", threads=threads.chosen)

    bytes_per_view = int(np.prod(split.prefix_shape())) * 2
    views = affordable_views(recipe.views, len(work.rows), bytes_per_view, recipe.max_cache_bytes)
    if views < recipe.views:
        log.warning("frozen-layer cache limited to %d views per face (of %d) by its memory budget",
                    views, recipe.views)
    recipe = replace(recipe, views=views)
    augmenter = Augmenter() if recipe.augment and views > 1 else None
    cache = build_view_cache(split, training.load_chips, work, views, augmenter, seed=recipe.seed,
                             device=dev, threads=threads, cancel=cancel, progress=progress)
    cache_seconds = time.perf_counter() - started
    threads.finish()
    with torch_threads(threads.chosen):
        evaluate = RoundEvaluator(split, cache, work, recipe, dev)
        evaluator = evaluate if evaluate.usable else None
        before = evaluator() if evaluator else None
        batches = HeadBatchBuilder(
            work.labels, work.trainable, CannotLinkIndex(work.cannot_link, len(work.rows)),
            people_per_batch=recipe.people_per_batch, faces_per_person=recipe.faces_per_person,
            unlabelled_per_batch=recipe.unlabelled_per_batch, max_partners=recipe.max_partners,
            seed=recipe.seed, device=dev)
        step = FinetuneStep(split, cache, recipe, torch.Generator().manual_seed(recipe.seed))
        loop = TrainingRounds(batches, step, evaluator, recipe, progress, cancel, started, show_steps=True)
        best = loop.run(before)
    student.load_state_dict(best.weights)
    return base.result(student, best.metrics, loop.stop_reason, before=before, history=loop.history,
                       best_round=best.round, steps=loop.steps, cache_seconds=cache_seconds,
                       views=views, threads=threads.chosen)


@dataclass(frozen=True)
class _Outcome:
    """Builds the :class:`FinetuneResult` from what every exit shares."""

    original: DlibResNet
    recipe: FinetuneRecipe
    device: torch.device
    started: float
    n_held_out: int

    def result(self, student: DlibResNet, after: HeldOutMetrics | None, stop_reason: str, *,
               before: HeldOutMetrics | None = None, history: list[RoundRecord] | None = None,
               best_round: int = 0, steps: int = 0, cache_seconds: float = 0.0, views: int = 1,
               threads: int | None = None) -> FinetuneResult:
        model = student.cpu().eval()
        model.requires_grad_(True)
        if best_round == 0:  # nothing beat the start: hand back exactly the initial weights
            model.load_state_dict(self.original.state_dict())
        return FinetuneResult(
            model=model, before=before, after=after if best_round else before, history=history or [],
            best_round=best_round, steps=steps, stop_reason=stop_reason, device=str(self.device),
            seconds=time.perf_counter() - self.started, cache_seconds=cache_seconds,
            n_held_out=self.n_held_out, trainable_stages=self.recipe.trainable_stages, views=views,
            threads=threads)
