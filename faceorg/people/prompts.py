"""The review questions the app asks: "same person?", whole-group suggestions and splits, ranked.

- **same_person**: two groups (an unnamed one and a named person, or two unnamed ones) that may be one
  person, ranked by the *linkage* between their faces: the mean distance of their few closest face pairs
  that share no face (not their centres, which a few odd faces pull away; and not one stray face of one
  sitting in the other, which would make a single face decide). The linkage is
  read on the library's distance scale (the active model's, see ``active_distance_scale``) and turned into
  a likelihood that the two are one person. Pairs the user's rules forbid are never proposed: the two share
  an ordinary photo, a cannot-link or a "not this person" rule stands between them, or the question was
  answered before (answers are kept by the faces that decided them, so a regrouping that renumbers the
  groups does not ask again).
- **group_suggestion**: a named person's faces waiting for the user (suggested or grouped automatically),
  offered as a whole: "These 14 faces look like Ann".
- **unsorted_batch**: faces in no group whose nearest named person is clearly nearer than the next one
  (a ratio test on the mean distance to each person's two nearest faces), offered to that person as one
  batch, the surest first: "These 9 unsorted faces may be Ann" (yes gives them all to Ann; no: none is;
  one by one: they wait as Ann's suggestions under Faces).
- **split**: a group whose faces fall into two parts farther apart than one person's faces are (2-means,
  then the same linkage between the parts); the odd part comes first, and "yes" makes it a group of its own.
- **odd_faces**: a few faces of a group that look like none of the rest (each one's median distance to the
  group's other faces is beyond one person's, and clearly beyond the group's typical face), for groups that
  do not split in two. Not a face whose nearest faces are in its group, clearly nearer than any elsewhere
  (the group's own person in profile, squinting...), nor a small or blurred chip unless it is farther still
  (such chips are far from their own person's faces anyway). "yes" takes them out of the group ("not this
  person", they become unsorted), so a stranger or two in a group cost one answer instead of picking each.

:func:`list_questions` reads the library and returns plain data, safe to hand across threads.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass

import numpy as np
from sqlalchemy import select

from faceorg.cluster.knn import KnnGraph
from faceorg.cluster.knn_exact import knn_exact
from faceorg.cluster.knn_ivf import knn_approximate
from faceorg.cluster.recall_pass import group_scores
from faceorg.people.clustering import LibraryFaces, active_distance_scale, load_library_faces
from faceorg.store.db import Library
from faceorg.store.models import Assignment, AssignmentSource, Person, PromptAnswer
from faceorg.vectors import distance_from_similarity, l2_normalize, spherical_kmeans

KINDS = ("same_person", "group_suggestion", "split", "unsorted_batch", "odd_faces")
ANSWERS = ("yes", "no", "skip", "one-by-one")  # one-by-one: a batch's faces become suggestions, decided under Faces

# Distances below are on the base model's scale (multiplied by the active model's scale). Measured with
# benchmarks/prompt_calibration.py (the real models on 480 LFW photos of 60 people with 8+ photos): the
# linkage between two random parts of one person: median 0.28, 95th percentile 0.32, 99th 0.35; between two
# different people: 1st percentile 0.42, 5th 0.45, median 0.54. Found at or below 0.36: all parts of one
# person, no pair of different people; at or below 0.42: 1% of different people.
LINK_PAIRS = 3  # the linkage is the mean of this many closest cross-group pairs sharing no face
LINK_MID = 0.38  # linkage at which two groups are as likely one person as not (equal odds)
LINK_WIDTH = 0.015  # logistic width: 0.34 -> 0.94, 0.41 -> 0.12
ASK_MAX = 0.43  # beyond this (likelihood < 4%), 2% of different people and no parts of one person: not asked
NEIGHBOURS = 8  # nearest faces of other groups looked at per face
SPLIT_MIN_FACES = 4
SPLIT_MIN = 0.42  # two parts of one group this far apart (linkage) look like two people
SHOWN_PAIRS = 3  # closest face pairs shown with a same-person question
# Unsorted batches, measured on the effort benchmark's libraries (benchmarks/effort_bench.py): the ratio
# test decides (unsorted faces of LFW-like and degraded libraries are 0.30-0.40 from their nearest named
# face whoever they are); a nearest person 5% nearer than the next was right for 72% of degraded faces.
BATCH_MAX = 0.40  # farthest (base scale) an unsorted face may be from the person's two nearest faces
BATCH_RATIO = 1.05  # the next person at least this many times as far
BATCH_POOL = 16  # nearest named faces looked at per unsorted face
BATCH_MAX_FACES = 24  # faces per batch at most (the surest first; the rest come in the next batch)
BATCH_MIN_SCORE = 0.7  # batches less likely than this are not offered (on the family library all such were wrong)
# Odd faces, measured on the effort benchmark's libraries after the app's grouping (groups of 3+ faces,
# benchmarks/odd_faces_check.py: right when none of a question's odd faces is the group's own person). A face
# far from most of its group is not enough: the group's own person's profile, tiny or blurred faces are far
# from most of their group too, and 5 of the 14 questions of the mirror-recipe libraries (LFW 1 of 5,
# degraded 3 of 4, family 1 of 5) flagged such a face with median distance >= 0.40 and 0.06 beyond the
# group's median face alone. Two checks tell them apart (calibrated on the mirror-recipe libraries, checked on
# the plain-recipe ones): (1) look-alikes: the group's own person's odd faces still have their nearest faces
# in their group (mean of the 3 nearest there 0.05-0.10 nearer than the 3 nearest elsewhere in the library),
# someone else's have look-alikes outside it (median 0.02); (2) a low-quality chip (stored quality < 0.5:
# small, blurred) is far from its own person's faces anyway (own faces of the degraded library: median
# distance to their group 0.33, 99th percentile 0.40; LFW 0.29 and 0.36). Right questions, mirror recipe,
# LFW / degraded / family: before 4 of 5, 1 of 4, 4 of 5 (9 of 14); with both checks and median distance
# >= 0.38: 13 of 14, 0 of 0, 6 of 6 (19 of 20). Plain recipe (held out): before 3 of 6, 4 of 5, 6 of 9
# (13 of 20); after 11 of 11, 3 of 4, 8 of 9 (22 of 24). Look-alike margin 0.04: 20 of 21 and 26 of 30;
# without the quality check: 20 of 23 and 23 of 25; median distance >= 0.40: 9 of 9 and 12 of 13.
# A wrong "yes" costs the user a "no" and invites a hurried user to take a right face out.
# Effort benchmark (benchmarks/effort_bench.py --libraries lfw,degraded --ablate odd_faces), actions per 100
# faces saved by the question (LFW careful / hurried; degraded careful / hurried): before 0.006 / 0.019;
# 0.031 / 0.061 (oracle's answers yes / no: 7 / 0, 13 / 1; 3 / 1, 5 / 2); now 0.038 / 0.031; 0.031 / 0.091
# (16 / 0, 27 / 1; 2 / 0, 5 / 1).
ODD_MIN = 0.38  # median distance (base scale) to the group's other faces from which a face looks odd
ODD_MARGIN = 0.06  # ... and at least this much beyond the group's median face
ODD_MIN_FACES = 3  # groups smaller than this have no "rest of the group" to compare with
ODD_MAX_SHARE = 1 / 3  # more odd faces than this share of the group: a split (or a loose group), not odd faces
ODD_NEAR = 3  # nearest faces (in the group, elsewhere) whose mean distance tells where a face's look-alikes are
ODD_LOOKALIKE = 0.03  # an odd face whose nearest faces in its group are this much nearer than elsewhere: its own
ODD_LOW_QUALITY = 0.5  # a face of lower stored quality (small, blurred) ...
ODD_LOW_QUALITY_EXTRA = 0.04  # ... must be this much farther from its group (beyond ODD_MIN) to look odd
ODD_SAMPLE = 200  # a face of a large group is compared with this many of its other faces at most
GRAPH_K = 48  # nearest faces looked at per face (those of its own group included)
APPROXIMATE_FROM = 40_000  # grouped faces from which the nearest faces are searched approximately


@dataclass(frozen=True)
class Question:
    """One open question. ``person_ids``: for same_person (the group that would join, the group it would
    join); otherwise the one person or group. ``face_ids``: the faces that decided it, most telling first
    (same_person: the closest pairs, flattened a, b, a, b...; split: the odd faces; group_suggestion: the
    waiting faces). ``score``: how likely "yes" is right, 0..1."""

    id: str
    kind: str
    text: str
    score: float
    person_ids: tuple[int, ...]
    person_names: tuple[str | None, ...]
    face_counts: tuple[int, ...]
    face_ids: tuple[int, ...]
    pairs: tuple[tuple[int, int], ...] = ()
    distance: float | None = None  # linkage on the base model's scale
    skipped: bool = False

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["people"] = [{"id": p, "name": n, "face_count": c}
                       for p, n, c in zip(self.person_ids, self.person_names, self.face_counts)]
        d["person_ids"], d["face_ids"] = list(self.person_ids), list(self.face_ids)
        d["pairs"] = [list(p) for p in self.pairs]
        for k in ("person_names", "face_counts"):
            del d[k]
        return d


def same_likelihood(linkage: float) -> float:
    """How likely two groups whose linkage (base scale) is ``linkage`` are one person."""
    return 1.0 / (1.0 + math.exp((linkage - LINK_MID) / LINK_WIDTH))


def linkage(a: np.ndarray, b: np.ndarray, distances: np.ndarray, size_a: int, size_b: int,
            unseen: float = np.inf) -> tuple[float, list[int]]:
    """Mean distance of the ``LINK_PAIRS`` closest pairs that share no face (fewer for tiny groups), and
    which of the given pairs they are. ``a``, ``b``, ``distances``: candidate pairs (face of one group, face
    of the other, distance); pairs not given count as ``unseen`` (at least as far as any given).

    Distinct faces matter: one stray face of A sitting in B's group must not make A and B look close."""
    m = max(1, min(LINK_PAIRS, size_a, size_b))
    used_a: set[int] = set()
    used_b: set[int] = set()
    picked: list[int] = []
    for k in np.lexsort((b, a, distances)).tolist():
        if int(a[k]) in used_a or int(b[k]) in used_b:
            continue
        used_a.add(int(a[k]))
        used_b.add(int(b[k]))
        picked.append(k)
        if len(picked) == m:
            break
    d = [float(distances[k]) for k in picked] + [unseen] * (m - len(picked))
    return float(np.mean(d)), picked


def matrix_linkage(cross: np.ndarray) -> float:
    """:func:`linkage` of two groups from their full cross-distance matrix [|A|, |B|]."""
    i, j = np.indices(cross.shape)
    return linkage(i.ravel(), j.ravel(), cross.ravel(), cross.shape[0], cross.shape[1])[0]


# -- same person -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GroupPair:
    """Two groups close enough to ask about: the closest face-row pairs and their linkage (raw distance)."""

    a: int
    b: int
    linkage: float
    pairs: tuple[tuple[int, int, float], ...]  # (row in a, row in b, distance): the pairs that decided it


def close_group_pairs(vectors: np.ndarray, labels: np.ndarray, max_linkage: float,
                      neighbours: int = NEIGHBOURS, graph: KnnGraph | None = None) -> list[GroupPair]:
    """Pairs of labels (>= 0) whose linkage is at most ``max_linkage``, from each face's nearest faces of
    other groups. ``vectors``: unit rows; ``labels``: group per row.

    The nearest faces come from a k-nearest-neighbour graph of the grouped faces (``graph``, rows as
    ``vectors``; built here when not given, exact up to ``APPROXIMATE_FROM`` faces): each face looks at
    its ``GRAPH_K`` nearest faces, not at every face (the same neighbours the grouping uses)."""
    x = np.asarray(vectors, np.float32)
    labels = np.asarray(labels, np.int64)
    rows = np.flatnonzero(labels >= 0)
    if len(rows) < 2:
        return []
    lab = labels[rows]
    sizes: defaultdict[int, int] = defaultdict(int)
    for v in lab.tolist():
        sizes[v] += 1
    if graph is None or graph.indices.shape[0] != len(labels):
        k = min(GRAPH_K, len(rows) - 1)
        search = knn_approximate if len(rows) >= APPROXIMATE_FROM else knn_exact
        graph = search(x[rows], k)
        idx, dist = graph.indices, graph.distances
    else:  # a graph of every row: keep the grouped rows and renumber their neighbours
        where = np.full(len(labels), -1, np.int64)
        where[rows] = np.arange(len(rows))
        idx = graph.indices[rows]
        idx = np.where(idx >= 0, where[np.maximum(idx, 0)], -1)
        dist = graph.distances[rows]
    other = (idx >= 0) & (dist <= max_linkage * 1.5)
    other &= lab[np.maximum(idx, 0)] != lab[:, None]
    other &= np.cumsum(other, axis=1) <= neighbours  # each row's nearest of other groups
    r, c = np.nonzero(other)
    j, d = idx[r, c], dist[r, c]
    la, lb = lab[r], lab[j]
    swap = la > lb
    ga, gb = np.where(swap, lb, la), np.where(swap, la, lb)
    ia, ib = np.where(swap, j, r), np.where(swap, r, j)
    found: dict[tuple[int, int], dict[tuple[int, int], float]] = defaultdict(dict)
    for a, b, i, jj, dd in zip(ga.tolist(), gb.tolist(), ia.tolist(), ib.tolist(), d.tolist()):
        found[(a, b)][(i, jj)] = dd
    out = []
    unseen = max_linkage * 1.5
    for (a, b), pairs in found.items():
        keys = list(pairs)
        ia = np.array([i for i, _ in keys])
        ib = np.array([j for _, j in keys])
        d = np.array([pairs[key] for key in keys])
        link, picked = linkage(ia, ib, d, sizes[a], sizes[b], unseen)
        if link > max_linkage:
            continue
        closest = [(int(rows[ia[k]]), int(rows[ib[k]]), float(d[k])) for k in picked][:SHOWN_PAIRS]
        out.append(GroupPair(a, b, link, tuple(closest)))
    out.sort(key=lambda g: (g.linkage, g.a, g.b))
    return out


@dataclass
class _Library:
    """What the questions are computed from, read once."""

    data: LibraryFaces
    scale: float
    hidden: set[int]
    answers: list[PromptAnswer]
    pending: dict[int, list[tuple[int, float]]]  # named person -> (face, how sure 0..1) waiting for the user
    splits: dict[int, tuple[list[int], float]] | None = None  # split_candidates, computed once


def _read(library: Library) -> _Library | None:
    data = load_library_faces(library)
    if data is None:
        return None
    with library.session() as s:
        hidden = set(s.scalars(select(Person.id).where(Person.hidden.is_(True))))
        answers = list(s.scalars(select(PromptAnswer)))
        for a in answers:
            s.expunge(a)
        pending: dict[int, list[tuple[int, float]]] = defaultdict(list)
        rows = s.execute(select(Assignment.face_id, Assignment.person_id, Assignment.source, Assignment.distance,
                                Assignment.strength).join(Person, Person.id == Assignment.person_id)
                         .where(Person.name.is_not(None), Person.hidden.is_(False),
                                Assignment.source != AssignmentSource.USER))
        present = set(data.face_ids.tolist())
        for f, p, src, dist, strength in rows:
            if f not in present:
                continue
            if src is AssignmentSource.SUGGESTED and dist is not None:
                sure = same_likelihood(dist)
            else:
                sure = strength if strength is not None else 0.5
            pending[p].append((f, float(sure)))
    return _Library(data, active_distance_scale(library), hidden, answers, dict(pending))


def _groups(lib: _Library) -> dict[int, np.ndarray]:
    """Rows of each visible person's faces."""
    index = lib.data.index()
    members: dict[int, list[int]] = defaultdict(list)
    for f, (p, _src) in lib.data.assignment.items():
        if f in index and p not in lib.hidden:
            members[p].append(index[f])
    return {p: np.array(sorted(r), np.int64) for p, r in members.items()}


def _linked_groups(lib: _Library) -> set[frozenset[int]]:
    """Pairs of groups a cannot-link rule stands between."""
    owner = lib.data.assignment
    out = set()
    for x, y in lib.data.cannot_link:
        px, py = owner.get(x), owner.get(y)
        if px and py and px[0] != py[0]:
            out.add(frozenset((px[0], py[0])))
    return out


def _forbidden(lib: _Library, a: int, b: int, rows_a: np.ndarray, rows_b: np.ndarray,
               linked: set[frozenset[int]]) -> bool:
    """The user's rules keep these two groups apart."""
    if frozenset((a, b)) in linked:
        return True
    d = lib.data
    ordinary_a = {int(p) for p, c in zip(d.photo_ids[rows_a], d.collage[rows_a]) if not c}
    ordinary_b = {int(p) for p, c in zip(d.photo_ids[rows_b], d.collage[rows_b]) if not c}
    if ordinary_a & ordinary_b:  # never twice in one photo
        return True
    faces_a, faces_b = set(d.face_ids[rows_a].tolist()), set(d.face_ids[rows_b].tolist())
    return any(b in d.not_person.get(f, ()) for f in faces_a) or any(a in d.not_person.get(f, ()) for f in faces_b)


def _answered_pairs(lib: _Library) -> dict[frozenset[int], str]:
    """Same-person answers by the groups their deciding faces are in now."""
    out: dict[frozenset[int], str] = {}
    for a in lib.answers:
        if a.kind != "same_person" or a.face_a is None or a.face_b is None:
            continue
        pa, pb = lib.data.assignment.get(a.face_a), lib.data.assignment.get(a.face_b)
        if pa and pb and pa[0] != pb[0]:
            key = frozenset((pa[0], pb[0]))
            if out.get(key) in (None, "skip"):  # a yes or no outranks a skip
                out[key] = a.answer
    return out


def same_person_questions(lib: _Library) -> list[Question]:
    d, names = lib.data, lib.data.names
    groups = _groups(lib)
    labels = np.full(len(d.face_ids), -1, np.int64)
    for p, rows in groups.items():
        labels[rows] = p
    answered = _answered_pairs(lib)
    linked = _linked_groups(lib)
    out = []
    for g in close_group_pairs(d.vectors, labels, ASK_MAX * lib.scale):
        if names.get(g.a) and names.get(g.b):
            continue  # two named people: the user said who they are
        rows_a, rows_b = groups[g.a], groups[g.b]
        answer = answered.get(frozenset((g.a, g.b)))
        if answer in ("yes", "no") or _forbidden(lib, g.a, g.b, rows_a, rows_b, linked):
            continue
        pairs = [(int(d.face_ids[i]), int(d.face_ids[j])) for i, j, _ in g.pairs]
        # The group that would join, then the one it joins: a named person wins, else the larger group.
        src, dst = g.a, g.b
        if names.get(src) or (not names.get(dst) and (len(rows_a), -g.a) > (len(rows_b), -g.b)):
            src, dst = dst, src
            pairs = [(y, x) for x, y in pairs]
        n_src, n_dst = len(groups[src]), len(groups[dst])
        if names.get(dst):
            text = f"These {n_src} face{'s' if n_src != 1 else ''} look like {names[dst]}. Same person?"
        else:
            text = f"Are these two groups ({n_src} and {n_dst} faces) the same person?"
        link = g.linkage / lib.scale
        out.append(Question(
            id=f"same-{pairs[0][0]}-{pairs[0][1]}", kind="same_person", text=text,
            score=round(same_likelihood(link), 4), person_ids=(src, dst), person_names=(names.get(src), names.get(dst)),
            face_counts=(n_src, n_dst), face_ids=tuple(f for p in pairs for f in p), pairs=tuple(pairs),
            distance=round(link, 4), skipped=answer == "skip"))
    return out


# -- whole-group suggestions ------------------------------------------------------------------------------
def group_suggestion_questions(lib: _Library) -> list[Question]:
    marks = {a.key: a for a in lib.answers if a.kind == "group_suggestion"}
    counts = {p: len(r) for p, r in _groups(lib).items()}
    out = []
    for person, faces in lib.pending.items():
        if len(faces) < 2:
            continue  # one face waiting is the face-by-face review's question
        qid = f"group-{person}"
        ids = [f for f, _ in sorted(faces, key=lambda t: (-t[1], t[0]))]
        mark = marks.get(qid)
        if mark is not None and mark.answer != "skip" and set(ids) <= set(mark.faces or ()):
            continue  # answered, and nothing new since
        name = lib.data.names.get(person)
        out.append(Question(
            id=qid, kind="group_suggestion", text=f"These {len(ids)} faces look like {name}. Accept them all?",
            score=round(float(np.mean([s for _, s in faces])), 4), person_ids=(person,), person_names=(name,),
            face_counts=(counts.get(person, len(ids)),), face_ids=tuple(ids),
            skipped=mark is not None and mark.answer == "skip"))
    return out


# -- unsorted batches -------------------------------------------------------------------------------------
def nearest_people(x_lonely: np.ndarray, x_named: np.ndarray, who: np.ndarray, pool: int = BATCH_POOL,
                   block: int = 1024) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each row of ``x_lonely``: the nearest person (``who`` per row of ``x_named``), the mean distance
    to that person's two nearest faces, and the runner-up person's (inf when none), from each row's
    ``pool`` nearest named faces (a person with one face there counts the pool's farthest as its second;
    the scoring is the recall pass's, ``faceorg.cluster.recall_pass``)."""
    n = len(x_lonely)
    best = np.full(n, -1, np.int64)
    best_d = np.full(n, np.inf)
    runner = np.full(n, np.inf)
    if not n or not len(x_named):
        return best, best_d, runner
    p = min(pool, len(x_named))
    sizes = np.bincount(who)
    for start in range(0, n, block):
        sims = x_lonely[start:start + block] @ x_named.T
        near = np.argpartition(-sims, p - 1, axis=1)[:, :p] if p < len(x_named) else \
            np.tile(np.arange(len(x_named)), (len(sims), 1))
        dist = distance_from_similarity(np.take_along_axis(sims, near, axis=1))
        order = np.argsort(dist, axis=1, kind="stable")
        dist, near = np.take_along_axis(dist, order, axis=1), np.take_along_axis(near, order, axis=1)
        people = who[near]
        g, d, r = group_scores(dist, people, sizes, 2, dist[:, -1])
        ranked = np.sort(people, axis=1)
        alone = (np.diff(ranked, axis=1) == 0).all(axis=1)  # one person in the pool: no runner-up
        best[start:start + len(sims)], best_d[start:start + len(sims)] = g, d
        runner[start:start + len(sims)] = np.where(alone, np.inf, r)
    return best, best_d, runner


def unsorted_batch_questions(lib: _Library) -> list[Question]:
    d, names = lib.data, lib.data.names
    lonely = np.array([i for i, f in enumerate(d.face_ids.tolist()) if f not in d.assignment], np.int64)
    named = [(i, p) for i, f in enumerate(d.face_ids.tolist())
             if (a := d.assignment.get(f)) is not None and names.get(p := a[0]) and p not in lib.hidden
             and a[1] is not AssignmentSource.SUGGESTED]
    if not len(lonely) or not named:
        return []
    rows = np.array([i for i, _ in named], np.int64)
    people = sorted({p for _, p in named})
    label = {p: k for k, p in enumerate(people)}
    who = np.array([label[p] for _, p in named], np.int64)
    x = np.asarray(d.vectors, np.float32)
    best, best_d, runner = nearest_people(x[lonely], x[rows], who)
    photos: dict[int, set[int]] = defaultdict(set)  # person -> their ordinary photos
    for i, p in named:
        if not d.collage[i]:
            photos[p].add(int(d.photo_ids[i]))
    marks = {a.key: set(a.faces or ()) for a in lib.answers if a.kind == "unsorted_batch" and a.answer == "skip"}
    found: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for k in np.flatnonzero((best >= 0) & (best_d <= BATCH_MAX * lib.scale) & (runner >= BATCH_RATIO * best_d)):
        i, person = int(lonely[k]), people[int(best[k])]
        face = int(d.face_ids[i])
        if person in d.not_person.get(face, ()) or (not d.collage[i] and int(d.photo_ids[i]) in photos[person]):
            continue  # the user said no, or that person is in this photo already
        found[person].append((float(best_d[k]) / lib.scale, face))
    out = []
    for person, faces in found.items():
        faces.sort()
        faces = faces[:BATCH_MAX_FACES]
        ids = tuple(f for _, f in faces)
        qid = f"batch-{person}"
        n, name = len(ids), names.get(person)
        score = float(np.mean([same_likelihood(dd) for dd, _ in faces]))
        if score < BATCH_MIN_SCORE:
            continue
        out.append(Question(
            id=qid, kind="unsorted_batch",
            text=(f"These {n} unsorted faces may be {name}. Are they all {name}?" if n != 1
                  else f"This unsorted face may be {name}. Is it {name}?"),
            score=round(score, 4), person_ids=(person,), person_names=(name,),
            face_counts=(int(np.sum(who == label[person])),), face_ids=ids,
            distance=round(faces[0][0], 4), skipped=bool(marks.get(qid, set()) & set(ids))))
    return out


# -- splits -----------------------------------------------------------------------------------------------
def odd_part(vectors: np.ndarray, min_linkage: float) -> tuple[np.ndarray, float] | None:
    """If these faces (unit rows) fall into two parts whose linkage is at least ``min_linkage``: the rows
    of the smaller part, most distant first, and the linkage. Otherwise None."""
    x = l2_normalize(np.asarray(vectors, np.float64))
    if len(x) < SPLIT_MIN_FACES:
        return None
    centres = spherical_kmeans(x, 2)
    part = np.argmax(x @ centres.T, axis=1)
    sizes = np.bincount(part, minlength=2)
    if sizes.min() == 0:
        return None
    odd = int(np.argmin(sizes)) if sizes[0] != sizes[1] else 1
    rows_odd, rows_main = np.flatnonzero(part == odd), np.flatnonzero(part != odd)
    link = matrix_linkage(distance_from_similarity(x[rows_odd] @ x[rows_main].T))
    if link < min_linkage:
        return None
    main_centre = l2_normalize(x[rows_main].mean(axis=0))
    order = np.argsort(-(1.0 - x[rows_odd] @ main_centre), kind="stable")
    return rows_odd[order], link


def split_candidates(lib: _Library) -> dict[int, tuple[list[int], float]]:
    """Groups that fall into two parts: person -> (the odd part's faces, most distant first; linkage on the
    base scale). Computed once per ``lib`` (splits and odd faces both need it)."""
    if lib.splits is None:
        d = lib.data
        lib.splits = {}
        for person, rows in sorted(_groups(lib).items()):
            found = odd_part(d.vectors[rows], SPLIT_MIN * lib.scale)
            if found is not None:
                lib.splits[person] = ([int(d.face_ids[rows[i]]) for i in found[0]], found[1] / lib.scale)
    return lib.splits


def _answered(lib: _Library, kind: str, odd: list[int]) -> str | None:
    """The answer given to a question of ``kind`` about (at least half of) these faces, if any."""
    said = [(set(a.faces or ()), a.answer) for a in lib.answers if a.kind == kind]
    return next((ans for faces, ans in said if len(faces & set(odd)) * 2 >= len(odd)), None)


def split_questions(lib: _Library) -> list[Question]:
    d = lib.data
    groups = _groups(lib)
    out = []
    for person, (odd, link) in split_candidates(lib).items():
        if any(d.assignment[f][1] is AssignmentSource.USER for f in odd):
            continue  # the user placed these faces here
        answer = _answered(lib, "split", odd)
        if answer in ("yes", "no"):
            continue
        name = d.names.get(person)
        who = name or "this group"
        n_rows = len(groups[person])
        out.append(Question(
            id=f"split-{odd[0]}", kind="split",
            text=(f"{len(odd)} of the {n_rows} faces of {who} " + ("looks" if len(odd) == 1 else "look")
                  + " like someone else. Split " + ("it" if len(odd) == 1 else "them") + " off?"),
            score=round(1.0 - same_likelihood(link), 4), person_ids=(person,), person_names=(name,),
            face_counts=(n_rows,), face_ids=tuple(odd), distance=round(link, 4),
            skipped=answer == "skip"))
    return out


# -- odd faces --------------------------------------------------------------------------------------------
def odd_faces(vectors: np.ndarray, min_distance: float, margin: float,
              sample: int = ODD_SAMPLE) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a group's faces (unit rows) that look like none of the rest: each one's median distance
    to the group's other faces is at least ``min_distance`` and ``margin`` beyond the group's median face.
    Returns those rows, oddest first, and every row's median distance; none when the group is smaller
    than ``ODD_MIN_FACES`` or more than ``ODD_MAX_SHARE`` of it would be odd. Large groups compare each
    face with an evenly spaced ``sample`` of the others."""
    x = np.asarray(vectors, np.float64)
    n = len(x)
    if n < ODD_MIN_FACES:
        return np.zeros(0, np.int64), np.zeros(n)
    cols = np.linspace(0, n - 1, min(n, sample + 1)).round().astype(np.int64)
    dist = distance_from_similarity(x @ x[cols].T)
    dist[cols == np.arange(n)[:, None]] = np.nan  # a face is not compared with itself
    med = np.nanmedian(dist, axis=1)
    odd = np.flatnonzero((med >= min_distance) & (med >= np.median(med) + margin))
    if not len(odd) or len(odd) > ODD_MAX_SHARE * n:
        return np.zeros(0, np.int64), med
    return odd[np.argsort(-med[odd], kind="stable")], med


def near_inside_outside(vectors: np.ndarray, rows: np.ndarray, which: np.ndarray,
                        k: int = ODD_NEAR) -> tuple[np.ndarray, np.ndarray]:
    """For the faces ``rows[which]`` of a group whose faces are ``rows`` of ``vectors`` (unit rows, every face
    of the library): the mean distance to their ``k`` nearest other faces of the group, and to their ``k``
    nearest faces outside it (NaN when the library has fewer than ``k`` faces outside the group: nothing
    tells where the face's look-alikes are)."""
    x = np.asarray(vectors, np.float32)
    sims = x[rows[which]] @ x.T
    inside = sims[:, rows]
    inside[np.arange(len(which)), which] = -np.inf  # a face is not its own neighbour
    sims[:, rows] = -np.inf

    def nearest(s: np.ndarray, m: int) -> np.ndarray:
        top = -np.partition(-s, m - 1, axis=1)[:, :m]
        return np.asarray(distance_from_similarity(top).mean(axis=1))

    near_in = nearest(inside, min(k, len(rows) - 1))
    if len(x) - len(rows) < k:
        return near_in, np.full(len(which), np.nan)
    return near_in, nearest(sims, k)


def own_odd_faces(vectors: np.ndarray, rows: np.ndarray, found: np.ndarray, med: np.ndarray,
                  quality: np.ndarray | None, scale: float = 1.0) -> np.ndarray:
    """Which of a group's odd faces ``found`` (positions in ``rows``; ``med``: each row's median distance to
    the group) still look like the group's own person: their nearest faces are in the group, clearly nearer
    than any elsewhere in the library (``ODD_LOOKALIKE``; unknown in a library of hardly any other faces),
    or their chip is of low quality (``quality``: per face of the library, below ``ODD_LOW_QUALITY``) and not
    farther from the group than such a chip is from its own person's faces (``ODD_MIN`` plus
    ``ODD_LOW_QUALITY_EXTRA``). A bool per face of ``found``."""
    inside, outside = near_inside_outside(vectors, rows, found)
    own = outside - inside >= ODD_LOOKALIKE * scale
    if quality is not None:
        poor = quality[rows[found]] < ODD_LOW_QUALITY
        own |= poor & (med[found] < (ODD_MIN + ODD_LOW_QUALITY_EXTRA) * scale)
    return np.asarray(own, bool)


def odd_face_questions(lib: _Library) -> list[Question]:
    d = lib.data
    splits = split_candidates(lib)
    out = []
    for person, rows in sorted(_groups(lib).items()):
        if person in splits and _answered(lib, "split", splits[person][0]) in (None, "skip"):
            continue  # an open split question is about this group already
        found, med = odd_faces(d.vectors[rows], ODD_MIN * lib.scale, ODD_MARGIN * lib.scale)
        if not len(found):
            continue
        found = found[~own_odd_faces(d.vectors, rows, found, med, d.quality, lib.scale)]
        if not len(found):
            continue
        odd = [int(d.face_ids[rows[i]]) for i in found]
        if any(d.assignment[f][1] is AssignmentSource.USER for f in odd):
            continue  # the user placed these faces here
        answer = _answered(lib, "odd_faces", odd)
        if answer in ("yes", "no"):
            continue
        name = d.names.get(person)
        who = name or "this group"
        near = float(med[found].min()) / lib.scale  # the least odd of them decides how sure this is
        one = len(odd) == 1
        out.append(Question(
            id=f"odd-{odd[0]}", kind="odd_faces",
            text=(f"{len(odd)} of the {len(rows)} faces of {who} " + ("does" if one else "do")
                  + " not look like the others. Take " + ("it" if one else "them") + " out?"),
            score=round(1.0 - same_likelihood(near), 4), person_ids=(person,), person_names=(name,),
            face_counts=(len(rows),), face_ids=tuple(odd), distance=round(near, 4),
            skipped=answer == "skip"))
    return out


def list_questions(library: Library, kinds: tuple[str, ...] = KINDS) -> list[Question]:
    """Every open question, the surest first; skipped ones last."""
    lib = _read(library)
    if lib is None or not len(lib.data.face_ids):
        return []
    out: list[Question] = []
    if "same_person" in kinds:
        out += same_person_questions(lib)
    if "group_suggestion" in kinds:
        out += group_suggestion_questions(lib)
    if "split" in kinds:
        out += split_questions(lib)
    if "unsorted_batch" in kinds:
        out += unsorted_batch_questions(lib)
    if "odd_faces" in kinds:
        out += odd_face_questions(lib)
    out.sort(key=lambda q: (q.skipped, -q.score, KINDS.index(q.kind), q.id))
    return out
