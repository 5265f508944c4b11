"""A simulated user who knows who everyone is and corrects the library through the app's operations only.

The oracle's knowledge: the central face of every photo (the face whose box centre is nearest the photo
centre) is the person of the photo's folder; any other face is a stranger (identity unknown). It sees
what the app shows (people, their faces, unsorted faces; :mod:`faceorg.people.queries`) and acts only
through :mod:`faceorg.people.ops`. Every ops call counts as one operation, whatever the number of faces
it touches (selecting many faces and pressing one button is one action in the app).

Passes, each stopping when the budget is spent:

1. **Groups** (largest unnamed group first): reject the faces that are not the group's majority person
   (one ``reject_faces``, if any), then type the majority person's name (one ``name_person``; a name
   already in use merges the group into that person, as in the app).
2. The app regroups (``recluster``, automatic, not counted): new faces are suggested for named people.
3. **Review** (named people, most faces first): reject the wrong suggestions and automatic faces (one
   ``reject_faces``), accept the right ones (one ``accept_suggestions``).
4. **Unsorted** (identities with the most unsorted faces first): select one person's unsorted faces and
   give them to that name (one ``assign_faces_to_name``; it creates the person when new).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from sqlalchemy import select

from faceorg.errors import FaceorgError
from faceorg.people import ops
from faceorg.people.clustering import recluster
from faceorg.people.queries import faces_by_status, faces_of_person, list_people
from faceorg.store.db import Library
from faceorg.store.models import Face, FaceStatus, Photo

Truth = dict[int, str | None]  # face id -> identity (None: a stranger)


def central_faces(library: Library, folder: Path | None = None) -> dict[int, tuple[str, int | None]]:
    """Per photo (optionally only under ``folder``): its identity (parent folder name) and the id of its
    central face (None when no face was found). Faces the user marked not-a-face do not count."""
    prefix = str(folder.resolve()) if folder is not None else None
    with library.session() as s:
        photos = {pid: (path, w or 0, h or 0) for pid, path, w, h in s.execute(
            select(Photo.id, Photo.path, Photo.width, Photo.height))
            if prefix is None or path.startswith(prefix + "/")}
        faces = s.execute(select(Face.id, Face.photo_id, Face.x, Face.y, Face.w, Face.h)
                          .where(Face.status != FaceStatus.NOT_FACE)).all()
    best: dict[int, tuple[float, int]] = {}
    for fid, pid, x, y, w, h in faces:
        if pid not in photos:
            continue
        _, pw, ph = photos[pid]
        d = (x + w / 2 - pw / 2) ** 2 + (y + h / 2 - ph / 2) ** 2
        if pid not in best or (d, fid) < best[pid]:
            best[pid] = (d, fid)
    return {pid: (Path(path).parent.name, best[pid][1] if pid in best else None)
            for pid, (path, _, _) in photos.items()}


def face_truth(library: Library) -> Truth:
    """Every face's identity as the oracle knows it (central faces only; the others are strangers)."""
    with library.session() as s:
        all_faces = list(s.scalars(select(Face.id)))
    truth: Truth = {f: None for f in all_faces}
    for identity, face in central_faces(library).values():
        if face is not None:
            truth[face] = identity
    return truth


@dataclass
class OracleLog:
    """What the oracle did: operations per pass, failures, and the budget."""

    budget: int
    operations: Counter[str] = field(default_factory=Counter)
    by_pass: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    regroups: int = 0
    faces_touched: int = 0

    @property
    def used(self) -> int:
        return sum(self.operations.values())

    @property
    def left(self) -> int:
        return self.budget - self.used

    def as_dict(self) -> dict[str, object]:
        return {"budget": self.budget, "used": self.used, "by_kind": dict(self.operations),
                "by_pass": dict(self.by_pass), "failures": self.failures[:20], "n_failures": len(self.failures),
                "regroups_not_counted": self.regroups, "faces_touched": self.faces_touched}


class Oracle:
    """Runs the passes of the module docstring on a library, within ``budget`` operations."""

    def __init__(self, library: Library, budget: int, log: Callable[[str], None] = lambda _: None) -> None:
        self.library = library
        self.truth = face_truth(library)
        self.log = OracleLog(budget=budget)
        self._say = log
        self._pass = ""

    def _op(self, kind: str, call: Callable[[], object], n_faces: int) -> bool:
        """Run one operation if the budget allows; returns whether it was run successfully."""
        if self.log.left <= 0:
            return False
        self.log.operations[kind] += 1
        self.log.by_pass[self._pass] += 1
        self.log.faces_touched += n_faces
        try:
            call()
        except FaceorgError as exc:
            self.log.failures.append(f"{kind}: {exc}")
            return False
        return True

    def _named(self) -> dict[str, int]:
        return {p.name: p.id for p in list_people(self.library, include_hidden=True) if p.name}

    def run(self) -> OracleLog:
        self._pass = "groups"
        self.name_groups()
        self._say(f"oracle: groups pass used {self.log.by_pass['groups']} operations")
        recluster(self.library)
        self.log.regroups += 1
        self._pass = "review"
        self.review()
        self._say(f"oracle: review pass used {self.log.by_pass['review']} operations")
        self._pass = "unsorted"
        self.sort_unsorted()
        self._say(f"oracle: unsorted pass used {self.log.by_pass['unsorted']} operations "
                  f"({self.log.used} of {self.log.budget} in all)")
        return self.log

    def name_groups(self) -> None:
        groups = [p for p in list_people(self.library) if p.name is None]
        for group in sorted(groups, key=lambda p: (-p.face_count, p.id)):
            if self.log.left < 1:
                return
            faces = faces_of_person(self.library, group.id)
            known = Counter(self.truth.get(f.id) for f in faces if self.truth.get(f.id))
            if not known:
                continue  # only strangers: the user leaves it
            top = max(known.values())
            majority = min(name for name, n in known.items() if n == top)  # ties: alphabetical
            wrong = [f.id for f in faces if self.truth.get(f.id) != majority]
            if wrong and not self._op("reject_faces", partial(ops.reject_faces, self.library, wrong, group.id),
                                      len(wrong)):
                continue  # naming now would confirm the wrong faces
            self._op("name_person", partial(ops.name_person, self.library, group.id, majority), len(faces) - len(wrong))

    def review(self) -> None:
        named = [p for p in list_people(self.library) if p.name]
        for person in sorted(named, key=lambda p: (-p.face_count, p.name or "")):
            if self.log.left < 1:
                return
            pending = [f for f in faces_of_person(self.library, person.id) if f.source in ("suggested", "auto")]
            wrong = [f.id for f in pending if self.truth.get(f.id) != person.name]
            right = [f.id for f in pending if self.truth.get(f.id) == person.name]
            if wrong:
                self._op("reject_faces", partial(ops.reject_faces, self.library, wrong, person.id), len(wrong))
            if right:
                self._op("accept_suggestions", partial(ops.accept_suggestions, self.library, right), len(right))

    def sort_unsorted(self) -> None:
        by_identity: dict[str, list[int]] = defaultdict(list)
        for face in faces_by_status(self.library, None):
            identity = self.truth.get(face.id)
            if identity:
                by_identity[identity].append(face.id)
        for identity, faces in sorted(by_identity.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            if self.log.left < 1:
                return
            self._op("assign_faces_to_name", partial(ops.assign_faces_to_name, self.library, faces, identity),
                     len(faces))
