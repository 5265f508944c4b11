"""Group the library's faces into people, never overriding what the user decided.

Two steps, both automatic (not in the undo log):

1. **Suggestions**: faces that belong to nobody are matched to the named people, using only the faces
   the user confirmed (a few centres per person). A match needs to be near enough and clearly nearer
   than the runner-up; it is stored as ``suggested`` with its distance and runner-up for the review view.
2. **Grouping**: the faces nobody named claims are clustered (HDBSCAN on a k-NN graph). Faces the user
   placed are fixed; "not this person", faces the user said are different, and "two faces of one photo
   are never the same person" are respected; a group holding faces the user gave to two people is split
   between them. Unnamed groups keep their identity when they are mostly the same faces as before.

``full=True`` regroups every face that is not the user's decision (after retraining, or on request);
otherwise faces already given to named people stay where they are.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace

import numpy as np
from sqlalchemy import select

from faceorg.cluster.constraints import Constraints
from faceorg.cluster.engine import cluster_embeddings
from faceorg.cluster.match import build_person_index, match_to_people
from faceorg.cluster.params import ClusterParams, default_params
from faceorg.people.changes import ChangeSet
from faceorg.progress import Progress
from faceorg.settings import Settings, load_settings
from faceorg.store.cleanup import drop_empty_unnamed
from faceorg.store.state import GROUPING_PENDING, set_grouping_pending, set_state
from faceorg.store.db import Library
from faceorg.store.model_versions import active_version
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
from faceorg.vectors import distance_from_similarity

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


def cluster_params(settings: Settings, n_faces: int, scale: float = 1.0) -> ClusterParams:
    """Clustering parameters for a library of ``n_faces`` faces under the user's settings.

    ``scale``: the active model's distances relative to the base model's (the distances in the defaults
    were measured on the base model).
    """
    params = default_params(n_faces, SENSITIVITY[settings.validated().cluster_sensitivity])
    if settings.min_group_size >= 2:  # the user's own minimum: no pairs below it either
        params = replace(params, min_cluster_size=settings.min_group_size,
                         pair_distance=params.pair_distance if settings.min_group_size <= 2 else 0.0)
    reach = scale * SECOND_CHANCE[settings.validated().cluster_sensitivity]
    return replace(params, stray_distance=params.stray_distance * reach, pair_distance=params.pair_distance * reach,
                   attach_distance=params.attach_distance * scale, max_spread=params.max_spread * scale,
                   recall_join_distance=params.recall_join_distance * scale,
                   recall_join_spread=params.recall_join_spread * scale,
                   recall_attach_distance=params.recall_attach_distance * reach)  # it replaces the stray rule


def active_distance_scale(library: Library) -> float:
    """The active embedder's distance scale relative to the base model (1 for the base model)."""
    version = active_version(library)
    return float(((version.report if version else None) or {}).get("distance_scale", 1.0))


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

    def index(self) -> dict[int, int]:
        return {int(f): i for i, f in enumerate(self.face_ids)}


def load_library_faces(library: Library) -> LibraryFaces | None:
    """Normal faces with an embedding under the active model, and the decisions about them."""
    version = active_version(library)
    if version is None:
        return None
    with library.session() as s:
        rows = s.execute(
            select(Face.id, Face.photo_id, Photo.is_collage, Embedding.vector)
            .join(Embedding, (Embedding.face_id == Face.id) & (Embedding.model_version_id == version.id))
            .join(Photo, Photo.id == Face.photo_id)
            .where(Face.status == FaceStatus.NORMAL).order_by(Face.id)).all()
        assignment = {f: (p, src) for f, p, src in s.execute(
            select(Assignment.face_id, Assignment.person_id, Assignment.source))}
        names = dict(s.execute(select(Person.id, Person.name)).all())
        not_person: dict[int, set[int]] = defaultdict(set)
        for f, p in s.execute(select(FaceNotPerson.face_id, FaceNotPerson.person_id)):
            not_person[f].add(p)
        links = [(a, b) for a, b in s.execute(select(CannotLink.face_a, CannotLink.face_b))]
    n = len(rows)
    vectors = np.frombuffer(b"".join(r[3] for r in rows), np.float32).reshape(n, -1) if n else np.zeros((0, 128), np.float32)
    return LibraryFaces(
        face_ids=np.array([r[0] for r in rows], np.int64), vectors=vectors,
        photo_ids=np.array([r[1] for r in rows], np.int64), collage=np.array([bool(r[2]) for r in rows]),
        assignment=assignment, names=names, not_person=dict(not_person), cannot_link=links)


@dataclass
class _Plan:
    """The assignments clustering wants: face -> (person or a new-group key, source, details)."""

    set_to: dict[int, tuple[int, AssignmentSource, dict[str, float | int | None]]] = field(default_factory=dict)
    clear: set[int] = field(default_factory=set)
    new_groups: dict[int, list[int]] = field(default_factory=dict)  # fresh label -> faces


def suggest_named(data: LibraryFaces, candidates: list[int], plan: _Plan, scale: float = 1.0) -> set[int]:
    """Match faces that belong to nobody to named people (user-confirmed faces only). Returns faces matched."""
    index = data.index()
    confirmed = [(f, p) for f, (p, src) in data.assignment.items()
                 if src is AssignmentSource.USER and data.names.get(p) and f in index]
    if not confirmed or not candidates:
        return set()
    person_index = build_person_index(data.vectors[[index[f] for f, _ in confirmed]],
                                      np.array([p for _, p in confirmed], np.int64))
    rows = [index[f] for f in candidates]
    match = match_to_people(data.vectors[rows], person_index, margin=SUGGEST_MARGIN * scale,
                            max_distance=SUGGEST_MAX_DISTANCE * scale)
    taken: dict[tuple[int, int], tuple[float, int]] = {}  # (photo, person) -> best (distance, face)
    for f, (p, _) in data.assignment.items():
        if f in index and not data.collage[index[f]]:
            taken[(int(data.photo_ids[index[f]]), p)] = (-1.0, f)  # existing assignments win
    for k, f in enumerate(candidates):
        person = int(match.labels[k])
        if person < 0 or person in data.not_person.get(f, ()):
            continue
        i = index[f]
        key = (int(data.photo_ids[i]), person)
        dist = float(match.distances[k])
        if not data.collage[i]:
            if key in taken and taken[key][0] <= dist:
                continue
            if key in taken:  # a nearer face of the same photo: the earlier candidate loses
                plan.set_to.pop(taken[key][1], None)
            taken[key] = (dist, f)
        plan.set_to[f] = (person, AssignmentSource.SUGGESTED, {
            "distance": dist, "runner_up_id": int(match.runner_up_labels[k]) if match.runner_up_labels[k] >= 0 else None,
            "runner_up_distance": float(match.runner_up_distances[k]) if np.isfinite(match.runner_up_distances[k]) else None})
    return set(plan.set_to)


def group_faces(data: LibraryFaces, movable: set[int], anchors: dict[int, int], params: ClusterParams,
                plan: _Plan) -> None:
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
    labels = keep_named_joins_close(data, result.labels, movable, params.attach_distance)
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
                           max_distance: float) -> np.ndarray:
    """A face grouping puts with a *named* person stays there only if one of the faces the user confirmed
    for that person is within ``max_distance``; otherwise it is left unsorted (for the Review and Unknown
    views) instead of being given to someone it may not be.

    Measured on a hard library (158 people, small degraded faces): joins through a group alone gave 11%
    of new photos to the wrong named person.
    """
    confirmed: dict[int, list[int]] = {}
    index = data.index()
    for f, (p, src) in data.assignment.items():
        if src is AssignmentSource.USER and data.names.get(p) and f in index:
            confirmed.setdefault(p, []).append(index[f])
    out = labels.copy()
    for person, rows in confirmed.items():
        joined = [k for k in np.flatnonzero(labels == person) if int(data.face_ids[k]) in movable]
        if not joined:
            continue
        ref = data.vectors[rows]
        nearest = distance_from_similarity((data.vectors[joined] @ ref.T).max(axis=1))
        out[np.array(joined)[nearest > max_distance]] = -1
    return out


def recluster(library: Library, progress: Progress | None = None, *, full: bool = False,
              recall_pass: bool = True) -> ChangeSet:
    """Match new faces to named people, then group the faces nobody claims; returns what changed.

    ``recall_pass=False`` turns off the conservative joining pass after grouping (``cluster/recall_pass.py``).
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

    if full:
        candidates = [int(f) for f in data.face_ids if automatic(int(f))]
    else:
        candidates = [int(f) for f in data.face_ids if int(f) not in data.assignment]
    scale = active_distance_scale(library)
    suggested = suggest_named(data, candidates, plan, scale)
    # Held in place: the user's decisions, the new suggestions and (unless full) faces with named people.
    anchors = {f: p for f, (p, src) in data.assignment.items()
               if src is AssignmentSource.USER or (not full and p in named and p not in data.not_person.get(f, ()))}
    anchors.update({f: plan.set_to[f][0] for f in suggested})
    movable = {int(f) for f in data.face_ids} - set(anchors)
    progress.advance(message=f"{len(suggested)} suggestions")
    progress.check_cancelled()
    params = cluster_params(settings, len(data.face_ids), scale)
    params = params if recall_pass else replace(params, recall_pass=False)
    group_faces(data, movable, anchors, params, plan)
    progress.check_cancelled()
    changes = _write(library, data, plan)
    progress.advance()
    log.info("grouped %d faces in %.1f s: %s", len(data.face_ids), time.perf_counter() - start, changes.as_dict())
    return changes


def _write(library: Library, data: LibraryFaces, plan: _Plan) -> ChangeSet:
    """Apply the plan in one transaction: new groups get people (reusing unnamed ids that carry over)."""
    from faceorg.cluster.match import carry_over_labels

    cs = ChangeSet(label="Group faces")
    # Unnamed groups the user placed faces in are fixed labels already; only purely automatic ones carry over.
    placed = {p for p, src in data.assignment.values() if src is AssignmentSource.USER}
    old_unnamed = {f: p for f, (p, src) in data.assignment.items() if not data.names.get(p) and p not in placed}
    carried = carry_over_labels(old_unnamed, plan.new_groups)
    with library.transaction() as s:
        existing_people = set(s.scalars(select(Person.id)))
        label_to_person: dict[int, int] = {}
        for label in sorted(plan.new_groups):
            person = carried.get(label)
            if person is None or person not in existing_people:
                new = Person()
                s.add(new)
                s.flush()
                person = new.id
                cs.people_added.add(person)
            label_to_person[label] = person
        current = {a.face_id: a for a in s.scalars(select(Assignment))}
        for f, (target, source, details) in plan.set_to.items():
            person = label_to_person.get(target, target) if target in plan.new_groups else target
            if person in data.not_person.get(f, ()):  # a carried-over group the user ruled out for this face
                plan.clear.add(f)
                continue
            a = current.get(f)
            if a is not None and a.source is AssignmentSource.USER:
                continue  # never override the user
            if a is None:
                a = Assignment(face_id=f, person_id=person, source=source)
                s.add(a)
            elif a.person_id == person and a.source is source:
                _set_details(a, details)
                continue
            else:
                cs.people_changed.add(a.person_id)
                a.person_id, a.source = person, source
            _set_details(a, details)
            cs.faces_changed.add(f)
            cs.people_changed.add(person)
        clear = [f for f in plan.clear if f in current and current[f].source is not AssignmentSource.USER]
        for f in clear:
            cs.people_changed.add(current[f].person_id)
            cs.faces_changed.add(f)
            s.delete(current[f])
        s.flush()
        cs.people_removed |= set(drop_empty_unnamed(s))
        set_state(s, GROUPING_PENDING, None)  # every stored face has been grouped
    cs.people_changed -= cs.people_added | cs.people_removed
    return cs


def _set_details(a: Assignment, details: dict[str, float | int | None]) -> None:
    a.distance = details.get("distance")  # type: ignore[assignment]
    a.runner_up_id = details.get("runner_up_id")  # type: ignore[assignment]
    a.runner_up_distance = details.get("runner_up_distance")  # type: ignore[assignment]
    a.strength = details.get("strength")  # type: ignore[assignment]
