"""Quick depth: retrain only the embedder's last linear layer (256 -> 128, no bias) on cached features.

The recipe is FaceNet's: batches of several faces of several people (:class:`PersonBatchSampler`),
all anchor-positive pairs with semi-hard negatives plus the user's cannot-link pairs
(:class:`SemiHardTripletMiner`), the triplet loss, and a distillation term that keeps unlabelled
faces near their original embeddings. Training starts from the current weight and stops early on
held-out user labels, returning the best weight seen (the initial one when nothing beat it).

Held-out faces: by default a stratified share of every person's labelled faces (see
:func:`faceorg.train.holdout.split_holdout`); they are not trained on, so the returned weight has not
seen them. The knobs are a :class:`HeadRecipe`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from faceorg.train.device import resolve_device, torch_threads
from faceorg.train.distill import EmbeddingDistillation
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
from faceorg.vectors import l2_normalize

FEATURE_DIM = 256
EMBEDDING_DIM = 128


def embed_from_features(features: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """L2-normalised float32 embeddings ``[n, 128]`` from pooled features ``[n, 256]`` and a head
    weight ``[128, 256]`` (torch ``Linear`` layout): one matrix product and a row normalisation."""
    return l2_normalize(np.asarray(features, dtype=np.float32) @ np.asarray(weight, dtype=np.float32).T)


@dataclass(frozen=True)
class HeadTrainResult:
    """The new head weight ``[128, 256]`` and how it came about.

    ``before``/``after``: held-out metrics of the initial and of the returned weight (``None``
    without a usable held-out set). ``best_round`` 0 means the initial weight was kept.
    ``stop_reason``: one of "nothing to train", "no steps", "patience", "epochs", "max_steps",
    "time limit".
    """

    weight: np.ndarray
    before: HeldOutMetrics | None
    after: HeldOutMetrics | None
    history: list[RoundRecord] = field(default_factory=list)
    best_round: int = 0
    steps: int = 0
    stop_reason: str = ""
    device: str = "cpu"
    seconds: float = 0.0
    n_held_out: int = 0

    @property
    def changed(self) -> bool:
        return self.best_round > 0


@dataclass(frozen=True)
class HeadRecipe:
    """The training knobs of :func:`train_head` (documented there)."""

    margin: float = 0.2
    distill_weight: float = 1.0
    epochs: int = 30
    max_steps: int | None = 5000
    patience: int = 3
    eval_every: int = 200
    max_seconds: float | None = None
    people_per_batch: int = 32
    faces_per_person: int = 4
    unlabelled_per_batch: int = 256
    max_partners: int = 128
    learning_rate: float = 0.01
    holdout_fraction: float = 0.2
    target_far: float = 1e-3
    seed: int = 0


def train_head(
    features: np.ndarray,
    labels: np.ndarray,
    cannot_link: Sequence[tuple[int, int]] | np.ndarray,
    initial_weight: np.ndarray,
    recipe: HeadRecipe | None = None,
    *,
    holdout: np.ndarray | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    device: str | None = None,
    cpu_threads: int | None = 1,
) -> HeadTrainResult:
    """Retrain the last linear layer from ``initial_weight`` with ``recipe`` (default
    :class:`HeadRecipe`; its fields are the knobs named below; see also the module docstring).

    ``features [n, 256]``: pooled features under the current model. ``labels [n]``: person
    numbers, -1 unlabelled. ``cannot_link``: pairs of row indices known to be different people.
    ``initial_weight [128, 256]``: the current head (torch ``Linear`` layout).

    Each step: ``people_per_batch x faces_per_person`` labelled faces, their cannot-link partners
    (at most ``max_partners``), semi-hard triplets with ``margin``; plus ``distill_weight`` times
    the distillation term over ``unlabelled_per_batch`` unlabelled faces drawn uniformly.
    ``learning_rate`` is relative: Adam's step is ``learning_rate * rms(initial_weight)``, so it
    does not depend on the weight's scale. ``max_steps`` (default 5000, about 30 s on 2 busy
    cores) bounds the run deterministically; ``max_seconds`` bounds it by the clock.

    Early stopping: ``holdout`` is a boolean mask of labelled faces to validate on (default:
    :func:`split_holdout` with ``holdout_fraction``). After each round (an epoch, or
    ``eval_every`` steps if sooner) the held-out verification rate at ``target_far`` is measured
    (ties broken by rank-1 accuracy); training stops after ``patience`` rounds without a strict
    improvement, or at ``epochs``, ``max_steps`` or ``max_seconds``, and the best weight is
    returned (the initial weight itself if nothing beat it). Without a usable held-out set it runs
    to a limit and returns the last weight.

    ``progress(steps, max_steps, summary)`` is called after each round; ``cancel()`` before each
    step (true, or raising ``CancelledError`` itself, stops with :class:`CancelledError`).
    ``device``: None = CUDA when torch sees a GPU, else the CPU. On the CPU torch runs with ``cpu_threads``
    threads meanwhile (restored afterwards; None leaves the setting alone): the tensors are small,
    and extra threads mostly spin (steps measured up to 50x slower with 2 threads on a busy
    2-core machine).
    """
    recipe = recipe or HeadRecipe()
    dev = resolve_device(device)
    with torch_threads(cpu_threads if dev.type == "cpu" else None):
        return _train_head(features, labels, cannot_link, initial_weight, holdout, recipe,
                           progress, cancel, dev)


def _train_head(features: np.ndarray, labels: np.ndarray,
                cannot_link: Sequence[tuple[int, int]] | np.ndarray, initial_weight: np.ndarray,
                holdout: np.ndarray | None, recipe: HeadRecipe, progress: ProgressCallback | None,
                cancel: CancelCheck | None, dev: torch.device) -> HeadTrainResult:
    started = time.perf_counter()
    features = np.ascontiguousarray(features, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    initial_weight = np.asarray(initial_weight, dtype=np.float32)
    _check_inputs(features, labels, initial_weight)
    links = CannotLinkIndex(np.asarray(cannot_link, dtype=np.int64).reshape(-1, 2), len(labels))
    if holdout is None:
        holdout = split_holdout(labels, links.pairs, recipe.holdout_fraction, seed=recipe.seed)
    holdout = np.asarray(holdout, dtype=bool) & (labels >= 0)

    x = torch.from_numpy(features).to(dev)
    w0 = torch.from_numpy(initial_weight.copy()).to(dev)
    held_out = HeldOutEvaluator(x, labels, holdout, recipe.target_far, seed=recipe.seed)
    evaluator = held_out if held_out.usable else None
    before = evaluator(w0) if evaluator else None

    def result(weight: np.ndarray, after: HeldOutMetrics | None, stop_reason: str,
               history: list[RoundRecord] | None = None, best_round: int = 0,
               steps: int = 0) -> HeadTrainResult:
        return HeadTrainResult(weight=weight, before=before, after=after, history=history or [],
                               best_round=best_round, steps=steps, stop_reason=stop_reason,
                               device=str(dev), seconds=time.perf_counter() - started,
                               n_held_out=int(holdout.sum()))

    trainable = ~holdout
    if not np.any(trainable & (labels >= 0)):
        return result(initial_weight.copy(), before, "nothing to train")
    if recipe.epochs <= 0 or recipe.max_steps == 0:
        return result(initial_weight.copy(), before, "no steps")

    batches = HeadBatchBuilder(labels, trainable, links, people_per_batch=recipe.people_per_batch,
                               faces_per_person=recipe.faces_per_person,
                               unlabelled_per_batch=recipe.unlabelled_per_batch,
                               max_partners=recipe.max_partners, seed=recipe.seed, device=dev)
    step = HeadStep(x, w0, margin=recipe.margin, distill_weight=recipe.distill_weight,
                    learning_rate=recipe.learning_rate)
    evaluate = (lambda: evaluator(step.weight)) if evaluator else None
    rounds = TrainingRounds(batches, step, evaluate, recipe, progress, cancel, started)
    best = rounds.run(before)
    return result(best.weights, best.metrics, rounds.stop_reason, rounds.history, best.round,
                  rounds.steps)


class HeadStep:
    """One optimisation step of the head: mine, triplet loss + distillation, Adam update."""

    def __init__(self, features: torch.Tensor, initial_weight: torch.Tensor, *, margin: float,
                 distill_weight: float, learning_rate: float) -> None:
        self._features = features
        self._initial = initial_weight
        self.weight = torch.nn.Parameter(initial_weight.clone())
        scale = float(initial_weight.pow(2).mean().sqrt())
        self._optimizer = torch.optim.Adam([self.weight], lr=learning_rate * scale)
        self._miner = SemiHardTripletMiner(margin)
        self._triplet_loss = TripletLoss(margin)
        self._distill = EmbeddingDistillation()
        self._distill_weight = distill_weight

    def __call__(self, batch: HeadBatch) -> np.ndarray:
        """Take a step; returns (loss, triplet loss, distill loss, active triplets, triplets)."""
        embeddings = self._features[batch.faces] @ self.weight.T
        triplets = self._miner(embeddings, batch.labels, batch.cannot_link)
        triplet = self._triplet_loss(embeddings, triplets)
        unlabelled = self._features[batch.unlabelled]
        distill = self._distill(unlabelled @ self.weight.T, unlabelled @ self._initial.T)
        return optimise_step(self._optimizer, triplet, distill, self._distill_weight)

    def snapshot(self) -> np.ndarray:
        """A float32 numpy copy of the current weight."""
        return self.weight.detach().cpu().numpy().astype(np.float32, copy=True)


def _check_inputs(features: np.ndarray, labels: np.ndarray, weight: np.ndarray) -> None:
    if features.ndim != 2 or features.shape[1] != FEATURE_DIM:
        raise ValueError(f"features must be [n, {FEATURE_DIM}], got {features.shape}")
    if labels.shape != (features.shape[0],):
        raise ValueError("labels must have one entry per feature row")
    if weight.shape != (EMBEDDING_DIM, FEATURE_DIM):
        raise ValueError(f"initial_weight must be [{EMBEDDING_DIM}, {FEATURE_DIM}], got {weight.shape}")
