"""User knowledge applied to a clustering: confirmed people, "not this person", cannot-link, one face per photo.

Rules, applied in this order (every step iterates in a fixed order, so the result is deterministic):

1. **Fixed faces** take their person label and never change afterwards ("fixed faces always win").
2. **Clusters become people.** For each cluster found by HDBSCAN:
   - no fixed faces inside: it gets a fresh label, counting up from ``first_new_label`` (default: one above
     every person label mentioned in the constraints), numbered by the cluster's lowest face index;
   - fixed faces of one person inside: every face of the cluster takes that person's label;
   - fixed faces of two or more people inside: the cluster is split. Starting from each person's fixed
     faces, regions grow along nearest-neighbour links (shortest links first, each at most
     ``attach_distance`` long) and two people's regions never join; faces reached by no region become
     unsorted (-1). This is single linkage seeded by the confirmed faces.
   Unsorted faces stay unsorted.
3. **"Face F is not person P"** (forbidden): a non-fixed face that ended with a forbidden label moves.
4. **Cannot-link** (two faces never share a label): when they do, the weaker match moves (the non-fixed one;
   between two non-fixed faces, the one farther from the label's centre).
5. **Same photo** (``groups``): within one label, of the faces from one photo only the best match stays
   (a fixed face; otherwise the one nearest the label's centre); the others move.

A face that must move goes to the nearest other label that allows it (no forbidden person, no cannot-link
partner, no face of its photo already there) if one of that label's faces is within ``attach_distance``,
and otherwise becomes unsorted. Moving never breaks a rule already satisfied, so the result satisfies every
rule except conflicts between fixed faces themselves, which are kept as given and listed in the report.

A label's centre is the normalised mean of its fixed faces when it has any, else of its faces after step 2.
Strengths: fixed faces 1.0; faces that stayed in their HDBSCAN cluster keep HDBSCAN's strength (also in a
split); faces moved by rules 3-5 get ``1 - distance / attach_distance``; unsorted faces 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from faceorg.cluster.knn import KnnGraph
from faceorg.cluster.knn_exact import knn_exact
from faceorg.vectors import distance_from_similarity, l2_normalize


@dataclass(frozen=True)
class Constraints:
    """User knowledge, all as indices into the vectors being clustered.

    fixed: per face, the person label (>= 0) the user confirmed, or -1.
    forbidden: (face, person) pairs: "this face is not this person".
    cannot_link: (face, face) pairs that must never share a label.
    groups: per face, the photo it comes from (or -1): two faces of one photo never share a label.
    first_new_label: fresh labels for new groups start here; default one above every person label
        mentioned in ``fixed`` and ``forbidden``.
    """

    fixed: np.ndarray | None = None
    forbidden: Sequence[tuple[int, int]] = ()
    cannot_link: Sequence[tuple[int, int]] = ()
    groups: np.ndarray | None = None
    first_new_label: int | None = None


@dataclass
class Move:
    """A face that a rule moved: from which label, to which (-1 = unsorted), at what distance."""

    face: int
    rule: str
    from_label: int
    to_label: int
    distance: float


@dataclass
class ConstraintReport:
    """What the constraints did.

    cluster_labels: HDBSCAN cluster -> the label its faces got (a person's or a fresh one); split clusters
        are absent here and listed in ``split_clusters`` (cluster -> the people it was split between).
    moves: faces moved by rules 3-5, and faces a split left unsorted (rule "split").
    conflicts: rules that could not hold because fixed faces contradict each other.
    """

    cluster_labels: dict[int, int] = field(default_factory=dict)
    split_clusters: dict[int, tuple[int, ...]] = field(default_factory=dict)
    moves: list[Move] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    first_new_label: int = 0


def _check(constraints: Constraints, n: int) -> tuple[np.ndarray, np.ndarray]:
    fixed = np.full(n, -1, np.int64) if constraints.fixed is None else np.asarray(constraints.fixed, np.int64)
    groups = np.full(n, -1, np.int64) if constraints.groups is None else np.asarray(constraints.groups, np.int64)
    if fixed.shape != (n,) or groups.shape != (n,):
        raise ValueError(f"fixed and groups must have one entry per face ({n})")
    for face, _ in constraints.forbidden:
        if not 0 <= face < n:
            raise ValueError(f"forbidden refers to face {face}, outside 0..{n - 1}")
    for a, b in constraints.cannot_link:
        if not (0 <= a < n and 0 <= b < n):
            raise ValueError(f"cannot_link refers to faces ({a}, {b}), outside 0..{n - 1}")
    return fixed, groups


class _UnionFind:
    """Union-find whose roots carry a person label (or -1) and refuse to join two different people."""

    def __init__(self, seeds: np.ndarray) -> None:
        self.parent = list(range(len(seeds)))
        self.person = [int(s) for s in seeds]

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        pa, pb = self.person[ra], self.person[rb]
        if pa >= 0 and pb >= 0 and pa != pb:
            return
        self.parent[rb] = ra
        self.person[ra] = max(pa, pb)


def split_between_people(
    vectors: np.ndarray, members: np.ndarray, seeds: np.ndarray, graph: KnnGraph, attach_distance: float
) -> np.ndarray:
    """Seeded single linkage inside one cluster: ``seeds`` holds the person label of fixed members (else -1).

    Links (k-NN links inside the cluster, plus every member's link to every seed) are taken shortest
    first, up to ``attach_distance``; two people's regions never join. Returns the person each member
    joins, -1 where no region reached it."""
    position = np.full(len(vectors), -1, dtype=np.int64)
    position[members] = np.arange(len(members))
    neighbours = graph.indices[members]
    inside = (neighbours >= 0) & (position[np.maximum(neighbours, 0)] >= 0)
    knn_a = np.repeat(np.arange(len(members)), neighbours.shape[1])[inside.ravel()]
    knn_b = position[neighbours[inside]]
    knn_d = graph.distances[members][inside]

    seed_pos = np.flatnonzero(seeds >= 0)
    x = vectors[members].astype(np.float64)
    seed_d = distance_from_similarity(x @ x[seed_pos].T)
    a = np.concatenate([knn_a, np.repeat(np.arange(len(members)), len(seed_pos))])
    b = np.concatenate([knn_b, np.tile(seed_pos, len(members))])
    d = np.concatenate([knn_d, seed_d.ravel()])
    keep = (d <= attach_distance) & (a != b)
    a, b, d = a[keep], b[keep], d[keep]
    order = np.lexsort((b, a, d))
    regions = _UnionFind(seeds)
    for i, j in zip(a[order].tolist(), b[order].tolist()):
        regions.join(i, j)
    return np.array([regions.person[regions.find(i)] for i in range(len(members))], dtype=np.int64)


class _State:
    """Current labels with the indexes that rule checks need."""

    def __init__(self, labels: np.ndarray, groups: np.ndarray, forbidden: dict[int, set[int]],
                 partners: dict[int, set[int]]) -> None:
        self.labels = labels
        self.groups = groups
        self.forbidden = forbidden
        self.partners = partners
        self.photo_count: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for face in np.flatnonzero((labels >= 0) & (groups >= 0)).tolist():
            self.photo_count[int(labels[face])][int(groups[face])] += 1

    def allowed(self, face: int, label: int) -> bool:
        if label in self.forbidden.get(face, ()):
            return False
        if any(self.labels[p] == label for p in self.partners.get(face, ())):
            return False
        group = int(self.groups[face])
        return group < 0 or self.photo_count[label][group] == 0

    def set(self, face: int, label: int) -> None:
        old = int(self.labels[face])
        group = int(self.groups[face])
        if group >= 0 and old >= 0:
            self.photo_count[old][group] -= 1
        if group >= 0 and label >= 0:
            self.photo_count[label][group] += 1
        self.labels[face] = label


def _members_by_label(labels: np.ndarray) -> dict[int, np.ndarray]:
    """Faces of each label >= 0, in increasing face order (one sort, not one scan per label)."""
    faces = np.flatnonzero(labels >= 0)
    faces = faces[np.argsort(labels[faces], kind="stable")]
    values, starts = np.unique(labels[faces], return_index=True)
    return {int(v): part for v, part in zip(values, np.split(faces, starts[1:]))}


def _label_centres(vectors: np.ndarray, labels: np.ndarray, fixed: np.ndarray) -> dict[int, np.ndarray]:
    centres: dict[int, np.ndarray] = {}
    for label, members in _members_by_label(labels).items():
        anchors = members[fixed[members] == label]
        centres[label] = l2_normalize(vectors[anchors if len(anchors) else members].astype(np.float64).mean(axis=0))
    return centres


def _rehome(vectors: np.ndarray, state: _State, faces: list[int], rule: str, from_labels: list[int],
            attach_distance: float, report: ConstraintReport, strengths: np.ndarray) -> None:
    """Move each face to the nearest allowed label within reach (by nearest member), else to unsorted."""
    if not faces:
        return
    for face in faces:
        state.set(face, -1)
    labelled = np.flatnonzero(state.labels >= 0)
    labelled_labels = state.labels[labelled].copy()
    min_sim = 1.0 - attach_distance**2 / 2.0  # |a - b| <= r  <=>  a.b >= 1 - r^2 / 2 for unit vectors
    for start in range(0, len(faces), 256):
        batch = faces[start:start + 256]
        sims = vectors[batch] @ vectors[labelled].T if len(labelled) else np.empty((len(batch), 0))
        for row, (face, old) in enumerate(zip(batch, from_labels[start:start + 256])):
            near = np.flatnonzero(sims[row] >= min_sim)
            dist = distance_from_similarity(sims[row, near])
            labels = labelled_labels[near]
            target, reach = -1, float("inf")
            seen: set[int] = {old}
            for i in np.lexsort((labels, dist)).tolist():
                label = int(labels[i])
                if label in seen:
                    continue
                seen.add(label)
                if state.allowed(face, label):
                    target, reach = label, float(dist[i])
                    break
            state.set(face, target)
            strengths[face] = 0.0 if target < 0 else max(0.0, 1.0 - reach / attach_distance)
            report.moves.append(Move(face, rule, old, target, reach))


def apply_constraints(
    vectors: np.ndarray,
    labels: np.ndarray,
    strengths: np.ndarray,
    constraints: Constraints,
    attach_distance: float = 0.32,
    graph: KnnGraph | None = None,
) -> tuple[np.ndarray, np.ndarray, ConstraintReport]:
    """Turn HDBSCAN's ``labels`` (clusters 0.., -1 unsorted) into final labels obeying ``constraints``.

    Returns (labels, strengths, report); see the module docstring for the rules and their order. ``graph``
    is the k-NN graph used for splitting clusters (computed here when needed and not given)."""
    x = np.asarray(vectors, dtype=np.float32)
    n = len(x)
    base = np.asarray(labels, dtype=np.int64)
    fixed, groups = _check(constraints, n)
    out_strength = np.where(base >= 0, np.asarray(strengths, dtype=np.float64), 0.0)
    report = ConstraintReport()

    people_mentioned = [int(v) for v in fixed[fixed >= 0]] + [int(p) for _, p in constraints.forbidden]
    first_new = constraints.first_new_label
    if first_new is None:
        first_new = max(people_mentioned, default=-1) + 1
    report.first_new_label = first_new

    # Rule 1 and 2, cluster by cluster in the order of their lowest face index.
    result = np.full(n, -1, dtype=np.int64)
    members_of = _members_by_label(base)
    next_label = first_new
    for cluster, members in sorted(members_of.items(), key=lambda item: int(item[1][0])):
        people = np.unique(fixed[members][fixed[members] >= 0])
        if len(people) == 0:
            result[members] = next_label
            report.cluster_labels[cluster] = next_label
            next_label += 1
        elif len(people) == 1:
            result[members] = int(people[0])
            report.cluster_labels[cluster] = int(people[0])
        else:
            if graph is None:
                graph = knn_exact(x, min(16, n - 1))
            assigned = split_between_people(x, members, fixed[members], graph, attach_distance)
            result[members] = assigned
            report.split_clusters[cluster] = tuple(int(p) for p in people)
            for face in members[assigned < 0].tolist():
                out_strength[face] = 0.0
                report.moves.append(Move(face, "split", int(cluster), -1, float("inf")))
    is_fixed = fixed >= 0
    result[is_fixed] = fixed[is_fixed]
    out_strength[is_fixed] = 1.0

    forbidden: dict[int, set[int]] = defaultdict(set)
    for face, person in constraints.forbidden:
        forbidden[int(face)].add(int(person))
    partners: dict[int, set[int]] = defaultdict(set)
    for a, b in constraints.cannot_link:
        if a != b:
            partners[int(a)].add(int(b))
            partners[int(b)].add(int(a))
    state = _State(result, groups, forbidden, partners)
    centres = _label_centres(x, result, fixed)

    def centre_distance(face: int) -> float:
        label = int(state.labels[face])
        return float(np.linalg.norm(x[face].astype(np.float64) - centres[label])) if label in centres else np.inf

    # Rule 3: forbidden.
    evict: list[int] = []
    for face in sorted(forbidden):
        label = int(result[face])
        if label >= 0 and label in forbidden[face]:
            if is_fixed[face]:
                report.conflicts.append(f"face {face} is fixed to person {label} but also marked 'not {label}'")
            else:
                evict.append(face)
    _rehome(x, state, evict, "forbidden", [int(result[f]) for f in evict], attach_distance, report, out_strength)

    # Rule 4: cannot-link. Losers are chosen pair by pair (a face already leaving settles its pairs).
    leaving: dict[int, int] = {}
    for a, b in sorted({(min(p), max(p)) for p in constraints.cannot_link if p[0] != p[1]}):
        label = int(state.labels[a])
        if label < 0 or label != state.labels[b] or a in leaving or b in leaving:
            continue
        if is_fixed[a] and is_fixed[b]:
            report.conflicts.append(f"faces {a} and {b} are both fixed to person {label} but cannot-link")
            continue
        if is_fixed[a] or is_fixed[b]:
            loser = b if is_fixed[a] else a
        else:
            loser = max((a, b), key=lambda f: (centre_distance(f), -out_strength[f], f))
        leaving[loser] = label
    _rehome(x, state, list(leaving), "cannot_link", list(leaving.values()), attach_distance, report, out_strength)

    # Rule 5: one face per photo and label.
    faces = np.flatnonzero((state.labels >= 0) & (groups >= 0))
    buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
    for face in faces.tolist():
        buckets[(int(state.labels[face]), int(groups[face]))].append(face)
    losers: list[int] = []
    loser_labels: list[int] = []
    for (label, photo), photo_faces in sorted(buckets.items()):
        if len(photo_faces) < 2:
            continue
        fixed_members = [f for f in photo_faces if is_fixed[f]]
        if len(fixed_members) > 1:
            report.conflicts.append(f"faces {fixed_members} of photo {photo} are all fixed to person {label}")
        if fixed_members:
            moved = [f for f in photo_faces if not is_fixed[f]]
        else:
            moved = sorted(photo_faces, key=lambda f: (centre_distance(f), -out_strength[f], f))[1:]
        losers += moved
        loser_labels += [label] * len(moved)
    _rehome(x, state, losers, "same_photo", loser_labels, attach_distance, report, out_strength)

    out_strength[state.labels < 0] = 0.0
    out_strength[is_fixed] = 1.0
    return state.labels, out_strength, report
