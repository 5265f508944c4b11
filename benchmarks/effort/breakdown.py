"""Where the oracle's actions go: per person-size bucket, on strangers, on "Group faces".

Every counted step is put on the faces it concerns (see :meth:`Breakdown.add`):

- a person's bucket (by how many faces that person has in the library: 2, 3, 4-5, 6-10, 11+) gets the
  picks of that person's faces, the selection action that moves them (Move To / Name), and the decisions
  about that person (naming or merging their group, answering a Review suggestion of one of their faces, a
  question about their group);
- ``strangers`` (faces whose truth is nobody to sort: not a central face, or a person seen once) gets the
  picks and the Ignore / Reject actions of strangers' faces (also those "Name the Others" takes out; the
  naming itself goes on the group's person), "Ignore Unnamed Groups", turning down a
  stranger suggested for someone, questions about groups of strangers;
- ``regroups``: the presses of "Group faces".

Strangers the oracle picked out of a person's group (Ignore while cleaning a group it names, Reject in a
named person's faces) are also measured against that group: how many lie within ``NEAR`` (on the base
model's scale) of the nearest face of the group's person: plausibly the same person in the background of a
photo (LFW's truth calls every face but the central one a stranger).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select

from faceorg.store.db import Library
from faceorg.store.models import Assignment, Embedding, Person
from faceorg.vectors import unit_distances

from .measure import step_cost

BUCKETS = ("2", "3", "4-5", "6-10", "11+")
NEAR = 0.35
STRANGER_KINDS = ("ignore", "ignore_group", "reject", "reject_suggested", "reject_checked")
PARTS = ("picks", "moves", "answers", "regroups")


def bucket(n_faces: int) -> str:
    """The person-size bucket of a person with ``n_faces`` faces (2 or more)."""
    if n_faces <= 3:
        return str(n_faces)
    return "4-5" if n_faces <= 5 else "6-10" if n_faces <= 10 else "11+"


@dataclass
class Breakdown:
    """Actions per person-size bucket and on strangers (see the module docstring)."""

    truth: Mapping[int, str | None]
    sizes: Counter[str] = field(init=False)
    parts: dict[str, Counter[str]] = field(init=False)
    in_group: int = 0  # strangers picked out of a person's group
    near: int = 0  # ... of them within NEAR of that group's person
    no_vector: int = 0

    def __post_init__(self) -> None:
        self.sizes = Counter(t for t in self.truth.values() if t is not None)
        self.parts = {key: Counter() for key in (*BUCKETS, "strangers", "app")}

    def owner(self, identity: str | None) -> str:
        """Whose account an action about ``identity`` goes on: a person's bucket, or strangers."""
        n = self.sizes.get(identity, 0) if identity is not None else 0
        return bucket(n) if n >= 2 else "strangers"

    def add(self, kind: str, faces: tuple[int, ...], about: str | None) -> None:
        """Put one step on its owners. ``about``: the person the step names or decides about (a Move To's or
        a naming's name, the person a question concerns; None: nobody to sort)."""
        cost = step_cost(kind, len(faces))
        if kind == "regroup":
            self.parts["app"]["regroups"] += 1
            return
        if cost.face_picks:
            for f in faces:
                self.parts[self.owner(self.truth.get(f))]["picks"] += 1
            target = "strangers" if kind in STRANGER_KINDS else self.owner(about)
            self.parts[target]["moves"] += cost.selection_actions
            if not cost.decisions:
                return
        if kind in ("review_accept", "review_reject", "accept_all_suggested", "confirm_all_checked") and faces:
            about = self.truth.get(faces[0])  # a suggestion is about its face's own person ("Accept All": the first's)
        self.parts["strangers" if kind == "ignore_unnamed" else self.owner(about)]["answers"] += cost.decisions

    def strangers_in_group(self, library: Library, faces: tuple[int, ...], scale: float = 1.0) -> None:
        """Before strangers ``faces`` are ignored or rejected: for each one in a group, whether it lies within
        ``NEAR`` x ``scale`` of the nearest face of its group's person (the group's name, else its main
        person by the truth)."""
        strangers = [f for f in faces if self.owner(self.truth.get(f)) == "strangers"]
        with library.session() as s:
            groups = dict(s.execute(select(Assignment.face_id, Assignment.person_id)
                                    .where(Assignment.face_id.in_(strangers))).all())
            pids = sorted(set(groups.values()))
            members = s.execute(select(Assignment.face_id, Assignment.person_id, Person.name)
                                .join(Person, Person.id == Assignment.person_id)
                                .where(Assignment.person_id.in_(pids))).all()
        who: dict[int, list[int]] = {p: [] for p in pids}
        names: dict[int, str | None] = {}
        for f, p, name in members:
            names[p] = name
            if f not in groups:
                who[p].append(f)
        persons: dict[int, list[int]] = {}
        for p, fs in who.items():
            counts = Counter(self.truth.get(f) for f in fs if self.owner(self.truth.get(f)) != "strangers")
            identity = names.get(p) or (min(counts, key=lambda n: (-counts[n], n or "")) if counts else None)
            persons[p] = [f for f in fs if identity is not None and self.truth.get(f) == identity]
        wanted = sorted({f for f in groups} | {f for fs in persons.values() for f in fs})
        vectors = active_vectors(library, wanted)
        for f, p in groups.items():
            if not persons.get(p):
                continue  # a group of strangers: nobody's background
            self.in_group += 1
            own = [vectors[g] for g in persons[p] if g in vectors]
            if f not in vectors or not own:
                self.no_vector += 1
                continue
            if float(unit_distances(vectors[f][None, :], np.stack(own)).min()) <= NEAR * scale:
                self.near += 1

    def as_dict(self) -> dict[str, object]:
        people = Counter(bucket(n) for n in self.sizes.values() if n >= 2)
        faces: Counter[str] = Counter()
        for n in self.sizes.values():
            if n >= 2:
                faces[bucket(n)] += n
        by_size: dict[str, dict[str, object]] = {}
        for b in BUCKETS:
            p = self.parts[b]
            total = p["picks"] + p["moves"] + p["answers"]
            by_size[b] = {"people": people[b], "faces": faces[b], "actions": total, "picks": p["picks"],
                          "moves": p["moves"], "answers": p["answers"],
                          "actions_per_person": round(total / people[b], 3) if people[b] else 0.0}
        st = self.parts["strangers"]
        return {
            "by_person_size": by_size,
            "strangers": {
                "faces": sum(1 for t in self.truth.values() if self.owner(t) == "strangers"),
                "actions": st["picks"] + st["moves"] + st["answers"], "picks": st["picks"], "moves": st["moves"],
                "answers": st["answers"], "picked_from_a_persons_group": self.in_group,
                f"within_{NEAR}_of_that_person": self.near, "without_vector": self.no_vector,
            },
            "regroups": self.parts["app"]["regroups"],
        }


def active_vectors(library: Library, face_ids: list[int]) -> dict[int, np.ndarray]:
    """The active model's vectors of ``face_ids``."""
    from faceorg.versions.records import active_version

    version = active_version(library)
    if version is None or not face_ids:
        return {}
    out: dict[int, np.ndarray] = {}
    with library.session() as s:
        for start in range(0, len(face_ids), 500):
            part = face_ids[start:start + 500]
            for f, blob in s.execute(select(Embedding.face_id, Embedding.vector)
                                     .where(Embedding.model_version_id == version.id, Embedding.face_id.in_(part))):
                out[int(f)] = np.frombuffer(blob, np.float32)
    return out
