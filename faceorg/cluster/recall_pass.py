"""A conservative pass after grouping: join groups that are one person and give unsorted faces a home,
only on strong evidence.

HDBSCAN and the stray rules leave a person split over several groups when their photos form looks that
are dense on their own but thinly linked, and leave faces unsorted whose nearest face is a little too far.
Two rules, both with exact distances:

- **Joining groups**: two groups whose faces meet in the k-NN graph are joined when the average of their
  ``linkage_pairs`` closest cross pairs is within ``join_distance`` *and* the average distance between
  their faces is within ``join_spread`` (one close look-alike pair is not enough: the groups must be close
  as a whole). Candidates are taken closest first and re-checked against the groups as they grow.
- **Attaching unsorted faces**: an unsorted face joins the group whose ``nearest`` closest faces are on
  average within ``attach_distance`` of it, when the runner-up group's are at least ``ratio`` times as far
  (a ratio test: a face between two people stays unsorted). With attaching on, the engine drops the
  older stray rule (nearest grouped face within ``stray_distance``, ``refine.py``): the ratio test recovers
  as many faces with fewer mistakes (LFW BCubed F 0.9324 -> 0.9378, precision 0.9412 -> 0.9467; how the
  thresholds were chosen: ``params.py``). Joining is off by default: it cost precision at every setting tried.

Both respect what the user and the photos say: never two faces of one photo in one group (``photo`` = -1 for
collages), never a cannot-link pair in one group, never a group holding faces fixed to two different people,
never a face attached to a person it is forbidden for, and fixed faces are never moved or attached (their
person is the user's choice). Named people's further rule (a face joins only near one of their confirmed
faces) is applied by the caller after the constraints, as for every other face.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from faceorg.cluster.knn import KnnGraph
from faceorg.cluster.knn_ivf import IvfIndex
from faceorg.vectors import distance_from_similarity

BLOCK = 256  # unsorted faces compared with every grouped face at once
INDEX_BLOCK = 1 << 17  # unsorted faces searched at once with an index (each search visits every cell once)
EXACT_ELEMENTS = 1 << 23  # similarities at once where faces whose nearest cells held too few are searched exactly
INDEX_PROBES = 16  # cells searched per unsorted face where an index of the faces is given (large libraries)


def group_members(labels: np.ndarray) -> dict[int, np.ndarray]:
    """Faces of each group (label >= 0), ascending; one sort, not one scan of all faces per group."""
    faces = np.flatnonzero(labels >= 0)
    faces = faces[np.argsort(labels[faces], kind="stable")]
    groups, starts = np.unique(labels[faces], return_index=True)
    return {int(g): part for g, part in zip(groups.tolist(), np.split(faces, starts[1:]))}


@dataclass(frozen=True)
class RecallSettings:
    """The pass's thresholds (distances on the base model's scale times the library's scale)."""

    join_distance: float
    join_spread: float
    attach_distance: float
    ratio: float
    linkage_pairs: int = 3
    nearest: int = 2
    pool: int = 64  # grouped faces looked at per unsorted face (the runner-up is at least the farthest)


@dataclass
class RecallReport:
    """What the pass did: groups joined into others, faces those joins moved, unsorted faces attached."""

    groups_joined: int = 0
    faces_joined: int = 0
    faces_attached: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"groups_joined": self.groups_joined, "faces_joined": self.faces_joined,
                "faces_attached": self.faces_attached}


@dataclass
class _Rules:
    """Per-face facts the pass must respect (indices into the vectors)."""

    photo: np.ndarray  # -1: no photo rule (collage or unknown)
    fixed: np.ndarray  # person label or -1
    partners: dict[int, set[int]]  # cannot-link partners
    forbidden: dict[int, set[int]]  # face -> persons it is not


def _rules(n: int, photo: np.ndarray | None, fixed: np.ndarray | None, cannot_link: Sequence[tuple[int, int]],
           forbidden: Sequence[tuple[int, int]]) -> _Rules:
    partners: dict[int, set[int]] = {}
    for a, b in cannot_link:
        partners.setdefault(int(a), set()).add(int(b))
        partners.setdefault(int(b), set()).add(int(a))
    banned: dict[int, set[int]] = {}
    for f, p in forbidden:
        banned.setdefault(int(f), set()).add(int(p))
    return _Rules(photo=np.full(n, -1, np.int64) if photo is None else np.asarray(photo, np.int64),
                  fixed=np.full(n, -1, np.int64) if fixed is None else np.asarray(fixed, np.int64),
                  partners=partners, forbidden=banned)


def _compatible(a: np.ndarray, b: np.ndarray, rules: _Rules) -> bool:
    """May the faces ``a`` and ``b`` (two groups, or a group and one face) share one person?"""
    pa, pb = rules.photo[a], rules.photo[b]
    if np.intersect1d(pa[pa >= 0], pb[pb >= 0]).size:
        return False
    fa, fb = np.unique(rules.fixed[a][rules.fixed[a] >= 0]), np.unique(rules.fixed[b][rules.fixed[b] >= 0])
    people = np.union1d(fa, fb)
    if len(people) > 1:
        return False
    if len(people) == 1:
        person = int(people[0])
        if any(person in rules.forbidden.get(int(f), ()) for f in np.concatenate([a, b])):
            return False
    if rules.partners:
        small, large = (a, b) if len(a) <= len(b) else (b, a)
        other = set(large.tolist())
        for f in small.tolist():
            if rules.partners.get(f, set()) & other:
                return False
    return True


def _linkage(x: np.ndarray, a: np.ndarray, b: np.ndarray, pairs: int) -> tuple[float, float]:
    """(average of the ``pairs`` closest cross distances, average cross distance) between two groups."""
    d = distance_from_similarity(x[a] @ x[b].T).ravel()
    m = min(pairs, d.size)
    return float(np.partition(d, m - 1)[:m].mean()), float(d.mean())


def join_groups(x: np.ndarray, labels: np.ndarray, graph: KnnGraph, settings: RecallSettings, rules: _Rules,
                report: RecallReport) -> np.ndarray:
    """Join groups that meet in the k-NN graph and are close as a whole; see the module's docstring."""
    out = labels.copy()
    idx = graph.indices
    rows = np.repeat(np.arange(len(idx)), idx.shape[1])
    cols = idx.ravel()
    ok = (cols >= 0) & (out[rows] >= 0)
    rows, cols = rows[ok], cols[ok]
    ok = (out[cols] >= 0) & (out[rows] != out[cols])
    pairs = np.unique(np.sort(np.stack([out[rows[ok]], out[cols[ok]]], axis=1), axis=1), axis=0)
    members = group_members(out)
    candidates = []
    for g, h in pairs.tolist():
        close, spread = _linkage(x, members[g], members[h], settings.linkage_pairs)
        if close <= settings.join_distance and spread <= settings.join_spread:
            candidates.append((close, g, h))
    parent = {g: g for g in members}

    def find(g: int) -> int:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    for _, g, h in sorted(candidates):
        rg, rh = find(g), find(h)
        if rg == rh:
            continue
        a, b = members[rg], members[rh]
        close, spread = _linkage(x, a, b, settings.linkage_pairs)  # re-checked as the groups grow
        if close > settings.join_distance or spread > settings.join_spread or not _compatible(a, b, rules):
            continue
        keep, gone = (rg, rh) if len(a) >= len(b) else (rh, rg)
        parent[gone] = keep
        members[keep] = np.concatenate([a, b])
        report.groups_joined += 1
        report.faces_joined += len(members[gone])
        out[members[gone]] = keep
    return out


def group_scores(dist: np.ndarray, who: np.ndarray, size: np.ndarray, nearest: int,
                  ceiling: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of a block: the best group, its score and the runner-up's score.

    ``dist`` [b, p] (each row ascending) and ``who`` [b, p]: the distances and groups of each face's ``p``
    nearest grouped faces. A group's score is the mean distance of its ``nearest`` closest faces (fewer if
    it has fewer); faces of it beyond the pool count as ``ceiling`` (the row's farthest pooled distance).
    The runner-up of a row whose pool holds one group is ``ceiling``."""
    b, p = dist.shape
    row = np.repeat(np.arange(b), p)
    key = row * (int(who.max()) + 1) + who.ravel()
    order = np.argsort(key, kind="stable")  # by row and group, nearest first within a group
    key_sorted = key[order]
    starts = np.flatnonzero(np.r_[True, key_sorted[1:] != key_sorted[:-1]])
    group_of = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(key_sorted)]))
    rank = np.arange(len(key_sorted)) - starts[group_of]
    keep = rank < nearest
    sums = np.bincount(group_of[keep], weights=dist.ravel()[order][keep], minlength=len(starts))
    counts = np.bincount(group_of[keep], minlength=len(starts))
    g_row = row[order][starts]
    g_label = who.ravel()[order][starts]
    want = np.minimum(nearest, size[g_label])
    missing = want - counts
    fill = np.zeros(len(starts))
    short = missing > 0
    fill[short] = missing[short] * ceiling[g_row[short]]
    score = (sums + fill) / want
    by = np.lexsort((score, g_row))  # per row, best score first
    first = np.flatnonzero(np.r_[True, g_row[by][1:] != g_row[by][:-1]])
    best = by[first]
    has_second = np.r_[first[1:], len(by)] - first > 1
    runner = np.where(has_second, score[by[np.minimum(first + 1, len(by) - 1)]], ceiling[g_row[best]])
    return g_label[best], score[best], runner


def _may_attach(labels: np.ndarray, graph: KnnGraph, distance: float) -> np.ndarray:
    """Faces that may have a grouped face within ``distance``: one among their k-NN, or k-NN all that near
    (the rest unknown). A face without either cannot pass the attaching test, so it is not searched."""
    idx, dist = graph.indices, graph.distances
    near_grouped = ((idx >= 0) & (labels[np.maximum(idx, 0)] >= 0) & (dist <= distance)).any(axis=1)
    return near_grouped | (dist[:, -1] <= distance) if idx.shape[1] else np.ones(len(labels), bool)


def _nearest_grouped(x: np.ndarray, block: np.ndarray, grouped: np.ndarray, pool: int,
                     index: IvfIndex | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``pool`` nearest grouped faces of each face in ``block``: (faces [b, p], distances [b, p] ascending,
    ceiling [b]: the farthest pooled distance, inf when the pool holds every grouped face). Exact, or with
    ``index`` in each face's nearest cells (rows whose cells held fewer than ``pool`` grouped faces: exact)."""
    if index is not None:
        allowed = np.zeros(len(x), bool)
        allowed[grouped] = True
        near, sims = index.search(block, pool, INDEX_PROBES, allowed=allowed)
        full = (near >= 0).all(axis=1)
        if full.all():
            dist = distance_from_similarity(sims)
            return near, dist, dist[:, -1]
        lacking = block[~full]
        step = max(1, min(BLOCK, EXACT_ELEMENTS // len(grouped)))  # exact: a bounded block of similarities
        rest = [_nearest_grouped(x, lacking[s:s + step], grouped, pool, None) for s in range(0, len(lacking), step)]
        near_rest, dist_rest, ceiling_rest = (np.concatenate(arrays) for arrays in zip(*rest))
        dist = distance_from_similarity(np.where(near >= 0, sims, 0.0))
        near[~full], dist[~full] = near_rest, dist_rest
        ceiling = dist[:, -1].copy()
        ceiling[~full] = ceiling_rest
        return near, dist, ceiling
    sim = x[block] @ x[grouped].T
    near = (np.argpartition(-sim, pool - 1, axis=1)[:, :pool] if pool < len(grouped)
            else np.tile(np.arange(len(grouped)), (len(block), 1)))
    dist = distance_from_similarity(np.take_along_axis(sim, near, axis=1))
    order = np.argsort(dist, axis=1)
    dist, near = np.take_along_axis(dist, order, axis=1), np.take_along_axis(near, order, axis=1)
    ceiling = dist[:, -1] if pool < len(grouped) else np.full(len(block), np.inf)
    return grouped[near], dist, ceiling


def attach_unsorted(x: np.ndarray, labels: np.ndarray, settings: RecallSettings, rules: _Rules,
                    report: RecallReport, graph: KnnGraph | None = None, index: IvfIndex | None = None) -> np.ndarray:
    """Give unsorted faces the group their nearest faces clearly point to (a ratio test).

    Distances are taken to the groups as they were before the pass (faces attached here do not pull others
    after them); the rules are checked against the groups as they grow, in face order. ``graph`` (the k-NN
    graph) only spares the search for faces that have no grouped face near enough. ``index`` (an inverted
    file of ``x``, for large libraries) finds each face's nearest grouped faces in its nearest cells instead
    of comparing it with every grouped face."""
    out = labels.copy()
    grouped = np.flatnonzero(labels >= 0)
    may_attach = (labels < 0) & (rules.fixed < 0)
    if graph is not None and len(graph.indices) == len(labels):
        may_attach &= _may_attach(labels, graph, settings.attach_distance)
    lonely = np.flatnonzero(may_attach)
    if not len(grouped) or not len(lonely):
        return out
    pool = min(settings.pool, len(grouped))
    size = np.bincount(labels[grouped])
    members = group_members(labels)
    step = INDEX_BLOCK if index is not None else BLOCK
    for start in range(0, len(lonely), step):
        block = lonely[start:start + step]
        near, dist, ceiling = _nearest_grouped(x, block, grouped, pool, index)
        best, best_d, runner = group_scores(dist, labels[near], size, settings.nearest, ceiling)
        for r in np.flatnonzero((best_d <= settings.attach_distance) & (runner >= settings.ratio * best_d)):
            face, group = int(block[r]), int(best[r])
            if rules.forbidden.get(face) and any(p in rules.forbidden[face] for p in
                                                 np.unique(rules.fixed[members[group]]).tolist()):
                continue
            if not _compatible(members[group], np.array([face]), rules):
                continue
            out[face] = group
            members[group] = np.append(members[group], face)
            report.faces_attached += 1
    return out


def recall_pass(x: np.ndarray, labels: np.ndarray, strengths: np.ndarray, graph: KnnGraph,
                settings: RecallSettings, *, photo: np.ndarray | None = None, fixed: np.ndarray | None = None,
                cannot_link: Sequence[tuple[int, int]] = (), forbidden: Sequence[tuple[int, int]] = (),
                index: IvfIndex | None = None) -> tuple[np.ndarray, np.ndarray, RecallReport]:
    """Join groups, then attach unsorted faces; returns new labels, strengths and what was done.

    Faces attached get strength 0.25 (weak members, shown first where faces are checked); faces of joined
    groups keep theirs.
    """
    report = RecallReport()
    rules = _rules(len(x), photo, fixed, cannot_link, forbidden)
    joined = join_groups(x, labels, graph, settings, rules, report) if settings.join_distance > 0 else labels
    attached = (attach_unsorted(x, joined, settings, rules, report, graph, index) if settings.attach_distance > 0
                else joined)
    out_strength = strengths.astype(np.float64).copy()
    new = (joined < 0) & (attached >= 0)
    if new.any():
        out_strength[new] = 0.25  # below HDBSCAN's own members: the Person view shows these first
    return attached, out_strength, report
