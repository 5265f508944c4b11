"""The training rounds loop both depths share, with a scripted learner and held-out scores."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from faceorg.errors import CancelledError
from faceorg.train.holdout import HeldOutMetrics
from faceorg.train.rounds import (
    CancelCheck,
    ProgressCallback,
    RoundRecord,
    TrainingRounds,
    improves,
    summarise,
)


def metrics(verification: float, rank1: float = 0.5) -> HeldOutMetrics:
    return HeldOutMetrics(verification_rate=verification, false_accept_rate=1e-3, threshold=0.3,
                          rank1_accuracy=rank1, n_faces=10, n_people=2, n_genuine_pairs=20,
                          n_impostor_pairs=30)


class Sampler:
    def __init__(self, length: int) -> None:
        self.length = length

    def __len__(self) -> int:
        return self.length


class Batches:
    """``epoch_length`` batches an epoch (their numbers)."""

    def __init__(self, epoch_length: int) -> None:
        self.sampler = Sampler(epoch_length)

    def epoch(self) -> Iterator[int]:
        return iter(range(len(self.sampler)))


class Learner:
    """Counts its steps; its weights are the step count."""

    def __init__(self) -> None:
        self.steps = 0

    def __call__(self, batch: object) -> np.ndarray:
        self.steps += 1
        return np.array([1.0, 0.5, 0.25, 2.0, 4.0])

    def snapshot(self) -> int:
        return self.steps


class Recipe:
    def __init__(self, *, epochs: int = 10, max_steps: int | None = None, max_seconds: float | None = None,
                 patience: int = 2, eval_every: int = 100) -> None:
        self.epochs, self.max_steps, self.max_seconds = epochs, max_steps, max_seconds
        self.patience, self.eval_every = patience, eval_every


def scripted(scores: list[float]) -> tuple[Learner, Callable[[], HeldOutMetrics]]:
    """A learner and an evaluation that returns ``scores`` round after round."""
    learner = Learner()
    rounds = iter(scores)
    return learner, lambda: metrics(next(rounds))


def rounds(batches: Batches, learner: Learner, evaluate: Callable[[], HeldOutMetrics] | None,
           recipe: Recipe, *, progress: ProgressCallback | None = None, cancel: CancelCheck | None = None,
           show_steps: bool = False) -> TrainingRounds[int]:
    return TrainingRounds(batches, learner, evaluate, recipe, progress, cancel,  # type: ignore[arg-type]
                          time.perf_counter(), show_steps=show_steps)


def test_improves_only_on_a_strictly_higher_score_when_both_sides_are_scored() -> None:
    assert improves(metrics(0.6), metrics(0.5))
    assert improves(metrics(0.5, rank1=0.7), metrics(0.5, rank1=0.6))  # ties broken by rank-1
    assert not improves(metrics(0.5), metrics(0.5))
    assert not improves(metrics(0.4, rank1=1.0), metrics(0.5, rank1=0.0))
    assert improves(None, metrics(0.9))  # nothing to compare: the latest weights are kept
    assert improves(metrics(0.0), None)
    assert improves(None, None)


def test_keeps_the_first_best_round_and_stops_on_patience() -> None:
    learner, evaluate = scripted([0.5, 0.7, 0.7, 0.6, 0.9])
    loop = rounds(Batches(3), learner, evaluate, Recipe(patience=2))
    best = loop.run(metrics(0.6))
    assert best.round == 2 and best.weights == 6 and best.metrics == metrics(0.7)
    assert loop.stop_reason == "patience" and len(loop.history) == 4 and loop.steps == 12


def test_the_start_is_kept_when_no_round_beats_it() -> None:
    learner, evaluate = scripted([0.5, 0.5])
    loop = rounds(Batches(3), learner, evaluate, Recipe(patience=2))
    best = loop.run(metrics(0.5))
    assert best.round == 0 and best.weights == 0 and best.metrics == metrics(0.5)


def test_without_evaluation_the_last_round_wins_and_limits_stop_it() -> None:
    loop = rounds(Batches(4), Learner(), None, Recipe(max_steps=10, eval_every=3))
    best = loop.run(None)
    assert [(r.epoch, r.steps) for r in loop.history] == [(1, 3), (1, 4), (2, 7), (2, 8), (3, 10)]
    assert best.round == 5 and best.weights == 10 and best.metrics is None
    assert loop.stop_reason == "max_steps" and loop.planned_steps() == 10
    loop = rounds(Batches(4), Learner(), None, Recipe(epochs=2))
    loop.run(None)
    assert loop.stop_reason == "epochs" and loop.steps == 8 and len(loop.history) == 2


def test_records_mean_step_statistics_and_reports_progress() -> None:
    seen: list[tuple[int, int, str]] = []
    learner, evaluate = scripted([0.5, 0.4])
    loop = rounds(Batches(2), learner, evaluate, Recipe(epochs=2, patience=5), show_steps=True,
                  progress=lambda s, m, text: seen.append((s, m, text)))
    loop.run(None)
    record = loop.history[0]
    assert (record.loss, record.triplet_loss, record.distill_loss) == (1.0, 0.5, 0.25)
    assert (record.active_triplets, record.triplets, record.held_out) == (2.0, 4.0, metrics(0.5))
    assert [(s, m) for s, m, _ in seen] == [(2, 4), (4, 4)]
    assert seen[1][2].startswith("round 2 (epoch 2, step 4): loss 1.0000, 2.0 active triplets per step")
    assert seen[1][2].endswith(", held-out verification 0.400 at FAR 0.001")


def test_summary_without_steps() -> None:
    record = RoundRecord(round=3, epoch=2, steps=40, loss=0.5, triplet_loss=0.5, distill_loss=0.0,
                         active_triplets=1.25, triplets=3.0, held_out=None, seconds=1.0)
    assert summarise(record) == "round 3 (epoch 2): loss 0.5000, 1.2 active triplets per step"


def test_cancel_is_checked_before_each_step() -> None:
    learner = Learner()
    loop = rounds(Batches(5), learner, None, Recipe(), cancel=lambda: learner.steps >= 3)
    with pytest.raises(CancelledError):
        loop.run(None)
    assert learner.steps == 3
