"""Quick depth: retrain only the embedder's last linear layer (256 -> 128, no bias) on cached features.

The recipe is FaceNet's: batches of several faces of several people (:class:`PersonBatchSampler`),
all anchor-positive pairs with semi-hard negatives plus the user's cannot-link pairs
(:class:`SemiHardTripletMiner`), the triplet loss, and a distillation term that keeps unlabelled
faces near their original embeddings. Training starts from the current weight and stops early on
held-out user labels, returning the best weight seen (the initial one when nothing beat it).

Held-out faces: by default a stratified share of every person's labelled faces (see
:func:`split_holdout`); they are not trained on, so the returned weight has not seen them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from faceorg.train.distill import EmbeddingDistillation
from faceorg.train.losses import TripletLoss, TripletLossOutput
from faceorg.train.miners import SemiHardTripletMiner
from faceorg.train.rounds import CancelCheck, ProgressCallback, RoundRecord, TrainingRounds
from faceorg.train.samplers import CannotLinkIndex, PersonBatchSampler

FEATURE_DIM = 256
EMBEDDING_DIM = 128


def embed_from_features(features: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """L2-normalised float32 embeddings ``[n, 128]`` from pooled features ``[n, 256]`` and a head
    weight ``[128, 256]`` (torch ``Linear`` layout): one matrix product and a row normalisation."""
    out = np.asarray(features, dtype=np.float32) @ np.asarray(weight, dtype=np.float32).T
    out /= np.maximum(np.sqrt(np.einsum("ij,ij->i", out, out)), 1e-12)[:, None]
    return out


def resolve_device(device: str | None) -> torch.device:
    """``None`` means CUDA when torch sees a GPU, else the CPU."""
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


# --------------------------------------------------------------------------------------------- split
def split_holdout(labels: np.ndarray, cannot_link: np.ndarray, fraction: float, *, seed: int,
                  max_faces: int = 1000) -> np.ndarray:
    """Boolean mask of labelled faces held out for early stopping.

    From every person with at least 3 labelled faces, ``round(fraction * n)`` faces are held out (at
    least 1, leaving at least 2 to train on), never a face that is in a cannot-link pair (those are
    kept for training). At most ``max_faces`` are held out in all (a random subset).
    """
    rng = np.random.default_rng([seed, 1])
    linked = np.zeros(len(labels), dtype=bool)
    linked[np.asarray(cannot_link, dtype=np.int64).ravel()] = True
    held: list[np.ndarray] = []
    for person in np.unique(labels[labels >= 0]):
        faces = np.flatnonzero(labels == person)
        eligible = faces[~linked[faces]]
        count = min(max(1, round(fraction * len(faces))), len(faces) - 2, len(eligible))
        if len(faces) >= 3 and count > 0 and fraction > 0:
            held.append(rng.choice(eligible, size=count, replace=False))
    chosen = np.concatenate(held) if held else np.zeros(0, dtype=np.int64)
    if len(chosen) > max_faces:
        chosen = rng.choice(chosen, size=max_faces, replace=False)
    mask = np.zeros(len(labels), dtype=bool)
    mask[chosen] = True
    return mask


# ---------------------------------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class HeldOutMetrics:
    """Verification and identification of held-out faces (cosine similarity of embeddings).

    Pairs: each held-out face against the reference faces (labelled training faces) and the other
    held-out faces. ``threshold`` is set on the different-person pairs so that at most
    ``false_accept_rate`` of them score above it; ``verification_rate`` is the share of
    same-person pairs scoring above it, computed per person and then averaged over people, so one
    person with thousands of faces does not drown the rest. ``rank1_accuracy``: share of held-out
    faces whose nearest reference face is the same person, also averaged over people.
    """

    verification_rate: float
    false_accept_rate: float
    threshold: float
    rank1_accuracy: float
    n_faces: int
    n_people: int
    n_genuine_pairs: int
    n_impostor_pairs: int


class HeldOutEvaluator:
    """Scores a head weight on held-out faces; the pairs are fixed once so rounds compare fairly.

    At most ``max_reference`` reference faces (a fixed random subset) keep one evaluation to a
    matrix of ``held-out x (reference + held-out)`` similarities.
    """

    def __init__(self, features: torch.Tensor, labels: np.ndarray, holdout: np.ndarray,
                 target_far: float, *, seed: int, max_reference: int = 4000) -> None:
        if not 0.0 < target_far < 1.0:
            raise ValueError("target_far must be between 0 and 1")
        rng = np.random.default_rng([seed, 2])
        held = np.flatnonzero(holdout)
        reference = np.flatnonzero((labels >= 0) & ~holdout)
        if len(reference) > max_reference:
            reference = np.sort(rng.choice(reference, size=max_reference, replace=False))
        columns = np.concatenate([reference, held])
        device = features.device
        self._features = features
        self._held = torch.as_tensor(held, device=device)
        self._columns = torch.as_tensor(columns, device=device)
        self.target_far = target_far
        n_ref = len(reference)
        # A held-out pair (h, h') counts once: only in the column of the later held-out face.
        later = np.arange(len(columns))[None, :] - n_ref > np.arange(len(held))[:, None]
        valid = np.concatenate([np.ones((len(held), n_ref), dtype=bool), later[:, n_ref:]], axis=1)
        same = labels[held][:, None] == labels[columns][None, :]
        people, row_person = np.unique(labels[held], return_inverse=True)
        self._row_person = torch.as_tensor(row_person, device=device)
        self._n_people = len(people)
        self._genuine = torch.as_tensor(valid & same, device=device)
        self._impostor = torch.as_tensor(valid & ~same, device=device)
        self._reference_match = torch.as_tensor(same[:, :n_ref], device=device)
        self._genuine_per_person = self._per_person(self._genuine.sum(dim=1).double())
        self.n_reference = n_ref
        self.n_genuine = int(self._genuine.sum())
        self.n_impostor = int(self._impostor.sum())

    @property
    def usable(self) -> bool:
        """Whether there are enough pairs to measure anything."""
        return self.n_genuine > 0 and self.n_impostor > 0 and self.n_reference > 0

    def _per_person(self, per_row: torch.Tensor) -> torch.Tensor:
        totals = torch.zeros(self._n_people, dtype=per_row.dtype, device=per_row.device)
        return totals.index_add_(0, self._row_person, per_row)

    @torch.no_grad()
    def __call__(self, weight: torch.Tensor) -> HeldOutMetrics:
        held = F.normalize(self._features[self._held] @ weight.T, dim=1)
        columns = F.normalize(self._features[self._columns] @ weight.T, dim=1)
        similarity = held @ columns.T
        impostor = similarity[self._impostor]
        k = math.floor(self.target_far * impostor.numel())
        threshold = torch.topk(impostor, k + 1).values[-1]
        accepted = ((similarity > threshold) & self._genuine).sum(dim=1).double()
        has_pairs = self._genuine_per_person > 0
        tar = (self._per_person(accepted)[has_pairs] / self._genuine_per_person[has_pairs]).mean()
        nearest = similarity[:, : self.n_reference].argmax(dim=1)
        hits = self._reference_match.gather(1, nearest[:, None])[:, 0].double()
        faces = self._per_person(torch.ones_like(hits))
        rank1 = (self._per_person(hits) / faces).mean()
        return HeldOutMetrics(
            verification_rate=float(tar), false_accept_rate=self.target_far,
            threshold=float(threshold), rank1_accuracy=float(rank1), n_faces=len(self._held),
            n_people=self._n_people, n_genuine_pairs=self.n_genuine,
            n_impostor_pairs=self.n_impostor)


# ------------------------------------------------------------------------------------------ batches
@dataclass(frozen=True)
class HeadBatch:
    """One training step's faces (row indices into the feature array)."""

    faces: torch.Tensor  # labelled faces from the sampler, then their cannot-link partners
    labels: torch.Tensor  # person labels of ``faces``, -1 for unlabelled partners
    cannot_link: torch.Tensor  # [k, 2] pairs of positions in ``faces``
    unlabelled: torch.Tensor  # faces for the distillation term


class HeadBatchBuilder:
    """Person batches from the sampler, plus their cannot-link partners and unlabelled faces.

    Every labelled training face is sampled each epoch, so every cannot-link pair with a labelled
    training face is seen each epoch (up to ``max_partners`` partners per batch). Pairs of two
    unlabelled faces give no triplet (neither can be an anchor). The distillation faces are drawn
    uniformly (with replacement) from the unlabelled training faces outside any cannot-link pair:
    the user has said that those are in the wrong place, so they are not pinned there.
    """

    def __init__(self, labels: np.ndarray, trainable: np.ndarray, cannot_link: CannotLinkIndex, *,
                 people_per_batch: int, faces_per_person: int, unlabelled_per_batch: int,
                 max_partners: int, seed: int, device: torch.device) -> None:
        self._labels = np.where(trainable, labels, -1)
        self._trainable = trainable
        self._cannot_link = cannot_link
        linked = np.zeros(len(labels), dtype=bool)
        linked[cannot_link.pairs.ravel()] = True
        self._unlabelled = np.flatnonzero(trainable & (labels < 0) & ~linked)
        self._unlabelled_per_batch = unlabelled_per_batch if len(self._unlabelled) else 0
        self._max_partners = max_partners
        self._rng = np.random.default_rng([seed, 3])
        self._device = device
        self.sampler = PersonBatchSampler(self._labels, people_per_batch, faces_per_person, seed=seed)

    def epoch(self) -> Iterator[HeadBatch]:
        for sampled in self.sampler:
            partners = self._cannot_link.partners(sampled)
            partners = partners[self._trainable[partners]]
            if len(partners) > self._max_partners:
                partners = self._rng.choice(partners, size=self._max_partners, replace=False)
            faces = np.concatenate([np.asarray(sampled, dtype=np.int64), partners])
            unlabelled = self._unlabelled[self._rng.integers(len(self._unlabelled),
                                                             size=self._unlabelled_per_batch)]
            yield HeadBatch(
                faces=torch.as_tensor(faces, device=self._device),
                labels=torch.as_tensor(self._labels[faces], device=self._device),
                cannot_link=torch.as_tensor(self._cannot_link.pairs_in_batch(faces),
                                            device=self._device),
                unlabelled=torch.as_tensor(unlabelled, device=self._device))


# ---------------------------------------------------------------------------------------- training
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
    *,
    margin: float = 0.2,
    distill_weight: float = 1.0,
    epochs: int = 30,
    max_steps: int | None = 5000,
    patience: int = 3,
    eval_every: int = 200,
    max_seconds: float | None = None,
    people_per_batch: int = 32,
    faces_per_person: int = 4,
    unlabelled_per_batch: int = 256,
    max_partners: int = 128,
    learning_rate: float = 0.01,
    holdout: np.ndarray | None = None,
    holdout_fraction: float = 0.2,
    target_far: float = 1e-3,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    device: str | None = None,
    cpu_threads: int | None = 1,
) -> HeadTrainResult:
    """Retrain the last linear layer from ``initial_weight`` (see the module docstring).

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
    recipe = HeadRecipe(margin=margin, distill_weight=distill_weight, epochs=epochs,
                        max_steps=max_steps, patience=patience, eval_every=eval_every,
                        max_seconds=max_seconds,
                        people_per_batch=people_per_batch, faces_per_person=faces_per_person,
                        unlabelled_per_batch=unlabelled_per_batch, max_partners=max_partners,
                        learning_rate=learning_rate, holdout_fraction=holdout_fraction,
                        target_far=target_far, seed=seed)
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


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run torch's CPU ops with ``n`` threads inside the block (``None``: leave as is)."""
    if n is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def optimise_step(optimizer: torch.optim.Optimizer, triplet: TripletLossOutput, distill: torch.Tensor,
                  distill_weight: float) -> np.ndarray:
    """One update on ``triplet loss + distill_weight * distill``; returns the step's statistics
    (loss, triplet loss, distill loss, active triplets, triplets)."""
    loss = triplet.loss + distill_weight * distill
    optimizer.zero_grad(set_to_none=True)
    loss.backward()  # type: ignore[no-untyped-call]
    optimizer.step()
    return np.array([loss.item(), triplet.loss.item(), distill.item(), triplet.n_active,
                     triplet.n_triplets], dtype=np.float64)


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
