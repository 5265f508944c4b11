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
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from faceorg.train.augment import Augmenter
from faceorg.train.data import TrainingSet
from faceorg.train.device import resolve_device, torch_threads
from faceorg.train.distill import EmbeddingDistillation
from faceorg.train.dlib_resnet import DlibResNet
from faceorg.train.frozen import (
    SplitModel,
    ThreadChooser,
    ViewCache,
    affordable_views,
    build_view_cache,
)
from faceorg.train.holdout import HeldOutEvaluator, HeldOutMetrics, split_holdout
from faceorg.train.losses import TripletLoss
from faceorg.train.miners import SemiHardTripletMiner
from faceorg.train.rounds import (
    CancelCheck,
    ProgressCallback,
    RoundRecord,
    TrainingRounds,
)
from faceorg.train.samplers import CannotLinkIndex
from faceorg.train.steps import HeadBatch, HeadBatchBuilder, optimise_step

log = logging.getLogger(__name__)


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


def relative_adam(parameters: list[nn.Parameter], learning_rate: float) -> torch.optim.Adam:
    """Adam with one group per tensor, its rate ``learning_rate`` times the tensor's initial RMS."""
    groups = []
    for p in parameters:
        rms = float(p.detach().pow(2).mean().sqrt())
        groups.append({"params": [p], "lr": learning_rate * max(rms, 1e-6)})
    return torch.optim.Adam(groups)


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
def finetune(training: TrainingSet, model: DlibResNet, recipe: FinetuneRecipe | None = None, *,
             holdout: np.ndarray | None = None, progress: ProgressCallback | None = None,
             cancel: CancelCheck | None = None, device: str | None = None,
             cpu_threads: int | None = None) -> FinetuneResult:
    """Fine-tune ``model``'s last ``trainable_stages`` residual stages and ``fc`` on
    ``training``'s chips with ``recipe`` (default :class:`FinetuneRecipe`; its fields are the knobs
    named below; see also the module docstring); ``model`` itself is not changed.

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
    recipe = recipe or FinetuneRecipe()
    if not recipe.augment:
        recipe = replace(recipe, views=1)
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
