"""Retrain the embedder from the user's corrections, judge it, and swap it in only if it is better.

Two depths, both starting from the active model:

- ``quick``: only the last linear layer, trained on the stored 256-d features (seconds).
- ``thorough``: also the last residual stages, fine-tuned on the stored face chips (minutes on a CPU).

The gate (k-fold over people and their faces): in each fold a share of every person's confirmed faces
and all faces of a share of the people are held out of training. The new model must do better on the
held-out faces of the people it learned (verification rate at a 1-in-1000 false-accept rate, and the
BCubed F of regrouping them: better on one, worse on neither), and must not match the faces of people
it never saw clearly worse. The quick depth is judged over ``GATE_FOLDS`` folds and then trained on
everything; the thorough depth on one fold, and the model judged is the one shipped: the starting
weights moved part of the way towards the fine-tuned ones (as far as keeps the library's faces in
nearly the same geometry), which keeps people outside the library recognised about as well as before. Its distance scale (how grouping and suggestion thresholds stretch
for it) is calibrated on the held-out faces (:mod:`faceorg.retrain.calibrate`).

A refused model changes nothing. An accepted one becomes a new version: exported to ONNX, every face
re-embedded, swapped in atomically, the library regrouped with every user decision kept.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from faceorg.embed.embedder import l2_normalize
from faceorg.errors import FaceorgError
from faceorg.paths import models_dir
from faceorg.progress import Progress
from faceorg.retrain.training_data import LibraryTrainingData, chip_loader, collect_training_data
from faceorg.retrain.versions import (
    activate,
    head_weight,
    next_version_name,
    reembed_from_chips,
    reembed_from_features,
    register_version,
)
from faceorg.settings import load_settings
from faceorg.store.db import Library
from faceorg.store.model_versions import active_version, library_models_dir
from faceorg.store.models import ModelVersion
from faceorg.weights.registry import DLIB_RESNET_FILE

log = logging.getLogger(__name__)

DEPTHS = ("quick", "thorough")
GATE_FOLDS = 3  # quick: each fold trained and judged, then a final model on everything
THOROUGH_FOLDS = 5  # thorough: one fold held out (a fifth of the people and of each person's faces)
# Thorough: the model shipped lies a fraction of the way from the starting weights to the fine-tuned
# ones: the largest of SHIP_FRACTIONS that keeps the geometry of the library's faces (the correlation of
# their pairwise distances before and after) at MIN_GEOMETRY_KEPT or more. Measured on the corrections
# benchmark: one fine-tuning shipped at 0.4 / 0.7 / 1.0 gave LFW accuracy on people outside the library
# +0.15 / +0.02 / -0.09 points against the base model and later photos sent to the right person +2.0 /
# +4.7 / +9.5 points; across three fine-tunings, geometry kept 0.90 / 0.79 / 0.74 went with LFW changes
# +0.02 / -0.46 / -0.84 points.
SHIP_FRACTION = 0.7  # the most shipped
SHIP_FRACTIONS = (0.7, 0.55, 0.4, 0.3, 0.2)
MIN_GEOMETRY_KEPT = 0.88
GEOMETRY_FACES = 400
# Time caps (seconds on this project's 2-core machines) so the quick depth stays within a minute with
# 5k labelled faces (measured 57-59 s with caps of 10 and 25 s; these leave room for a busy machine).
QUICK_FOLD_SECONDS = 9.0
QUICK_FINAL_SECONDS = 22.0
# The gate needs this much evidence before it may accept anything.
MIN_GATE_FACES = 15
MIN_GATE_PEOPLE = 3


@dataclass
class RetrainReport:
    """What retraining did, for the CLI (--json) and the app's before/after dialog."""

    depth: str
    dry_run: bool
    accepted: bool
    version: str | None
    previous_version: str
    training: dict[str, int]
    before: dict[str, float]
    after: dict[str, float]
    summary: list[str]
    seconds: float
    stop_reason: str = ""
    regrouped: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    unseen_verification_before: float | None = None
    unseen_verification_after: float | None = None
    distance_scale: float = 1.0  # the new model's distances relative to the base model's
    ship_fraction: float | None = None  # thorough: how far towards the fine-tuned weights the model went
    geometry_kept: float | None = None  # thorough: correlation of the library's face distances before/after

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _progress_callback(progress: Progress, *, steps: bool = True):  # type: ignore[no-untyped-def]
    """A trainer's progress callback feeding ``progress``: its steps as the count (or only its message)."""
    def report(done: int, total: int, line: str) -> None:
        if steps and total:
            progress.set_total(total)
            progress.advance(done - progress.state.done, message=line)
        else:
            progress.advance(0, message=line)

    return report


@dataclass(frozen=True)
class GateFold:
    """What one fold holds out: faces of people the model learns (``known``), people it never sees."""

    known: np.ndarray
    unseen: np.ndarray

    @property
    def held_out(self) -> np.ndarray:
        return self.known | self.unseen


def kfold_faces(labels: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    """``k`` masks splitting every person's labelled faces evenly (seeded), unlabelled faces in none."""
    rng = np.random.default_rng([seed, 7])
    fold_of = np.full(len(labels), -1)
    for person in np.unique(labels[labels >= 0]):
        rows = rng.permutation(np.flatnonzero(labels == person))
        fold_of[rows] = (np.arange(len(rows)) + int(rng.integers(k))) % k
    return [fold_of == f for f in range(k)]


MIN_PEOPLE_FOR_UNSEEN = 4  # fewer people: no one is held out whole (each fold needs two known people)


def gate_folds(labels: np.ndarray, k: int, seed: int) -> list[GateFold]:
    """``k`` folds over the labelled faces; with few people only faces are held out, not whole people."""
    from faceorg.train.gate import kfold_people

    n_people = len(np.unique(labels[labels >= 0]))
    faces = kfold_faces(labels, k, seed)
    if n_people < MIN_PEOPLE_FOR_UNSEEN:
        return [GateFold(known=f, unseen=np.zeros_like(f)) for f in faces]
    people = kfold_people(labels, min(k, n_people), seed)
    return [GateFold(known=faces[i] & ~people[i], unseen=people[i]) for i in range(len(people))]


def without(labels: np.ndarray, fold: GateFold) -> np.ndarray:
    """The labels a fold's model may learn from."""
    out = labels.copy()
    out[fold.held_out] = -1
    return out


def _quick(library: Library, data: LibraryTrainingData, version: ModelVersion, progress: Progress,
           seed: int) -> tuple[list[GateFold], np.ndarray, np.ndarray, str]:
    """Gate embeddings over ``GATE_FOLDS`` folds, and the final head weight trained on everyone."""
    from faceorg.train.head import embed_from_features, train_head

    initial = head_weight(library, version)

    def train(labels: np.ndarray, seconds: float, steps: bool) -> tuple[np.ndarray, str]:
        result = train_head(data.features, labels, data.cannot_link, initial, seed=seed, max_seconds=seconds,
                            progress=_progress_callback(progress, steps=steps), cancel=progress.check_cancelled)
        return result.weight, result.stop_reason

    folds = gate_folds(data.labels, GATE_FOLDS, seed)
    progress.start("Checking on held-out faces and people", total=len(folds))
    after = data.vectors.copy()
    for fold in folds:
        weight, _ = train(without(data.labels, fold), QUICK_FOLD_SECONDS, steps=False)
        rows = np.flatnonzero(fold.held_out)
        after[rows] = embed_from_features(data.features[rows], weight)
        progress.advance()
    progress.start("Training on all your labels")
    final, reason = train(data.labels, QUICK_FINAL_SECONDS, steps=True)
    return folds, after, final, reason


def _thorough(library: Library, data: LibraryTrainingData, version: ModelVersion, progress: Progress,
              seed: int) -> "ThoroughResult":
    """Fine-tune the last stages without one fold, then step back towards the starting weights
    (``_ship_fraction``, and further while the gate finds unseen people matched worse); the model
    judged is the one shipped."""
    from faceorg.retrain.versions import calibration_chips
    from faceorg.train.data import TrainingSet
    from faceorg.train.finetune import finetune
    from faceorg.train.interpolate import interpolate_weights
    from faceorg.train.model_io import load_module

    checkpoint = library_models_dir(library) / f"embedder-{version.name}.pt"
    module = load_module(checkpoint if version.kind != "base" else None, models_dir() / DLIB_RESNET_FILE)
    fold = gate_folds(data.labels, THOROUGH_FOLDS, seed)[0]
    training = TrainingSet(face_ids=data.face_ids, labels=without(data.labels, fold), person_ids=data.person_ids,
                           cannot_link=data.cannot_link, features=data.features,
                           load_chips=chip_loader(library, data.face_ids))
    progress.start("Fine-tuning the face model")
    result = finetune(training, module, seed=seed, progress=_progress_callback(progress),
                      cancel=progress.check_cancelled)
    fraction, kept = _ship_fraction(module, result.model, training.load_chips, len(data.face_ids), seed, progress)
    # Every labelled face under the new model as it will run: the held-out ones are judged, the others
    # choose the gate's grouping threshold and are the confirmed faces the suggestion scale is calibrated on.
    # When the gate finds people the model never saw matched worse, step further back towards the start.
    rows = np.flatnonzero(data.labels >= 0)
    calibration = calibration_chips(library)
    for step in [f for f in SHIP_FRACTIONS if f <= fraction]:
        shipped = interpolate_weights(module, result.model, step)
        after = data.vectors.copy()
        after[rows] = embed_as_installed(library, shipped, training.load_chips, rows, calibration, progress)
        decision = judge(data.vectors, after, data.labels, [fold], seed)
        if decision.accepted or not decision.unseen_worse:
            break
        log.info("at %.0f%% of the fine-tuning people it never saw are matched worse; stepping back", 100 * step)
    if step < fraction and decision.accepted:
        decision.lines.insert(-1, f"Kept {100 * step:.0f}% of the fine-tuning, so that people it never saw "
                                  "are matched as well as before.")
    scale = suggestion_scale(version, data.vectors, after, data.labels, fold.held_out)
    return ThoroughResult([fold], after, shipped, result.stop_reason, step, kept, decision, scale)


@dataclass
class ThoroughResult:
    """What the thorough depth hands to ``retrain``: the shipped module, its vectors and the gate's verdict.
    ``geometry_kept`` is measured at the fraction the geometry guard chose; stepping further back for
    unseen people (``ship_fraction`` smaller than that) only keeps more."""

    folds: list[GateFold]
    after: np.ndarray
    module: Any
    stop_reason: str
    ship_fraction: float
    geometry_kept: float
    decision: "GateDecision"
    scale: float


def geometry_kept(before: np.ndarray, after: np.ndarray) -> float:
    """Correlation of all pairwise distances between the same faces under two models (1: same geometry)."""
    from faceorg.vectors import upper_pair_distances

    a, b = upper_pair_distances(before), upper_pair_distances(after)
    if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
        return 1.0
    return float(np.corrcoef(a, b)[0, 1])


def _ship_fraction(start: Any, tuned: Any, load_chips: Any, n_faces: int, seed: int,
                   progress: Progress) -> tuple[float, float]:
    """The largest of ``SHIP_FRACTIONS`` of the way from ``start`` to ``tuned`` whose faces keep their
    geometry (``MIN_GEOMETRY_KEPT``), else the smallest; with the geometry kept there (on a seeded sample
    of the library's faces)."""
    from faceorg.train.finetune import embed_chips
    from faceorg.train.interpolate import interpolate_weights

    rows = np.sort(np.random.default_rng([seed, 41]).choice(n_faces, min(GEOMETRY_FACES, n_faces), replace=False))
    progress.start("Keeping other people where they were", total=len(SHIP_FRACTIONS))
    reference = l2_normalize(embed_chips(start, load_chips, rows))
    for fraction in SHIP_FRACTIONS:
        progress.check_cancelled()
        candidate = interpolate_weights(start, tuned, fraction)
        kept = geometry_kept(reference, l2_normalize(embed_chips(candidate, load_chips, rows)))
        progress.advance()
        if kept >= MIN_GEOMETRY_KEPT:
            break
    log.info("shipping at most %.0f%% of the fine-tuning (geometry kept %.3f)", 100 * fraction, kept)
    return fraction, kept


def embed_as_installed(library: Library, module: Any, load_chips: Any, rows: np.ndarray, calibration: np.ndarray,
                       progress: Progress) -> np.ndarray:
    """Normalised embeddings of ``rows``' chips by the file a deeper version of ``module`` would run once
    installed (its int8 copy calibrated on the ``calibration`` chips, ``calibration_chips(library)`` as
    ``register_version`` uses them; the float32 export when no copy can be made), so the gate judges what
    the app will use."""
    from faceorg.embed.embedder import Embedder
    from faceorg.embed.quantize import quantize_embedder
    from faceorg.train.export_onnx import export_onnx

    with tempfile.TemporaryDirectory(dir=library_models_dir(library)) as tmp:
        runtime = Path(tmp) / "candidate.onnx"
        export_onnx(module.cpu().eval(), runtime)
        if len(calibration):
            try:
                runtime = quantize_embedder(runtime, Path(tmp) / "candidate.int8.onnx", chips=calibration)
            except ValueError as exc:
                log.warning("judging the float32 model: %s", exc)
        embedder = Embedder(runtime, use_gpu=load_settings(library).use_gpu)
        progress.start("Checking the new model on your faces", total=len(rows))
        out = []
        for start in range(0, len(rows), 256):
            progress.check_cancelled()
            part = rows[start:start + 256]
            out.append(embedder.embed(load_chips(part).transpose(0, 2, 3, 1))[0])
            progress.advance(len(part))
    return np.concatenate(out) if out else np.zeros((0, 128), np.float32)


def same_person_spacing(vectors: np.ndarray, labels: np.ndarray, rows: np.ndarray | None = None) -> float:
    """Median distance from each labelled face to its nearest other face of the same person (``rows`` only)."""
    use = labels >= 0 if rows is None else (labels >= 0) & rows
    nearest: list[np.ndarray] = []
    for person in np.unique(labels[use]):
        x = vectors[use & (labels == person)]
        if len(x) < 2:
            continue
        d = np.sqrt(np.maximum(2.0 - 2.0 * (x @ x.T), 0.0))
        np.fill_diagonal(d, np.inf)
        nearest.append(d.min(axis=1))
    return float(np.median(np.concatenate(nearest))) if nearest else float("nan")


def distance_scale(parent: ModelVersion, before: np.ndarray, after: np.ndarray, labels: np.ndarray,
                   rows: np.ndarray | None = None) -> float:
    """How much farther apart faces are under the new model than under the base model.

    Grouping and suggestions use distances measured on the base model; a retrained model spreads faces
    differently, so those distances are scaled by this factor (the parent's scale times the ratio of the
    typical same-person spacing after and before).
    """
    ratio = same_person_spacing(after, labels, rows) / same_person_spacing(before, labels, rows)
    parent_scale = float((parent.report or {}).get("distance_scale", 1.0))
    return parent_scale * (ratio if np.isfinite(ratio) and ratio > 0 else 1.0)


def suggestion_scale(parent: ModelVersion, before: np.ndarray, after: np.ndarray, labels: np.ndarray,
                     held_out: np.ndarray) -> float:
    """The new model's distance scale calibrated on the held-out faces (as careful as the parent's
    suggestions, see :mod:`faceorg.retrain.calibrate`); the same-person spacing ratio when there are too
    few of them."""
    from faceorg.people.clustering import SUGGEST_MARGIN, SUGGEST_MAX_DISTANCE
    from faceorg.retrain.calibrate import calibrated_distance_scale

    parent_scale = float((parent.report or {}).get("distance_scale", 1.0))
    scale = calibrated_distance_scale(before, after, labels, held_out, parent_scale, SUGGEST_MAX_DISTANCE,
                                      SUGGEST_MARGIN)
    return scale if scale is not None else distance_scale(parent, before, after, labels, held_out)


UNSEEN_TOLERANCE = 0.02  # people the model never saw may be matched at most 2 points worse...


# People the model never saw veto it only when at least this many (with two faces or more) were held out:
# on the corrections benchmark, 6 such people matched 7-11 points worse by a model that lost only 0.06
# points of LFW accuracy on the 5,274 pairs of people outside the library. With fewer, the geometry
# guard (MIN_GEOMETRY_KEPT) is what protects them.
MIN_UNSEEN_PEOPLE = 10
GATE_FAR = 1e-3
MIN_IMPOSTORS_PASSED = 10


def steady_far(labels: np.ndarray, masks: list[np.ndarray], far: float = GATE_FAR) -> float:
    """The false-accept rate to measure verification at on few people: ``far``, or higher when the masks
    hold too few different-person pairs for it (the threshold then lets ``MIN_IMPOSTORS_PASSED`` of them
    through instead of hanging on the single closest pair)."""
    fewest = None
    for mask in masks:
        y = labels[mask & (labels >= 0)]
        counts = np.bincount(np.unique(y, return_inverse=True)[1]) if len(y) else np.zeros(0, np.int64)
        impostors = (len(y) ** 2 - int(np.sum(counts ** 2))) // 2
        fewest = impostors if fewest is None else min(fewest, impostors)
    return far if not fewest else max(far, MIN_IMPOSTORS_PASSED / fewest)


def unseen_tolerance(rate: float, genuine_pairs: int) -> float:
    """...or, with few of their faces, worse by less than two standard errors of the measured rate (a
    drop smaller than that cannot be told from chance: 6 people with 50 pairs of faces at 85% allow 10
    points)."""
    if genuine_pairs <= 0 or not np.isfinite(rate):
        return UNSEEN_TOLERANCE
    return max(UNSEEN_TOLERANCE, 2.0 * float(np.sqrt(rate * (1.0 - rate) / genuine_pairs)))


@dataclass
class GateDecision:
    accepted: bool
    before: dict[str, float]
    after: dict[str, float]
    unseen_before: float
    unseen_after: float
    lines: list[str]
    unseen_worse: bool = False  # refused only because people it never saw are matched worse


def judge(before: np.ndarray, after: np.ndarray, labels: np.ndarray, folds: list[GateFold],
          seed: int) -> GateDecision:
    """The gate: better on the known people's held-out faces, not clearly worse on unseen people."""
    from faceorg.train.gate import gate_report

    known_rows = np.logical_or.reduce([f.known for f in folds]) & (labels >= 0)
    if known_rows.sum() < MIN_GATE_FACES or len(np.unique(labels[known_rows])) < MIN_GATE_PEOPLE:
        return GateDecision(False, {}, {}, float("nan"), float("nan"), [
            f"Only {int(known_rows.sum())} confirmed faces of {len(np.unique(labels[known_rows]))} people could be "
            "held back to check a new model; that is too few to judge it.",
            f"Current model kept: confirm more faces (at least {MIN_GATE_FACES} held back, of {MIN_GATE_PEOPLE} "
            "people, are needed) and try again."])
    known = gate_report(before, after, labels, [f.known for f in folds], seed=seed)
    ub = ua = float("nan")
    tolerance = UNSEEN_TOLERANCE
    if any(f.unseen.any() for f in folds):
        masks = [f.unseen for f in folds if f.unseen.any()]
        unseen = gate_report(before, after, labels, masks, far=steady_far(labels, masks), seed=seed)
        ub, ua = unseen.before.verification_rate, unseen.after.verification_rate
        tolerance = unseen_tolerance(ub, sum(r.n_genuine_pairs for r in unseen.folds))
    unseen_rows = np.logical_or.reduce([f.unseen for f in folds]) & (labels >= 0)
    people, faces = np.unique(labels[unseen_rows], return_counts=True)
    judgeable = int(np.sum(faces >= 2)) >= MIN_UNSEEN_PEOPLE
    unseen_ok = not judgeable or np.isnan(ub) or np.isnan(ua) or ua >= ub - tolerance
    accepted = known.accepted and bool(unseen_ok)
    pct = lambda v: "n/a" if np.isnan(v) else f"{100 * v:.0f}%"  # noqa: E731
    lines = [
        f"Checked on {int(known_rows.sum())} faces of {len(np.unique(labels[known_rows]))} of your people that the "
        "training did not use" + (f" ({len(folds)} rounds)." if len(folds) > 1 else "."),
        f"Faces of the same person matched at 1-in-1000 false matches: {pct(known.before.verification_rate)} "
        f"before, {pct(known.after.verification_rate)} after.",
        f"Grouping those faces into people (BCubed F): {pct(known.before.bcubed_f)} before, "
        f"{pct(known.after.bcubed_f)} after.",
    ]
    if unseen_rows.any():
        lines.append(f"People it never saw ({len(people)}): matched {pct(ub)} before, {pct(ua)} after"
                     + ("." if judgeable else " (too few to judge by; the model was kept close to the old one "
                                              "for everyone instead)."))
    if accepted:
        lines.append("New model accepted: " + known.reason)
    elif not known.accepted:
        lines.append("Current model kept: " + known.reason)
    else:
        lines.append(f"Current model kept: it matches people it never saw worse ({100 * (ua - ub):+.1f} points).")
    return GateDecision(accepted, asdict(known.before), asdict(known.after), float(ub), float(ua), lines,
                        unseen_worse=known.accepted and not bool(unseen_ok))


def retrain(library: Library, *, depth: str = "quick", dry_run: bool = False, progress: Progress | None = None,
            seed: int = 0) -> RetrainReport:
    """Learn from the user's corrections; see the module docstring."""
    if depth not in DEPTHS:
        raise FaceorgError(f"depth must be one of {', '.join(DEPTHS)}")
    progress = progress or Progress()
    start = time.perf_counter()
    version = active_version(library)
    if version is None:
        raise FaceorgError("no faces have been analysed yet: scan a folder first")
    progress.start("Collecting your corrections")
    data = collect_training_data(library, seed=seed)
    timings = {"collect": time.perf_counter() - start}
    t = time.perf_counter()
    module, weight = None, None
    shipping: dict[str, float] = {}
    if depth == "quick":
        from faceorg.train.head import embed_from_features

        folds, after, weight, stop = _quick(library, data, version, progress, seed)
        scale = distance_scale(version, data.vectors, embed_from_features(data.features, weight), data.labels)
        decision = judge(data.vectors, after, data.labels, folds, seed)
    else:
        thorough = _thorough(library, data, version, progress, seed)
        module, stop, scale, decision = thorough.module, thorough.stop_reason, thorough.scale, thorough.decision
        shipping = {"ship_fraction": thorough.ship_fraction, "geometry_kept": thorough.geometry_kept}
    timings["train_and_check"] = time.perf_counter() - t
    result = RetrainReport(
        depth=depth, dry_run=dry_run, accepted=decision.accepted, version=None, previous_version=version.name,
        training=data.summary(), before=decision.before, after=decision.after, summary=decision.lines,
        seconds=0.0, stop_reason=stop, timings=timings, distance_scale=scale,
        unseen_verification_before=decision.unseen_before, unseen_verification_after=decision.unseen_after,
        ship_fraction=shipping.get("ship_fraction"), geometry_kept=shipping.get("geometry_kept"))
    return finish(library, result, version, depth, weight, module, progress, start)


def finish(library: Library, result: RetrainReport, parent: ModelVersion, depth: str, weight: np.ndarray | None,
           module: Any, progress: Progress, start: float) -> RetrainReport:
    """Install an accepted model (unless a dry run), regroup the library, and complete the report."""
    if result.accepted and not result.dry_run:
        t = time.perf_counter()
        new = _install(library, parent, depth, weight, module, result, progress)
        result.timings["install_and_reembed"] = time.perf_counter() - t
        t = time.perf_counter()
        from faceorg.people.clustering import recluster

        result.regrouped = recluster(library, progress, full=True).as_dict()
        result.timings["regroup"] = time.perf_counter() - t
        result.version = new.name
        result.summary.append(f"Now using embedder {new.name} (roll back with `faceorg models use {parent.name}`).")
    elif result.dry_run:
        result.summary.append("Dry run: nothing was changed.")
    result.seconds = time.perf_counter() - start
    return result


def _install(library: Library, parent: ModelVersion, depth: str, weight: np.ndarray | None, module: Any,
             result: RetrainReport, progress: Progress) -> ModelVersion:
    """Export the new model as a version, re-embed every face under it, then swap it in."""
    from faceorg.train.model_io import load_module, save_version, set_head

    kind = "head" if depth == "quick" else "full"
    name = next_version_name(library, kind)
    folder = library_models_dir(library)
    if module is None:
        parent_ckpt = folder / f"embedder-{parent.name}.pt"
        module = load_module(parent_ckpt if parent.kind != "base" else None, models_dir() / DLIB_RESNET_FILE)
        set_head(module, weight)  # type: ignore[arg-type]
    progress.start("Saving the new model")
    checkpoint = folder / f"embedder-{name}.pt"
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        onnx_tmp = Path(tmp) / "model.onnx"
        try:
            sha = save_version(module, onnx_tmp, checkpoint)
            version = register_version(library, name=name, kind=kind, onnx_file=onnx_tmp, sha256=sha, parent=parent,
                                       report={"before": result.before, "after": result.after,
                                               "summary": result.summary, "training": result.training,
                                               "distance_scale": result.distance_scale})
        except BaseException:
            checkpoint.unlink(missing_ok=True)
            raise
    if kind == "head":
        reembed_from_features(library, version, weight, progress)  # type: ignore[arg-type]
    else:
        reembed_from_chips(library, version, progress, use_gpu=load_settings(library).use_gpu)
    activate(library, version.id)
    return version
