"""The training loop both depths share: steps in rounds, a held-out evaluation after each, early
stopping, and the best weights seen.

The quick depth (:mod:`faceorg.train.head`) trains a numpy-sized head weight, the thorough depth
(:mod:`faceorg.train.finetune`) a torch model's last stages; the loop sees either only as a
:class:`Learner` (take a step, snapshot the weights) and an optional held-out evaluation.
Nothing here imports torch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

import numpy as np

from faceorg.errors import CancelledError

if TYPE_CHECKING:
    from faceorg.train.holdout import HeldOutMetrics
    from faceorg.train.steps import HeadBatch, HeadBatchBuilder

ProgressCallback = Callable[[int, int, str], None]
"""Called after each round with (steps done, steps at most, a one-line summary)."""
CancelCheck = Callable[[], object]
"""Returns true (or raises ``CancelledError`` itself, as ``Progress.check_cancelled`` does) to stop."""

W = TypeVar("W")
W_co = TypeVar("W_co", covariant=True)

N_STATS = 5  # per step: loss, triplet loss, distill loss, active triplets, triplets


@dataclass(frozen=True)
class RoundRecord:
    """What one round of training did (see :class:`TrainingRounds`; means are per step)."""

    round: int
    epoch: int
    steps: int  # optimisation steps so far
    loss: float
    triplet_loss: float
    distill_loss: float
    active_triplets: float
    triplets: float
    held_out: HeldOutMetrics | None
    seconds: float  # since training started


class RoundRecipe(Protocol):
    """The knobs the loop reads (both depths' recipes have them)."""

    @property
    def epochs(self) -> int: ...
    @property
    def max_steps(self) -> int | None: ...
    @property
    def max_seconds(self) -> float | None: ...
    @property
    def patience(self) -> int: ...
    @property
    def eval_every(self) -> int: ...


class Learner(Protocol[W_co]):
    """What the loop trains: one optimisation step at a time, and a copy of its weights on demand."""

    def __call__(self, batch: HeadBatch) -> np.ndarray:
        """Take a step; returns (loss, triplet loss, distill loss, active triplets, triplets)."""
        ...

    def snapshot(self) -> W_co:
        """A copy of the current weights that later steps do not change."""
        ...


@dataclass(frozen=True)
class Best(Generic[W]):
    """The best weights seen, their held-out metrics and the round that made them (0: the start)."""

    weights: W
    metrics: HeldOutMetrics | None
    round: int


def score(metrics: HeldOutMetrics) -> tuple[float, float]:
    """Early-stopping score: verification rate, ties broken by rank-1 accuracy."""
    return metrics.verification_rate, metrics.rank1_accuracy


def improves(metrics: HeldOutMetrics | None, best: HeldOutMetrics | None) -> bool:
    """Whether a round's weights replace the best: always without held-out metrics on either side
    (nothing to compare, so the latest weights are kept), else only on a strictly higher score."""
    return metrics is None or best is None or score(metrics) > score(best)


def check_cancel(cancel: CancelCheck | None) -> None:
    """Raise :class:`CancelledError` when ``cancel()`` says so."""
    if cancel is not None and cancel():
        raise CancelledError()


def summarise(record: RoundRecord, *, show_steps: bool = False) -> str:
    """One line about a round for the progress callback (with the step count if ``show_steps``)."""
    where = f"epoch {record.epoch}, step {record.steps}" if show_steps else f"epoch {record.epoch}"
    text = (f"round {record.round} ({where}): loss {record.loss:.4f}, "
            f"{record.active_triplets:.1f} active triplets per step")
    if record.held_out is not None:
        text += (f", held-out verification {record.held_out.verification_rate:.3f}"
                 f" at FAR {record.held_out.false_accept_rate:g}")
    return text


class TrainingRounds(Generic[W]):
    """The training loop: steps in rounds, a held-out evaluation after each, early stopping.

    A round ends at the end of an epoch or after ``recipe.eval_every`` steps, whichever comes
    first, so that a library with one very photographed person (long epochs: see
    :class:`PersonBatchSampler`) is still checked regularly. Training stops after
    ``recipe.patience`` rounds that do not improve (see :func:`improves`), or at ``epochs``,
    ``max_steps`` or ``max_seconds`` (counted from ``started``). ``cancel()`` is checked before
    each step, ``progress`` called after each round (its summary with the step count if
    ``show_steps``).
    """

    def __init__(self, batches: HeadBatchBuilder, learner: Learner[W],
                 evaluate: Callable[[], HeldOutMetrics] | None, recipe: RoundRecipe,
                 progress: ProgressCallback | None, cancel: CancelCheck | None, started: float, *,
                 show_steps: bool = False) -> None:
        self._batches = batches
        self._learner = learner
        self._evaluate = evaluate
        self._recipe = recipe
        self._progress = progress
        self._cancel = cancel
        self._started = started
        self._show_steps = show_steps
        self.history: list[RoundRecord] = []
        self.steps = 0
        self.stop_reason = "epochs"

    def run(self, before: HeldOutMetrics | None) -> Best[W]:
        """Train until a limit or patience runs out; returns the best weights seen (the starting
        ones, scored ``before``, when no round improved on them)."""
        best = Best(self._learner.snapshot(), before, 0)
        stale = 0
        for epoch, sums, n in self._rounds():
            metrics = self._evaluate() if self._evaluate else None
            loss, triplet_loss, distill_loss, active, triplets = (sums / n).tolist()
            record = RoundRecord(round=len(self.history) + 1, epoch=epoch, steps=self.steps,
                                 loss=loss, triplet_loss=triplet_loss, distill_loss=distill_loss,
                                 active_triplets=active, triplets=triplets, held_out=metrics,
                                 seconds=time.perf_counter() - self._started)
            self.history.append(record)
            if improves(metrics, best.metrics):
                best = Best(self._learner.snapshot(), metrics, record.round)
                stale = 0
            else:
                stale += 1
            if self._progress is not None:
                self._progress(self.steps, self.planned_steps(),
                               summarise(record, show_steps=self._show_steps))
            if stale >= self._recipe.patience and self.stop_reason == "epochs":
                self.stop_reason = "patience"
            if self.stop_reason != "epochs":
                break
        return best

    def _rounds(self) -> Iterator[tuple[int, np.ndarray, int]]:
        """Runs steps; yields (epoch, summed step statistics, steps) at the end of each round."""
        epoch_length = len(self._batches.sampler)
        for epoch in range(1, self._recipe.epochs + 1):
            sums, n = np.zeros(N_STATS), 0
            for i, batch in enumerate(self._batches.epoch(), start=1):
                check_cancel(self._cancel)
                self.stop_reason = self._limit_reached()
                if self.stop_reason != "epochs":
                    if n:
                        yield epoch, sums, n
                    return
                sums += self._learner(batch)
                self.steps += 1
                n += 1
                if n == self._recipe.eval_every or i == epoch_length:
                    yield epoch, sums, n
                    sums, n = np.zeros(N_STATS), 0

    def _limit_reached(self) -> str:
        """"max_steps" or "time limit" when that limit is reached, else "epochs"."""
        recipe = self._recipe
        if recipe.max_steps is not None and self.steps >= recipe.max_steps:
            return "max_steps"
        if recipe.max_seconds is not None and time.perf_counter() - self._started > recipe.max_seconds:
            return "time limit"
        return "epochs"

    def planned_steps(self) -> int:
        """Steps at most: every epoch's, capped by ``max_steps``."""
        planned = self._recipe.epochs * len(self._batches.sampler)
        return planned if self._recipe.max_steps is None else min(planned, self._recipe.max_steps)
