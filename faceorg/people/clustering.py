"""Group the library's faces into people, never overriding what the user decided.

Two steps, both automatic (not in the undo log):

1. **Suggestions**: faces that belong to nobody are matched to the named people, using only their
   reference faces (see below; a few centres per person). A match needs to be near enough and clearly
   nearer than the runner-up; it is stored as ``suggested`` with its distance and runner-up for the review.
2. **Grouping**: the faces nobody named claims are clustered (HDBSCAN on a k-NN graph). Faces the user
   placed are fixed; "not this person", faces the user said are different, and "two faces of one photo
   are never the same person" are respected; a group holding faces the user gave to two people is split
   between them. Unnamed groups keep their identity when they are mostly the same faces as before.

``full=True`` regroups every face that is not the user's decision (on request); otherwise faces already
given to named people stay where they are. After a change of model (retraining, going back) only faces no
grouping has seen are placed (``model_changed``). Under a model learning made, a new face that its calibrated
rule finds clearly nearer one named person than anyone else joins them unasked (:class:`SureMatch`).

A named person's **reference faces** decide which automatic faces may join or stay with them: the faces the
user confirmed, plus the person's automatic faces that are *sure* (within ``CONFIDENT_DISTANCE`` of a
confirmed one). A person named as a whole group and not confirmed face by face yet has no confirmed face:
the faces that group held when named (its automatic faces) are then its references, held in place even by a
full regrouping. Once the person has confirmed faces, a full regrouping may move their other automatic faces
that are not sure (a stranger that came with the named group), but never a confirmed one.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np
from sqlalchemy import Executable, Table, bindparam, select
from sqlalchemy.orm import Session

from faceorg.cluster.constraints import Constraints
from faceorg.cluster.engine import cluster_embeddings
from faceorg.cluster.match import build_person_index, match_distances, person_distances
from faceorg.cluster.params import ClusterParams, default_params
from faceorg.cluster.poor_groups import poor_groups
from faceorg.people.changes import ChangeSet
from faceorg.progress import Progress
from faceorg.settings import Settings, load_settings
from faceorg.store.cleanup import drop_empty_unnamed
from faceorg.store.db import Library
from faceorg.store.models import (
    Assignment,
    AssignmentSource,
    CannotLink,
    Embedding,
    Face,
    FaceNotPerson,
    FaceStatus,
    Person,
    Photo,
)
from faceorg.store.shared import lock_decisions
from faceorg.store.state import GROUPING_PENDING, get_state, set_grouping_pending, set_state
from faceorg.vectors import distance_from_similarity
from faceorg.versions.records import active_version

log = logging.getLogger(__name__)

# The settings' words onto the engine's knob (higher sorts more faces into more, smaller groups).
SENSITIVITY = {"fewer": 0.2, "balanced": 0.5, "more": 0.8}
# ... and onto the second chance unsorted faces get (joining the nearest group, or pairing up): the knob
# moves ``min_samples``, which is already 1 below 2,000 faces, so without this "more" and "balanced" were
# the same on every small library. "more" stays below the same/different boundary of our vectors (LFW
# threshold ~0.43 against 0.30 x 1.15 = 0.345 and 0.33 x 1.15 = 0.38; same person: median 0.31).
SECOND_CHANCE = {"fewer": 0.9, "balanced": 1.0, "more": 1.15}
# Suggestions: a named person must be this near, and this much nearer than the runner-up (measured on
# LFW: 94% of people's other photos found, 0.05% given to the wrong person, 1% of strangers accepted).
SUGGEST_MAX_DISTANCE = 0.32
SUGGEST_MARGIN = 0.03
# An automatic face this near one of its named person's confirmed faces is *sure*: held in place by a full
# regrouping and a reference for faces joining that person (it stays ``auto``: retraining does not learn
# from it). Measured on LFW (base model, one face per photo, 13,233 faces): same person 5/50/95% at
# 0.237/0.310/0.386; 400k random different-people pairs 0.01/0.1/1/50% at 0.340/0.384/0.429/0.572, none
# below 0.28. The nearest of k confirmed faces within 0.28: the person's other photos 29% (k=1), 53% (k=3),
# 77% (k=10); other people's faces 0 of 336,000 (k=1), 4 of 122,000 (k=3), 0 of 28,600 (k=10); at 0.30
# they are 4, 5 and 3 per 100,000. 0.28 is below the same-person median, well inside the 0.427 threshold.
CONFIDENT_DISTANCE = 0.28
# Library state: the highest face id a completed grouping has seen (faces are numbered as they are stored).
GROUPED_THROUGH = "grouped_through_face"


def cluster_params(settings: Settings, n_faces: int, scale: float = 1.0) -> ClusterParams:
    """Clustering parameters for a library of ``n_faces`` faces under the user's settings.

    ``scale``: the active model's distances relative to the base model's (the distances in the defaults
    were measured on the base model).
    """
    params = default_params(n_faces, SENSITIVITY[settings.validated().cluster_sensitivity])
    if settings.min_group_size >= 2:  # the user's own minimum: no pairs below it either
        params = replace(params, min_cluster_size=settings.min_group_size,
                         pair_distance=params.pair_distance if settings.min_group_size <= 2 else 0.0,
                         late_pair_distance=params.late_pair_distance if settings.min_group_size <= 2 else 0.0)
    reach = scale * SECOND_CHANCE[settings.validated().cluster_sensitivity]
    return replace(params, stray_distance=params.stray_distance * reach, pair_distance=params.pair_distance * reach,
                   late_pair_distance=params.late_pair_distance * reach,
                   attach_distance=params.attach_distance * scale, max_spread=params.max_spread * scale,
                   recall_join_distance=params.recall_join_distance * scale,
                   recall_join_spread=params.recall_join_spread * scale,
                   recall_attach_distance=params.recall_attach_distance * reach,  # it replaces the stray rule
                   prune_distance=params.prune_distance * reach)


def active_distance_scale(library: Library) -> float:
    """The active embedder's distance scale relative to the base model (1 for the base model)."""
    version = active_version(library)
    return float(((version.report if version else None) or {}).get("distance_scale", 1.0))


@dataclass(frozen=True)
class SureMatch:
    """Learning's calibrated matching (:class:`faceorg.retrain.calibrate.LearnedMatching`, stored with the model
    it was measured on as ``sure_match``): a new face within ``max_distance`` of a named person and at least
    ``margin`` nearer to them than to anyone else joins them as an automatic face, not a suggestion."""

    max_distance: float
    margin: float


def active_sure_match(library: Library) -> SureMatch | None:
    """The active model's learned matching; None (the usual suggestions) for a model learning did not
    calibrate it for (the base model, older versions)."""
    version = active_version(library)
    rule = ((version.report if version else None) or {}).get("sure_match")
    if not isinstance(rule, dict):
        return None
    try:
        return SureMatch(float(rule["max_distance"]), float(rule["margin"]))
    except (KeyError, TypeError, ValueError):
        return None


@dataclass
class LibraryFaces:
    """Everything clustering needs, read in one go (plain data)."""

    face_ids: np.ndarray
    vectors: np.ndarray
    photo_ids: np.ndarray
    collage: np.ndarray  # per face: its photo is a collage
    assignment: dict[int, tuple[int, AssignmentSource]]  # face -> (person, source)
    names: dict[int, str | None]  # person -> name
    not_person: dict[int, set[int]] = field(default_factory=dict)
    cannot_link: list[tuple[int, int]] = field(default_factory=list)
    quality: np.ndarray | None = None  # per face: the stored quality 0..1 (size, detector score, sharpness)
    hidden: set[int] = field(default_factory=set)  # people the user hid

    def index(self) -> dict[int, int]:
        return {int(f): i for i, f in enumerate(self.face_ids)}


def load_library_faces(library: Library) -> LibraryFaces | None:
    """Normal faces with an embedding under the active model, and the decisions about them.

    Rows are read in chunks into plain values (never all at once, never as ORM objects): this runs on a
    worker thread beside the GUI, and a heap of ~100k long-lived objects sets off full garbage
    collections that hold the GIL for hundreds of milliseconds.
    """
    version = active_version(library)
    if version is None:
        return None
    face_ids: list[int] = []
    photo_ids: list[int] = []
    collage: list[bool] = []
    quality: list[float] = []
    blobs: list[bytes] = []
    with library.session() as s:
        for f, photo, is_collage, q, vector in _rows(s, (
                select(Face.id, Face.photo_id, Photo.is_collage, Face.quality, Embedding.vector)
                .join(Embedding, (Embedding.face_id == Face.id) & (Embedding.model_version_id == version.id))
                .join(Photo, Photo.id == Face.photo_id)
                .where(Face.status == FaceStatus.NORMAL).order_by(Face.id))):
            face_ids.append(f)
            photo_ids.append(photo)
            collage.append(bool(is_collage))
            quality.append(float(q or 0.0))
            blobs.append(vector)
        # One (person, source) tuple per pair, shared by its faces: ~100k faces hold a few thousand tuples.
        pairs: dict[tuple[int, AssignmentSource], tuple[int, AssignmentSource]] = {}
        assignment = {f: pairs.setdefault((p, src), (p, src)) for f, p, src in _rows(
            s, select(Assignment.face_id, Assignment.person_id, Assignment.source))}
        names: dict[int, str | None] = {}
        hidden: set[int] = set()
        for pid, name, is_hidden in s.execute(select(Person.id, Person.name, Person.hidden)):
            names[pid] = name
            if is_hidden:
                hidden.add(pid)
        not_person: dict[int, set[int]] = defaultdict(set)
        for f, p in _rows(s, select(FaceNotPerson.face_id, FaceNotPerson.person_id)):
            not_person[f].add(p)
        links = [(a, b) for a, b in _rows(s, select(CannotLink.face_a, CannotLink.face_b))]
    n = len(face_ids)
    vectors = np.frombuffer(b"".join(blobs), np.float32).reshape(n, -1) if n else np.zeros((0, 128), np.float32)
    return LibraryFaces(
        face_ids=np.array(face_ids, np.int64), vectors=vectors, photo_ids=np.array(photo_ids, np.int64),
        collage=np.array(collage, bool), assignment=assignment, names=names, not_person=dict(not_person),
        cannot_link=links, quality=np.array(quality, np.float32), hidden=hidden)


_CHUNK = 1000  # rows read at a time by the loads above and below


def _rows(session: Session, stmt: Executable) -> Iterator[Any]:
    """The statement's rows, read ``_CHUNK`` at a time (only one chunk of row objects is alive at once)."""
    return iter(session.execute(stmt.execution_options(yield_per=_CHUNK)))


@dataclass
class _Plan:
    """The assignments clustering wants: face -> (person or a new-group key, source, details)."""

    set_to: dict[int, tuple[int, AssignmentSource, dict[str, float | int | None]]] = field(default_factory=dict)
    clear: set[int] = field(default_factory=set)
    new_groups: dict[int, list[int]] = field(default_factory=dict)  # fresh label -> faces


def suggest_named(data: LibraryFaces, candidates: list[int], plan: _Plan, scale: float = 1.0,
                  references: dict[int, set[int]] | None = None, sure: SureMatch | None = None,
                  new_faces: set[int] | None = None) -> set[int]:
    """Match faces that belong to nobody to named people (their reference faces only: ``reference_faces``,
    by default the user-confirmed ones). Returns faces matched.

    ``sure``: the rule learning calibrated (:class:`SureMatch`) for new photos, used for ``new_faces`` (by
    default every candidate): faces it matches join the person as automatic faces instead of waiting as
    suggestions; the others are suggested by the usual rule. Faces a grouping has seen already (mostly
    strangers the user left unsorted) keep only the usual rule."""
    index = data.index()
    if references is None:
        confirmed = [(f, p) for f, (p, src) in data.assignment.items()
                     if src is AssignmentSource.USER and data.names.get(p) and f in index]
    else:
        confirmed = sorted((f, p) for p, faces in references.items() for f in faces if f in index)
    if not confirmed or not candidates:
        return set()
    person_index = build_person_index(data.vectors[[index[f] for f, _ in confirmed]],
                                      np.array([p for _, p in confirmed], np.int64))
    people, distances = person_distances(data.vectors[[index[f] for f in candidates]], person_index)
    match = match_distances(people, distances, SUGGEST_MARGIN * scale, SUGGEST_MAX_DISTANCE * scale)
    sure_now = np.zeros(len(candidates), bool)
    if sure is not None:
        learned = np.array([new_faces is None or f in new_faces for f in candidates], bool)
        sure_now = learned & (match.distances <= sure.max_distance) & (
            match.runner_up_distances - match.distances >= sure.margin)
        if sure_now.any():
            match.labels[sure_now] = people[np.argmin(distances[sure_now], axis=1)]
    taken: dict[tuple[int, int], tuple[float, int]] = {}  # (photo, person) -> best (distance, face)
    for f, (p, _) in data.assignment.items():
        if f in index and not data.collage[index[f]]:
            taken[(int(data.photo_ids[index[f]]), p)] = (-1.0, f)  # existing assignments win
    for k, f in enumerate(candidates):
        person = int(match.labels[k])
        if person < 0 or person in data.not_person.get(f, ()):
            continue
        runner_up_distance = float(match.runner_up_distances[k])
        source = AssignmentSource.AUTO if sure_now[k] else AssignmentSource.SUGGESTED
        i = index[f]
        key = (int(data.photo_ids[i]), person)
        dist = float(match.distances[k])
        if not data.collage[i]:
            if key in taken and taken[key][0] <= dist:
                continue
            if key in taken:  # a nearer face of the same photo: the earlier candidate loses
                plan.set_to.pop(taken[key][1], None)
            taken[key] = (dist, f)
        plan.set_to[f] = (person, source, {
            "distance": dist,
            "runner_up_id": int(match.runner_up_labels[k]) if match.runner_up_labels[k] >= 0 else None,
            "runner_up_distance": runner_up_distance if np.isfinite(runner_up_distance) else None})
    return set(plan.set_to)


def reference_faces(data: LibraryFaces, scale: float = 1.0) -> dict[int, set[int]]:
    """Each named person's reference faces: the confirmed ones plus the sure automatic ones (within
    ``CONFIDENT_DISTANCE`` of a confirmed one); for a person with no confirmed face yet, the faces the named
    group holds."""
    index = data.index()
    confirmed: dict[int, list[int]] = defaultdict(list)
    automatic: dict[int, list[int]] = defaultdict(list)
    for f, (p, src) in data.assignment.items():
        if not data.names.get(p) or f not in index:
            continue
        if src is AssignmentSource.USER:
            confirmed[p].append(f)
        elif p not in data.not_person.get(f, ()):
            automatic[p].append(f)
    refs: dict[int, set[int]] = {}
    for p in set(confirmed) | set(automatic):
        mine, auto = confirmed.get(p, []), automatic.get(p, [])
        if not mine:
            refs[p] = set(auto)
            continue
        refs[p] = set(mine)
        if auto:
            ref = data.vectors[[index[f] for f in mine]]
            nearest = distance_from_similarity((data.vectors[[index[f] for f in auto]] @ ref.T).max(axis=1))
            refs[p] |= {f for f, d in zip(auto, nearest.tolist()) if d <= CONFIDENT_DISTANCE * scale}
    return refs


def group_faces(data: LibraryFaces, movable: set[int], anchors: dict[int, int], params: ClusterParams,
                plan: _Plan, references: dict[int, set[int]] | None = None) -> None:
    """Cluster all faces; only ``movable`` faces get new places. ``anchors`` (face -> person) are held fixed.

    Clustering every face (not only the movable ones) gives HDBSCAN the whole density picture, so a few
    new faces of one person still form a group next to everyone else.
    """
    faces = data.face_ids
    if len(faces) < 2 or not movable:
        return
    fixed = np.array([anchors.get(int(f), -1) for f in faces], np.int64)
    local = {int(f): k for k, f in enumerate(faces)}
    forbidden = [(local[f], p) for f, ps in data.not_person.items() if f in local for p in ps]
    links = [(local[a], local[b]) for a, b in data.cannot_link if a in local and b in local]
    groups = np.where(data.collage, -1, data.photo_ids)
    first_new = int(max(fixed.max(initial=-1), max(data.names, default=0)) + 1)
    constraints = Constraints(fixed=fixed, forbidden=forbidden, cannot_link=links, groups=groups,
                              first_new_label=first_new)
    result = cluster_embeddings(data.vectors, params, constraints)
    if not (result.base_labels >= 0).any() and len(faces) >= params.min_cluster_size:
        # HDBSCAN never calls everything one group unless allowed: a library of one person needs it.
        result = cluster_embeddings(data.vectors, replace(params, allow_single_cluster=True), constraints)
    if result.recall_report is not None:
        log.info("recall pass: %s", result.recall_report.as_dict())
    if result.prune_report is not None:
        log.info("precision pass: %s", result.prune_report.as_dict())
    labels = keep_named_joins_close(data, result.labels, movable, params.attach_distance, references)
    if data.quality is not None:
        held = fixed >= 0  # the user's decisions and named people; and a group the user hid stays as it is
        if data.hidden:
            held |= np.array([data.assignment.get(int(f), (-1,))[0] in data.hidden for f in faces.tolist()])
        poor = poor_groups(labels, data.quality, held)
        labels = np.where(np.isin(labels, poor), -1, labels)
    for k, f in enumerate(faces.tolist()):
        if f not in movable:
            continue
        label = int(labels[k])
        if label < 0:
            plan.clear.add(f)
            continue
        if label >= first_new:
            plan.new_groups.setdefault(label, []).append(f)
        plan.set_to[f] = (label, AssignmentSource.AUTO, {"strength": float(result.strengths[k])})


def keep_named_joins_close(data: LibraryFaces, labels: np.ndarray, movable: set[int],
                           max_distance: float, references: dict[int, set[int]] | None = None) -> np.ndarray:
    """A face grouping puts with a *named* person stays there only if one of that person's reference faces
    (``reference_faces``: confirmed or sure ones, or the named group's own faces while none is confirmed) is
    within ``max_distance``; otherwise it is left unsorted (for the Review and Unknown views) instead of
    being given to someone it may not be.

    Measured on a hard library (158 people, small degraded faces): joins through a group alone gave 11%
    of new photos to the wrong named person.
    """
    index = data.index()
    if references is None:
        references = reference_faces(data)
    out = labels.copy()
    for person, faces in references.items():
        rows = [index[f] for f in sorted(faces) if f in index and f not in movable]
        if not rows:
            continue
        joined = [k for k in np.flatnonzero(labels == person) if int(data.face_ids[k]) in movable]
        if not joined:
            continue
        ref = data.vectors[rows]
        nearest = distance_from_similarity((data.vectors[joined] @ ref.T).max(axis=1))
        out[np.array(joined)[nearest > max_distance]] = -1
    return out


def recluster(library: Library, progress: Progress | None = None, *, full: bool = False,
              recall_pass: bool = True, model_changed: bool = False) -> ChangeSet:
    """Match new faces to named people, then group the faces nobody claims; returns what changed.

    ``recall_pass=False`` turns off the conservative joining pass after grouping (``cluster/recall_pass.py``).
    ``model_changed``: the grouping that follows a change of model (retraining, going back): every face an
    earlier grouping saw keeps its place (unsorted stays unsorted, a group's faces stay in it, no new
    suggestion); only faces no grouping has seen yet are placed. A new model gives no new evidence about the
    faces the user has already worked through, and regrouping them put strangers a hurried user had left
    unsorted into groups and suggestions again (20 faces needing work in a finished library).
    """
    progress = progress or Progress()
    start = time.perf_counter()
    progress.start("Grouping faces", total=3)
    data = load_library_faces(library)
    if data is None or not len(data.face_ids):
        set_grouping_pending(library, False)
        return ChangeSet(label="Group faces")
    progress.advance(message=f"{len(data.face_ids)} faces")
    progress.check_cancelled()
    settings = load_settings(library)
    plan = _Plan()
    named = {p for p, name in data.names.items() if name}

    def automatic(f: int) -> bool:
        a = data.assignment.get(f)
        return a is None or a[1] is not AssignmentSource.USER

    scale = active_distance_scale(library)
    references = reference_faces(data, scale)
    sure = {f for faces in references.values() for f in faces}
    seen = seen_faces(library, data, unmarked_seen=model_changed) if not full else set()
    kept = seen if model_changed else set()
    if full:
        candidates = [int(f) for f in data.face_ids if automatic(int(f)) and int(f) not in sure]
    else:
        candidates = [int(f) for f in data.face_ids if int(f) not in data.assignment and int(f) not in kept]
    # Learning's sure matches are for new faces only: a full regrouping re-matches faces the user has seen.
    suggested = suggest_named(data, candidates, plan, scale, references,
                              None if full else active_sure_match(library), {f for f in candidates if f not in seen})
    # Held in place: the user's decisions, the new suggestions, named people's reference faces, (unless
    # full) every face with a named person and (after a model change) every face a grouping has seen.
    anchors = {f: p for f, (p, src) in data.assignment.items()
               if src is AssignmentSource.USER or (p in named and p not in data.not_person.get(f, ())
                                                   and (not full or f in sure))}
    anchors.update({f: p for f, (p, _) in data.assignment.items() if f in kept})
    anchors.update({f: plan.set_to[f][0] for f in suggested})
    movable = {int(f) for f in data.face_ids} - set(anchors) - kept
    progress.advance(message=f"{len(suggested)} suggestions")
    progress.check_cancelled()
    params = cluster_params(settings, len(data.face_ids), scale)
    params = params if recall_pass else replace(params, recall_pass=False)
    group_faces(data, movable, anchors, params, plan, references)
    progress.check_cancelled()
    changes = _write(library, data, plan)
    progress.advance()
    log.info("grouped %d faces in %.1f s: %s", len(data.face_ids), time.perf_counter() - start, changes.as_dict())
    return changes


def seen_faces(library: Library, data: LibraryFaces, *, unmarked_seen: bool) -> set[int]:
    """The automatic or unsorted faces a completed grouping has seen: ids up to the ``GROUPED_THROUGH``
    mark; without a mark (a library last grouped before there was one, or never), every face when
    ``unmarked_seen``, else none."""
    with library.session() as s:
        through = get_state(s, GROUPED_THROUGH, None)
    if through is None and not unmarked_seen:
        return set()
    limit = int(through) if through is not None else int(data.face_ids.max(initial=0))
    return {int(f) for f in data.face_ids if f <= limit and (
        int(f) not in data.assignment or data.assignment[int(f)][1] is not AssignmentSource.USER)}


_DETAILS = ("distance", "runner_up_id", "runner_up_distance", "strength")
# The tables themselves (Core): the write path makes no ORM objects.
_ASSIGNMENTS = cast(Table, Assignment.__table__)
_PEOPLE = cast(Table, Person.__table__)
_T = _ASSIGNMENTS.c


def _write(library: Library, data: LibraryFaces, plan: _Plan) -> ChangeSet:
    """Apply the plan in one transaction: new groups get people (reusing unnamed ids that carry over).

    Only the assignments the plan touches are read, as plain rows, and written with executemany: the
    grouping of a big library builds no ORM object per face (see :func:`load_library_faces`).
    """
    from faceorg.cluster.match import carry_over_labels

    cs = ChangeSet(label="Group faces")
    # Unnamed groups the user placed faces in are fixed labels already; only purely automatic ones carry over.
    placed = {p for p, src in data.assignment.values() if src is AssignmentSource.USER}
    old_unnamed = {f: p for f, (p, src) in data.assignment.items() if not data.names.get(p) and p not in placed}
    carried = carry_over_labels(old_unnamed, plan.new_groups)
    with library.transaction() as s:
        lock_decisions(s)  # the user's decisions committed before this write are read below, none during it
        existing_people = set(s.scalars(select(Person.id)))
        labels = sorted(plan.new_groups)
        label_to_person = {label: carried[label] for label in labels
                           if carried.get(label) is not None and carried[label] in existing_people}
        fresh = [label for label in labels if label not in label_to_person]
        if fresh:  # ids in the labels' order, as one flush of new Person rows would give them
            ids = s.scalars(_PEOPLE.insert().returning(_PEOPLE.c.id, sort_by_parameter_order=True),
                            [{"hidden": False}] * len(fresh)).all()
            label_to_person.update(zip(fresh, ids))
            cs.people_added.update(ids)
        # face -> (person, source, distance, runner_up_id, runner_up_distance, strength), as stored now
        current = _current_assignments(s, sorted(set(plan.set_to) | plan.clear))
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for f, (target, source, details) in plan.set_to.items():
            person = label_to_person.get(target, target) if target in plan.new_groups else target
            if person in data.not_person.get(f, ()):  # a carried-over group the user ruled out for this face
                plan.clear.add(f)
                continue
            a = current.get(f)
            if a is not None and a[1] is AssignmentSource.USER:
                continue  # never override the user
            values = tuple(details.get(k) for k in _DETAILS)
            # plain values only (the source's text): a dict of those is no work for the garbage collector
            row = {"f": f, "person_id": person, "source": source.value, **dict(zip(_DETAILS, values))}
            if a is None:
                inserts.append(row)
            elif a[0] == person and a[1] is source:
                if a[2:] != values:  # the same place, new details (not a change the views show)
                    updates.append(row)
                continue
            else:
                cs.people_changed.add(a[0])
                updates.append(row)
            cs.faces_changed.add(f)
            cs.people_changed.add(person)
        clear = [f for f in sorted(plan.clear) if f in current and current[f][1] is not AssignmentSource.USER]
        for f in clear:
            cs.people_changed.add(current[f][0])
            cs.faces_changed.add(f)
        if inserts:
            s.execute(_ASSIGNMENTS.insert().values(face_id=bindparam("f")), inserts)
        if updates:
            s.execute(_ASSIGNMENTS.update().where(_T.face_id == bindparam("f")), updates)
        if clear:
            s.execute(_ASSIGNMENTS.delete().where(_T.face_id == bindparam("f")), [{"f": f} for f in clear])
        cs.people_removed |= set(drop_empty_unnamed(s))
        set_state(s, GROUPING_PENDING, None)  # every stored face has been grouped
        set_state(s, GROUPED_THROUGH, int(data.face_ids.max(initial=0)))
    cs.people_changed -= cs.people_added | cs.people_removed
    return cs


def _current_assignments(session: Session, faces: list[int]) -> dict[int, tuple[Any, ...]]:
    """The stored assignments of ``faces`` (sorted ids) as plain tuples, read a chunk of ids at a time."""
    stmt = select(_T.face_id, _T.person_id, _T.source, *(_T[k] for k in _DETAILS))
    out: dict[int, tuple[Any, ...]] = {}
    for start in range(0, len(faces), _CHUNK):
        chunk = faces[start:start + _CHUNK]
        for row in session.execute(stmt.where(_T.face_id.in_(chunk))):
            out[row[0]] = tuple(row[1:])
    return out
