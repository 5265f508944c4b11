"""Oracle users who know who everyone is and reach a correct library through the app's operations only.

They read what the app shows (people and unnamed groups with their faces, unsorted faces, the Review
queue of suggestions; :mod:`benchmarks.effort.truth` ``snapshot`` and :func:`faceorg.people.queries.review_queue`)
and act only through :mod:`faceorg.people.ops`; :mod:`benchmarks.effort.measure` counts what each step
costs.

Passes:

1. **Groups** (unnamed groups, largest first), by style:
   - *careful*: cleans a group before naming it. Of two plans it takes the cheaper (ties: naming):
     (a) pick the faces of each other person and Move them To that name, pick the strangers and Ignore
     them, then name the group after its main person (a name in use merges); (b) when the group is
     mostly strangers: pick each person's faces and Move them To their name, then ignore the rest of the
     group as a whole (when two or more faces remain).
   - *hurried*: names a group after its main person when that person has at least half of its faces,
     without looking closer (wrong faces are confirmed with it); ignores a group with nobody it knows;
     leaves the others for later.
2. **Regroup** ("Group faces", one action): the app matches unsorted faces to named people (suggestions)
   and regroups the rest.
3. **Sweep**, repeated until the goal holds (at most ``MAX_SWEEPS`` times):
   - each named person's faces: pick the wrong ones (suggestions aside) and Move them To their person,
     or Reject the strangers (one selection action per target);
   - the Review queue's suggestions: one answer each (accept the right, reject the wrong);
   - unnamed groups left: the careful plan;
   - unsorted faces: per person, pick them and Name them (one selection action).

``Features`` holds the switches of issue 12's new helpers (prompts, whole-group suggestions, split
suggestions, learning as the user works, the recall pass). None exists yet (``AVAILABLE`` is empty), so
today the switches change nothing: the baseline (all off) and now (all available on) are one run.
A new helper joins by adding its name to ``AVAILABLE`` and a step kind to ``measure`` (a prompt answer
is one decision), and by a pass guarded by ``self.features.uses(name)``: e.g. answering "same person?"
prompts before the sweep, accepting a whole group's suggestion in one decision, taking a flagged split.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from faceorg.errors import FaceorgError
from faceorg.people import ops
from faceorg.people.clustering import recluster
from faceorg.people.queries import review_queue
from faceorg.store.db import Library

from .measure import Tally
from .truth import FaceState, Truth, group_sizes, people_to_sort, snapshot, unfinished

Style = Literal["careful", "hurried"]
MAX_SWEEPS = 3

FEATURES = ("prompts", "group_suggestions", "split_suggestions", "learning", "recall_pass")
AVAILABLE: frozenset[str] = frozenset()  # issue 12's helpers that exist in the app today


@dataclass(frozen=True)
class Features:
    """Which of issue 12's helpers the oracle may use (each can be switched off to show its gain)."""

    on: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = set(self.on) - set(FEATURES)
        if unknown:
            raise ValueError(f"unknown features: {sorted(unknown)}")

    @classmethod
    def baseline(cls) -> Features:
        return cls(frozenset())

    @classmethod
    def now(cls) -> Features:
        return cls(AVAILABLE)

    def uses(self, name: str) -> bool:
        return name in self.on and name in AVAILABLE

    @property
    def effective(self) -> frozenset[str]:
        return frozenset(f for f in self.on if f in AVAILABLE)

    def describe(self) -> dict[str, object]:
        return {"on": sorted(self.on), "effective": sorted(self.effective),
                "missing": sorted(set(self.on) - AVAILABLE)}


@dataclass(frozen=True)
class Step:
    """One user action: ``kind`` (see measure), the faces it concerns, its target name or person."""

    kind: str
    faces: tuple[int, ...] = ()
    name: str | None = None
    person_id: int | None = None


def _by_identity(
    faces: list[int], truth: Mapping[int, str | None], to_sort: set[str]
) -> tuple[dict[str, list[int]], list[int]]:
    """Faces split into people to sort (identity -> faces) and strangers."""
    people: dict[str, list[int]] = defaultdict(list)
    strangers: list[int] = []
    for f in faces:
        t = truth.get(f)
        if t is not None and t in to_sort:
            people[t].append(f)
        else:
            strangers.append(f)
    return dict(people), strangers


def _main_person(people: dict[str, list[int]]) -> str | None:
    if not people:
        return None
    return min(people, key=lambda n: (-len(people[n]), n))


def plan_group(
    group_id: int, faces: list[int], truth: Mapping[int, str | None], to_sort: set[str], style: Style
) -> list[Step]:
    """The steps one oracle takes on one unnamed group (see the module docstring); [] leaves it."""
    people, strangers = _by_identity(sorted(faces), truth, to_sort)
    main = _main_person(people)
    if style == "hurried":
        if main is None:
            return [Step("ignore_group", tuple(strangers))] if len(strangers) >= 2 else []
        if 2 * len(people[main]) >= len(faces):
            return [Step("name", tuple(sorted(faces)), main, group_id)]
        return []
    naming: list[Step] = []
    if main is not None:
        naming = [Step("move", tuple(fs), n) for n, fs in sorted(people.items()) if n != main]
        if strangers:
            naming.append(Step("ignore", tuple(strangers)))
        naming.append(Step("name", tuple(people[main]), main, group_id))
    extracting = [Step("move", tuple(fs), n) for n, fs in sorted(people.items())]
    if len(strangers) >= 2:
        extracting.append(Step("ignore_group", tuple(strangers)))
    if not naming:
        return extracting
    return naming if plan_cost(naming) <= plan_cost(extracting) else extracting


def plan_cost(steps: list[Step]) -> int:
    from .measure import step_cost

    return sum(step_cost(s.kind, len(s.faces)).total for s in steps)


def plan_named(
    person_id: int, name: str, faces: list[FaceState], truth: Mapping[int, str | None], to_sort: set[str]
) -> list[Step]:
    """Fixing one named person's faces in the Person view: each wrong face (pending suggestions aside,
    they are answered in Review) is picked and moved to its person or rejected (a stranger)."""
    wrong = [f.id for f in faces if f.source != "suggested" and truth.get(f.id) != name]
    people, strangers = _by_identity(wrong, truth, to_sort)
    steps = [Step("move", tuple(fs), n) for n, fs in sorted(people.items())]
    if strangers:
        steps.append(Step("reject", tuple(strangers), person_id=person_id))
    return steps


def plan_unsorted(unsorted: list[int], truth: Mapping[int, str | None], to_sort: set[str]) -> list[Step]:
    """Unsorted faces of the people to sort: per person, pick them and Name them."""
    people, _ = _by_identity(sorted(unsorted), truth, to_sort)
    return [Step("move", tuple(fs), n) for n, fs in sorted(people.items(), key=lambda kv: (-len(kv[1]), kv[0]))]


def review_answer(face_id: int, person_name: str | None, truth: Mapping[int, str | None]) -> Step:
    return Step("review_accept" if truth.get(face_id) == person_name else "review_reject", (face_id,))


@dataclass
class OracleResult:
    style: str
    features: dict[str, object]
    tally: Tally
    faces: int
    ideal: int
    unfinished: int
    failures: list[str] = field(default_factory=list)
    sweeps: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "style": self.style,
            "features": self.features,
            **self.tally.as_dict(self.faces, self.ideal),
            "unfinished_faces": self.unfinished,
            "sweeps": self.sweeps,
            "n_failures": len(self.failures),
            "failures": self.failures[:10],
            "seconds": round(self.seconds, 1),
        }


class Oracle:
    """One oracle user (``style``) on a library; ``truth`` covers the faces it must finish (by default
    every face); ``run`` returns what it cost."""

    def __init__(
        self,
        library: Library,
        truth: Truth,
        style: Style,
        features: Features | None = None,
        log: Callable[[str], None] = lambda _: None,
        regroup: Callable[[Library], object] | None = None,
    ) -> None:
        self.library = library
        self.truth = truth
        self.to_sort = people_to_sort(truth)
        self.style: Style = style
        self.features = features or Features.baseline()
        self.tally = Tally()
        self.failures: list[str] = []
        self._say = log
        self._regroup = regroup or recluster
        self._phase = ""

    # -- doing ------------------------------------------------------------------------------------
    def do(self, step: Step) -> bool:
        """Count one step and run it through ``faceorg.people.ops``; False when the app refused it."""
        self.tally.add(step.kind, len(step.faces), self._phase)
        lib, ids = self.library, list(step.faces)
        try:
            if step.kind in ("name", "merge"):
                assert step.person_id is not None and step.name is not None
                ops.name_person(lib, step.person_id, step.name)
            elif step.kind == "move":
                assert step.name is not None
                ops.assign_faces_to_name(lib, ids, step.name)
            elif step.kind in ("ignore", "ignore_group"):
                ops.ignore_faces(lib, ids)
            elif step.kind == "reject":
                ops.reject_faces(lib, ids, step.person_id)
            elif step.kind == "review_accept":
                ops.accept_suggestions(lib, ids)
            elif step.kind == "review_reject":
                ops.reject_suggestions(lib, ids)
            elif step.kind == "regroup":
                self._regroup(lib)
            else:
                raise ValueError(f"unknown step {step.kind}")
        except FaceorgError as exc:
            self.failures.append(f"{step.kind} {ids[:5]}: {exc}")
            return False
        return True

    def _do_all(self, steps: list[Step], named: set[str]) -> None:
        """Run steps in order; naming a group with a name in use is a merge (``named`` is kept up to date)."""
        for step in steps:
            if step.kind == "name" and step.name in named:
                step = Step("merge", step.faces, step.name, step.person_id)
            if self.do(step) and step.name is not None and step.kind in ("name", "merge", "move"):
                named.add(step.name)

    def _groups(self, state: Mapping[int, FaceState], named: bool) -> dict[int, list[FaceState]]:
        groups: dict[int, list[FaceState]] = defaultdict(list)
        for s in state.values():
            if s.person_id is not None and s.status == "normal" and (s.person_name is not None) == named:
                groups[s.person_id].append(s)
        return groups

    # -- passes -----------------------------------------------------------------------------------
    def group_pass(self, style: Style) -> None:
        state = snapshot(self.library)
        groups = self._groups(state, named=False)
        sizes = group_sizes(state)
        named = {s.person_name for s in state.values() if s.person_name}
        for gid in sorted(groups, key=lambda g: (-sizes[g], g)):
            faces = [s.id for s in groups[gid] if s.id in self.truth]
            if faces:
                self._do_all(plan_group(gid, faces, self.truth, self.to_sort, style), named)

    def sweep(self) -> None:
        state = snapshot(self.library)
        named = {s.person_name for s in state.values() if s.person_name}
        for pid, faces in sorted(self._groups(state, named=True).items()):
            name = faces[0].person_name
            assert name is not None
            self._do_all(
                plan_named(pid, name, [f for f in faces if f.id in self.truth], self.truth, self.to_sort), named
            )
        for face in review_queue(self.library):
            if face.source == "suggested" and face.id in self.truth:
                self.do(review_answer(face.id, face.person_name, self.truth))
        self.group_pass("careful")
        state = snapshot(self.library)
        unsorted = [f for f, s in state.items() if s.person_id is None and s.status == "normal" and f in self.truth]
        self._do_all(plan_unsorted(unsorted, self.truth, self.to_sort), set())

    def remaining(self) -> list[int]:
        return unfinished(snapshot(self.library), self.truth)

    def run(self) -> OracleResult:
        import time

        start = time.perf_counter()
        result = OracleResult(
            self.style,
            self.features.describe(),
            self.tally,
            faces=len(self.truth),
            ideal=len(self.to_sort),
            unfinished=0,
        )
        self._phase = "groups"
        self.group_pass(self.style)
        self._say(f"{self.style}: groups pass {self.tally.by_pass['groups']} actions")
        self._phase = "regroup"
        self.do(Step("regroup"))
        for sweep in range(1, MAX_SWEEPS + 1):
            left = self.remaining()
            if not left:
                break
            self._phase = "sweep"
            result.sweeps = sweep
            self.sweep()
            self._say(
                f"{self.style}: sweep {sweep}: {len(left)} faces were unfinished; {self.tally.total} actions so far"
            )
        result.unfinished = len(self.remaining())
        result.failures = self.failures
        result.seconds = time.perf_counter() - start
        return result
