"""Oracle users who know who everyone is and reach a correct library through the app's operations only.

They read what the app shows (people and unnamed groups with their faces, unsorted faces, the Review
queue of suggestions; :mod:`benchmarks.effort.truth` ``snapshot`` and :func:`faceorg.people.queries.review_queue`)
and act only through :mod:`faceorg.people.ops`; :mod:`benchmarks.effort.measure` counts what each step
costs.

Passes:

1. **Groups** (unnamed groups, largest first), by style:
   - *careful*: cleans a group before naming it. Of two plans it takes the cheaper (ties: naming):
     (a) pick the faces of each other person and Move them To that name, pick the strangers and Ignore
     them, then name the group after its main person (a name in use merges; with ``name_others``, the
     strangers picked are taken out by the naming itself); (b) when the group is
     mostly strangers: pick each person's faces and Move them To their name, then ignore the rest of the
     group as a whole (when two or more faces remain).
   - *hurried*: names a group after its main person when that person has at least half of its faces,
     without looking closer (its faces, wrong ones too, stay automatic: naming confirms nothing);
     ignores a group with nobody it knows; leaves the others for later.
2. **Regroup** ("Group faces", one action): the app matches unsorted faces to named people (suggestions)
   and regroups the rest.
3. **Sweep**, repeated until the goal holds (at most ``MAX_SWEEPS`` times):
   - each named person's faces: pick the wrong ones (suggestions aside) and Move them To their person,
     or Reject the strangers (one selection action per target);
   - the Review queue's suggestions: one answer each (accept the right, reject the wrong);
   - unnamed groups left: the careful plan;
   - unsorted faces: per person, pick them and Name them (one selection action).

``Features`` holds the switches of issue 12's helpers; each one on changes what the oracle does, the
way a user of the app would use it (every answer to a question is one decision):

- ``split_suggestions``: before the groups pass and at the start of each sweep, the Review's split
  questions (:func:`faceorg.people.prompts.list_questions`) are answered truthfully
  (:func:`faceorg.people.review_answers.answer`): "yes" when none of the odd faces is the group's person
  (its name, or its main person when unnamed), "no" otherwise.
- ``prompts``: at the start of each sweep, the "same person?" questions: "yes" when the two groups' people
  (name, or main person) are the same known person, "no" otherwise.
- ``group_suggestions``: in each sweep, instead of answering a named person's waiting faces one by one, the
  whole-group question: "yes" when every face is that person, "no" when none is, otherwise "one by one"
  (one decision for the choice, one per wrong face turned down, one to accept the rest); when answering
  its suggested faces one at a time in the face-by-face Review costs less, the oracle does that instead.
- ``recall_pass``: the app's grouping (``recluster``) runs its conservative recall pass (off: passed
  ``recall_pass=False``), when the app has it.
- ``ignore_unnamed``: the oracles leave groups of strangers alone as they go (no "ignore this group" each)
  and, once every unnamed group of two or more faces left holds strangers only, press "Ignore Unnamed
  Groups" (:func:`faceorg.people.ops.ignore_unnamed_groups`, one decision), at the end of the groups pass
  and of each sweep's.
- ``unsorted_batches``: in each sweep, before picking unsorted faces by hand, the Review's "These N
  unsorted faces may be Ann" questions, truthfully: "yes" when all are Ann, "no" when none is, otherwise
  "one by one" (their faces become Ann's suggestions; one decision, one per wrong face turned down, one to
  accept the rest), taken only when that costs less than picking Ann's faces by hand.
- ``odd_faces``: with the split questions (before the groups pass and at the start of each sweep), the
  Review's "N of the faces of Ann do not look like the others: take them out?" questions, truthfully:
  "yes" when none of the odd faces is the group's person (its name, or its main person when unnamed),
  "no" otherwise; left unanswered when every odd face is another person to sort (Move To is as cheap, and
  taken out they would have to be picked again).
- ``learning``: learning as the user works (:mod:`faceorg.jobs.learning`). After the groups pass, after the
  named people's faces are checked (with ``check_list``: a "Confirm All" brings many corrections at once, and
  the app starts learning in the background then, before the unsorted faces are sorted) and after each sweep
  (as the user's app would have done in the background by then) the oracle asks the app's
  ``learning_due``; when due it runs the app's own ``learn_now`` (the quick depth, the gate, installation and
  regrouping; not a user action). ``details`` say how often it ran, whether the gate installed the model,
  and its seconds. A new model leaves the faces already seen where they are; when it was installed and
  faces are left unsorted, the app offers "Group Faces with It" and the oracle presses it (one regroup),
  then answers the Suggested faces list it brings (with ``suggested_list``).
- ``recall_pass`` / ``precision_pass``: the grouping's conservative joining pass and its pruning pass (the
  faces far from their group left unsorted, with the late pairs among unsorted faces that follow it); off:
  the app's grouping with that pass off
  (:func:`app_grouping`), in every grouping the oracle's library sees.
- ``poor_groups``: groups of poor faces (median quality far below the library's, :mod:`faceorg.cluster.poor_groups`)
  left unsorted by every grouping; off: kept as groups (:func:`app_grouping`).
- ``mirror_recipe``: the library's faces embedded as a fresh scan embeds them today, each averaged with its
  mirror image (off: the original recipe; see ``benchmarks/effort/libraries.py`` ``with_recipe``).
- ``suggested_list``: in each sweep, before the whole-group questions, the Suggested faces list (every face
  suggested to a named person, across people: :func:`faceorg.people.queries.suggested_faces`): pick the wrong
  faces and turn them down (Not This Person, one selection action), then "Accept All" (one decision,
  :func:`faceorg.people.review_answers.accept_all_suggestions`), when that costs less than answering the
  suggestions person by person (the whole-group question or the face-by-face Review, whichever is cheaper).
- ``check_list``: in each sweep, the named people's wrong faces (suggestions too) are picked in the Check Named
  Faces list (every face of a named person not confirmed yet, across people:
  :func:`faceorg.people.queries.unconfirmed_face_ids`) instead of in each person's own view: one Move To per person
  they belong to and one Not This Person for all the strangers (:func:`plan_checked`), not one of each per
  person; then "Confirm All" confirms the rest of the list (one decision,
  :func:`faceorg.people.review_answers.confirm_all_unconfirmed`): the user has looked at every face in it. A
  face the user placed (confirmed) with the wrong person is not in that list: it is fixed in its person's view.
  The careful oracle also checks that list at the end of the groups pass (having cleaned every group it named,
  it finds there only faces that joined its people by themselves), then confirms it.
- ``name_others``: the careful oracle, cleaning a group before naming it, picks its strangers and names the
  group with them taken out ("Name the Others": ``ops.name_person(take_out=...)``, one decision plus the
  picks) instead of Ignoring them first (one more action). Off: Ignore, then name.

Where the actions go (:mod:`benchmarks.effort.breakdown`): per person-size bucket and on strangers.

``AVAILABLE`` lists the features this checkout of the app offers; the baseline has every feature off: the
app before issue 12 (original recipe, no recall or precision pass, no questions, no learning).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from faceorg.cluster.params import ClusterParams
from faceorg.errors import FaceorgError
from faceorg.people import ops, review_answers
from faceorg.people.clustering import recluster
from faceorg.people.prompts import (
    KINDS,
    Question,
    _Library,
    _read,
    group_suggestion_questions,
    odd_face_questions,
    same_person_questions,
    split_questions,
    unsorted_batch_questions,
)
from faceorg.people.queries import review_queue
from faceorg.progress import Progress
from faceorg.store.db import Library

from .breakdown import Breakdown
from .measure import Tally
from .truth import FaceState, Truth, group_sizes, people_to_sort, snapshot, unfinished

Style = Literal["careful", "hurried"]
MAX_SWEEPS = 3
STOP_AFTER_NO = 3  # a user stops answering "same person?" (or split) questions after this many "no" in a row

FEATURES = (
    "prompts",
    "group_suggestions",
    "split_suggestions",
    "learning",
    "recall_pass",
    "ignore_unnamed",
    "unsorted_batches",
    "odd_faces",
    "mirror_recipe",
    "precision_pass",
    "suggested_list",
    "check_list",
    "name_others",
    "poor_groups",
)


def _has_recall_pass() -> bool:
    import inspect

    return "recall_pass" in inspect.signature(recluster).parameters


def _has(module: str, name: str) -> bool:
    import importlib

    try:
        return hasattr(importlib.import_module(module), name)
    except ImportError:
        return False


def _has_name_others() -> bool:
    import inspect

    return "take_out" in inspect.signature(ops.name_person).parameters


def _has_precision_pass() -> bool:
    from faceorg.cluster.params import ClusterParams

    return "prune_distance" in ClusterParams.__dataclass_fields__


# issue 12's helpers that exist in the app today
AVAILABLE: frozenset[str] = frozenset(
    {"prompts", "group_suggestions", "split_suggestions", "ignore_unnamed", "unsorted_batches", "odd_faces"}
    | ({"recall_pass"} if _has_recall_pass() else set())
    | ({"precision_pass"} if _has_precision_pass() else set())
    | ({"mirror_recipe"} if _has("faceorg.retrain.install", "use_mirror_average") else set())
    | ({"learning"} if _has("faceorg.jobs.learning", "learn_now") else set())
    | ({"suggested_list"} if _has("faceorg.people.review_answers", "accept_all_suggestions") else set())
    | ({"check_list"} if _has("faceorg.people.queries", "unconfirmed_face_ids") else set())
    | ({"name_others"} if _has_name_others() else set())
    | ({"poor_groups"} if _has("faceorg.cluster.poor_groups", "POOR_GROUP_MARGIN") else set())
)


@contextmanager
def app_grouping(features: Features) -> Iterator[None]:
    """Inside the block, every grouping the app runs (``recluster``: "Group faces", and the regrouping after
    learning installs a model) has the recall and precision passes and the poor groups rule on or off as
    ``features`` say. The app has no switch for the precision pass (``recluster(recall_pass=False)`` still
    prunes), so the parameters ``recluster`` reads (:func:`faceorg.people.clustering.cluster_params`) are
    changed for the block; the poor groups rule is off with a margin of 0."""
    if "poor_groups" in AVAILABLE and not features.uses("poor_groups"):
        from faceorg.cluster import poor_groups

        margin, poor_groups.POOR_GROUP_MARGIN = poor_groups.POOR_GROUP_MARGIN, 0.0
        try:
            with app_grouping(replace(features, on=features.on | {"poor_groups"})):
                yield
        finally:
            poor_groups.POOR_GROUP_MARGIN = margin
        return
    from faceorg.people import clustering

    off: dict[str, object] = {}
    if "recall_pass" in AVAILABLE and not features.uses("recall_pass"):
        off["recall_pass"] = False
    if "precision_pass" in AVAILABLE and not features.uses("precision_pass"):
        off.update(prune_distance=0.0, prune_ratio=0.0)
        if "late_pair_distance" in ClusterParams.__dataclass_fields__:  # pairs among the faces it took out
            off["late_pair_distance"] = 0.0
    if not off:
        yield
        return
    original = clustering.cluster_params

    def switched(*args: Any, **kwargs: Any) -> ClusterParams:
        return replace(original(*args, **kwargs), **off)

    clustering.cluster_params = switched
    try:
        yield
    finally:
        clustering.cluster_params = original


def grouping(features: Features) -> Callable[..., object]:
    """The app's "Group faces" with the recall and precision passes on or off as ``features`` say."""

    def regroup(library: Library, progress: Progress | None = None) -> object:
        with app_grouping(features):
            return recluster(library, progress)

    return regroup


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

    def without(self, name: str) -> Features:
        return Features(self.on - {name})

    def uses(self, name: str) -> bool:
        return name in self.on and name in AVAILABLE

    @property
    def effective(self) -> frozenset[str]:
        return frozenset(f for f in self.on if f in AVAILABLE)

    def describe(self) -> dict[str, object]:
        return {"on": sorted(self.on), "effective": sorted(self.effective), "missing": sorted(set(self.on) - AVAILABLE)}


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
    group_id: int, faces: list[int], truth: Mapping[int, str | None], to_sort: set[str], style: Style,
    ignore_later: bool = False, name_others: bool = False,
) -> list[Step]:
    """The steps one oracle takes on one unnamed group (see the module docstring); [] leaves it.
    ``ignore_later``: the strangers left in unnamed groups are ignored all at once later (not here).
    ``name_others``: the careful oracle takes a group's strangers out as it names it ("Name the Others")."""
    people, strangers = _by_identity(sorted(faces), truth, to_sort)
    main = _main_person(people)
    if style == "hurried":
        if main is None:
            return [Step("ignore_group", tuple(strangers))] if len(strangers) >= 2 and not ignore_later else []
        if 2 * len(people[main]) >= len(faces):
            return [Step("name", tuple(sorted(faces)), main, group_id)]
        return []
    naming: list[Step] = []
    if main is not None:
        naming = [Step("move", tuple(fs), n) for n, fs in sorted(people.items()) if n != main]
        if strangers and name_others:
            naming.append(Step("name_others", tuple(strangers), main, group_id))
        else:
            if strangers:
                naming.append(Step("ignore", tuple(strangers)))
            naming.append(Step("name", tuple(people[main]), main, group_id))
    extracting = [Step("move", tuple(fs), n) for n, fs in sorted(people.items())]
    if len(strangers) >= 2 and not ignore_later:
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


def plan_checked(
    named: Mapping[int, tuple[str, list[FaceState]]], truth: Mapping[int, str | None], to_sort: set[str]
) -> list[Step]:
    """Fixing every named person's faces at once in the Check Named Faces list: the wrong faces (suggestions
    too) picked across people, Moved To each person they belong to (one action per person), and the strangers
    turned down together (each from the person it is with)."""
    wrong = [f.id for _, (name, faces) in sorted(named.items()) for f in faces
             if f.source != "user" and truth.get(f.id) != name]
    people, strangers = _by_identity(wrong, truth, to_sort)
    steps = [Step("move", tuple(fs), n) for n, fs in sorted(people.items())]
    if strangers:
        steps.append(Step("reject_checked", tuple(strangers)))
    return steps


def plan_unsorted(unsorted: list[int], truth: Mapping[int, str | None], to_sort: set[str]) -> list[Step]:
    """Unsorted faces of the people to sort: per person, pick them and Name them."""
    people, _ = _by_identity(sorted(unsorted), truth, to_sort)
    return [Step("move", tuple(fs), n) for n, fs in sorted(people.items(), key=lambda kv: (-len(kv[1]), kv[0]))]


def review_answer(face_id: int, person_name: str | None, truth: Mapping[int, str | None]) -> Step:
    return Step("review_accept" if truth.get(face_id) == person_name else "review_reject", (face_id,))


def group_identity(
    faces: list[int], name: str | None, truth: Mapping[int, str | None], to_sort: set[str]
) -> str | None:
    """Who a group is to the oracle: its name when named, else its main person to sort (None: strangers)."""
    if name is not None:
        return name
    return _main_person(_by_identity(faces, truth, to_sort)[0])


def truthful_answer(
    kind: str,
    members: Mapping[int, list[int]],
    names: Mapping[int, str | None],
    person_ids: tuple[int, ...],
    face_ids: tuple[int, ...],
    truth: Mapping[int, str | None],
    to_sort: set[str],
) -> str:
    """The oracle's answer to one review question: "yes", "no" or (a partly wrong group suggestion)
    "one_by_one". ``members``: each group's faces now; ``names``: each group's name."""

    def who(p: int) -> str | None:
        return group_identity(sorted(members.get(p, [])), names.get(p), truth, to_sort)

    if kind == "same_person":
        a, b = (who(p) for p in person_ids)
        return "yes" if a is not None and a == b else "no"
    if kind in ("split", "odd_faces"):
        person = who(person_ids[0])
        return "yes" if person is not None and all(truth.get(f) != person for f in face_ids) else "no"
    if kind in ("group_suggestion", "unsorted_batch"):
        name = names.get(person_ids[0])
        right = sum(truth.get(f) == name for f in face_ids)
        return "yes" if right == len(face_ids) else "no" if right == 0 else "one_by_one"
    raise ValueError(f"unknown question kind {kind!r}")


def _questions(lib: _Library, kinds: tuple[str, ...]) -> list[Question]:
    """:func:`faceorg.people.prompts.list_questions` from data read once (skipped ones last, surest first)."""
    make = {
        "same_person": same_person_questions,
        "group_suggestion": group_suggestion_questions,
        "split": split_questions,
        "unsorted_batch": unsorted_batch_questions,
        "odd_faces": odd_face_questions,
    }
    out = [q for k in kinds for q in make[k](lib)]
    out.sort(key=lambda q: (q.skipped, -q.score, KINDS.index(q.kind), q.id))
    return out


def answer_listed(library: Library, question: Question, lib: _Library, reply: str) -> object:
    """The app's answer to a question just listed from ``lib`` (see
    :func:`faceorg.people.review_answers.answer_question`)."""
    return review_answers.answer_question(library, question, lib, reply)


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
    answers: dict[str, int] = field(default_factory=dict)
    learning: list[dict[str, object]] = field(default_factory=list)
    where: dict[str, object] = field(default_factory=dict)

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
            "answers": dict(sorted(self.answers.items())),
            "learning": {
                "runs": len(self.learning),
                "installed": sum(bool(r["installed"]) for r in self.learning),
                "seconds": round(sum(float(str(r["seconds"])) for r in self.learning), 1),
                "each": self.learning,
            },
            "where": self.where,
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
        self._regroup = regroup or grouping(self.features)
        self._phase = ""
        self._question: tuple[Question, _Library] | None = None  # what a "prompt_answer" step answers
        self.answers: Counter[str] = Counter()  # "kind reply" -> how many answers
        self.where = Breakdown(truth)
        self.learned: list[dict[str, object]] = []  # each time the app learned as the user worked

    # -- doing ------------------------------------------------------------------------------------
    def do(self, step: Step, about: str | None = None) -> bool:
        """Count one step and run it through ``faceorg.people.ops``; False when the app refused it.
        ``about``: the person a question concerns (for :attr:`where`; other steps name theirs)."""
        self.tally.add(step.kind, len(step.faces), self._phase)
        self.where.add(step.kind, step.faces, about if step.kind in ("prompt_answer", "accept_rest") else step.name)
        lib, ids = self.library, list(step.faces)
        if step.kind in ("ignore", "reject", "reject_checked", "name_others"):
            from faceorg.people.clustering import active_distance_scale

            self.where.strangers_in_group(lib, step.faces, active_distance_scale(lib))
        try:
            if step.kind in ("name", "merge"):
                assert step.person_id is not None and step.name is not None
                ops.name_person(lib, step.person_id, step.name)
            elif step.kind == "name_others":  # a name in use merges, as with "name"
                assert step.person_id is not None and step.name is not None
                ops.name_person(lib, step.person_id, step.name, take_out=ids)
            elif step.kind == "move":
                assert step.name is not None
                ops.assign_faces_to_name(lib, ids, step.name)
            elif step.kind in ("ignore", "ignore_group"):
                ops.ignore_faces(lib, ids)
            elif step.kind == "ignore_unnamed":
                ops.ignore_unnamed_groups(lib)
            elif step.kind == "reject":
                ops.reject_faces(lib, ids, step.person_id)
            elif step.kind == "reject_checked":
                ops.reject_faces(lib, ids)  # each from the person it is with
            elif step.kind in ("review_accept", "accept_rest"):
                ops.accept_suggestions(lib, ids)
            elif step.kind in ("review_reject", "reject_suggested"):
                ops.reject_suggestions(lib, ids)
            elif step.kind == "accept_all_suggested":
                review_answers.accept_all_suggestions(lib, only=ids)
            elif step.kind == "confirm_all_checked":
                review_answers.confirm_all_unconfirmed(lib, only=ids)
            elif step.kind == "regroup":
                self._regroup(lib)
            elif step.kind == "prompt_answer":
                assert step.name is not None
                assert self._question is not None
                if step.name != "one_by_one":
                    answer_listed(lib, *self._question, step.name)
                elif self._question[0].kind == "unsorted_batch":  # the batch's faces wait as suggestions
                    answer_listed(lib, *self._question, "one-by-one")
                # choosing "one by one" on a group suggestion changes nothing by itself
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
            if self.do(step) and step.name is not None and step.kind in ("name", "merge", "move", "name_others"):
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
        later = self.features.uses("ignore_unnamed")
        for gid in sorted(groups, key=lambda g: (-sizes[g], g)):
            faces = [s.id for s in groups[gid] if s.id in self.truth]
            if faces:
                self._do_all(plan_group(gid, faces, self.truth, self.to_sort, style, later,
                                        self.features.uses("name_others")), named)
        if later:
            self.ignore_unnamed()

    def ignore_unnamed(self) -> None:
        """"Ignore unnamed groups" (one action), when every unnamed group of two or more faces left holds
        strangers only (the user has named everyone they know; otherwise they would lose faces)."""
        groups = self._groups(snapshot(self.library), named=False)
        left = [fs for fs in groups.values() if len(fs) >= 2]
        if left and not any(self.truth.get(f.id) in self.to_sort for fs in left for f in fs):
            self.do(Step("ignore_unnamed", tuple(f.id for fs in left for f in fs)))

    def sweep(self) -> None:
        kinds = tuple(
            k
            for k, f in (("split", "split_suggestions"), ("odd_faces", "odd_faces"), ("same_person", "prompts"))
            if self.features.uses(f)
        )
        if kinds:
            self.answer_questions(kinds)
        state = snapshot(self.library)
        named = {s.person_name for s in state.values() if s.person_name}
        people = {pid: (str(faces[0].person_name), [f for f in faces if f.id in self.truth])
                  for pid, faces in sorted(self._groups(state, named=True).items())}
        if self.features.uses("check_list"):
            self.check_named(people, named)
            if self.learn_if_due("the named people's faces were checked"):  # the app starts then, in the background
                self.group_with_new_model()
            for pid, (name, faces) in people.items():  # a face the user placed wrongly: not in the list
                placed = [f for f in faces if f.source == "user"]
                self._do_all(plan_named(pid, name, placed, self.truth, self.to_sort), named)
        else:
            for pid, (name, faces) in people.items():
                self._do_all(plan_named(pid, name, faces, self.truth, self.to_sort), named)
        if self.features.uses("suggested_list"):
            self.suggested_list()
        if self.features.uses("group_suggestions"):
            self.answer_questions(("group_suggestion",), rounds=1)
        for face in review_queue(self.library):
            if face.source == "suggested" and face.id in self.truth:
                self.do(review_answer(face.id, face.person_name, self.truth))
        self.group_pass("careful")
        if self.features.uses("unsorted_batches"):
            self.answer_questions(("unsorted_batch",))
        state = snapshot(self.library)
        unsorted = [f for f, s in state.items() if s.person_id is None and s.status == "normal" and f in self.truth]
        self._do_all(plan_unsorted(unsorted, self.truth, self.to_sort), set())

    def check_named(self, people: Mapping[int, tuple[str, list[FaceState]]], named: set[str]) -> None:
        """The Check Named Faces list (see ``check_list``): its wrong faces fixed, then "Confirm All"."""
        self._do_all(plan_checked(people, self.truth, self.to_sort), named)
        self.confirm_checked()

    def confirm_checked(self) -> None:
        """"Confirm All" in the Check Named Faces list, once its wrong faces are fixed (see ``check_list``)."""
        from faceorg.people.queries import unconfirmed_face_ids

        rest = tuple(f for f in unconfirmed_face_ids(self.library)[0] if f in self.truth)
        if rest:
            self.do(Step("confirm_all_checked", rest))

    def suggested_list(self) -> None:
        """The Suggested faces list (see the module docstring), when it costs less than person by person."""
        from faceorg.people.queries import suggested_faces

        waiting = [f for f in suggested_faces(self.library) if f.id in self.truth]
        wrong = tuple(f.id for f in waiting if self.truth.get(f.id) != f.person_name)
        right = tuple(f.id for f in waiting if self.truth.get(f.id) == f.person_name)
        at_once = len(wrong) + bool(wrong) + bool(right)
        if not waiting or at_once >= self._person_by_person(waiting):
            return
        if wrong:
            self.do(Step("reject_suggested", wrong))
        if right:
            self.do(Step("accept_all_suggested", right))

    def _person_by_person(self, waiting: list[Any]) -> int:
        """What answering these suggested faces person by person costs: per person the cheaper of the
        whole-group question (one answer, or "one by one": an answer, one per wrong face, one to accept the
        rest) and one answer per face in the face-by-face Review."""
        by_person: dict[int | None, list[Any]] = defaultdict(list)
        for f in waiting:
            by_person[f.person_id].append(f)
        total = 0
        for faces in by_person.values():
            wrong = sum(self.truth.get(f.id) != f.person_name for f in faces)
            whole = 1 if wrong in (0, len(faces)) else 2 + wrong
            total += len(faces) if len(faces) == 1 else min(whole, len(faces))
        return total

    def _members(self) -> tuple[dict[int, list[int]], dict[int, str | None], set[int]]:
        """Each group's faces, each group's name, and the faces waiting as suggestions."""
        members: dict[int, list[int]] = defaultdict(list)
        names: dict[int, str | None] = {}
        suggested: set[int] = set()
        for s in snapshot(self.library).values():
            if s.person_id is not None and s.status == "normal":
                members[s.person_id].append(s.id)
                names[s.person_id] = s.person_name
                if s.source == "suggested":
                    suggested.add(s.id)
        return members, names, suggested

    def answer_questions(self, kinds: tuple[str, ...], rounds: int = 3) -> None:
        """Answer the Review's open questions of ``kinds`` truthfully, surest first, one decision each.

        Each round lists the questions once and answers those whose groups no earlier answer of the round
        changed (the others come back, recomputed, in the next round; a next round only after a "yes").
        The user stops answering a kind of yes/no question after ``STOP_AFTER_NO`` "no" in a row (the
        rest are unlikely). A whole-group suggestion whose faces are all automatic and right is left alone
        (they count as done; confirming them is not needed); one that would cost more than answering its
        suggested faces one at a time in the face-by-face Review is left to that Review."""
        asked: set[str] = set()
        noes: Counter[str] = Counter()  # "no" in a row, per kind
        for _ in range(rounds):
            members, names, suggested = self._members()
            lib = _read(self.library)
            if lib is None:
                return
            touched: set[int] = set()
            yes = 0
            for q in _questions(lib, kinds):
                if q.id in asked or touched & set(q.person_ids) or noes[q.kind] >= STOP_AFTER_NO:
                    continue
                asked.add(q.id)
                if q.kind == "group_suggestion" and not self._worth_answering(q, names, suggested):
                    continue
                if q.kind == "unsorted_batch" and not self._worth_batch(q, names):
                    continue
                if q.kind == "odd_faces" and not self._worth_taking_out(q):
                    continue
                reply = self._answer(q, lib, members, names)
                touched |= set(q.person_ids)
                yes += reply != "no"
                if q.kind != "group_suggestion":
                    noes[q.kind] = noes[q.kind] + 1 if reply == "no" else 0
            if not yes:
                break

    def _worth_answering(self, q: Question, names: Mapping[int, str | None], suggested: set[int]) -> bool:
        """Whether the whole-group question is cheaper than answering its suggested faces one at a time in
        the face-by-face Review (where only suggestions wait; wrong automatic faces were fixed before)."""
        name = names.get(q.person_ids[0])
        wrong = [f for f in q.face_ids if self.truth.get(f) != name]
        waiting = [f for f in q.face_ids if f in suggested]
        if not wrong and not waiting:
            return False  # all automatic and right: done already
        if any(f not in suggested for f in wrong):
            return True  # a wrong automatic face: the face-by-face Review does not show it
        whole = 1 if len(wrong) in (0, len(q.face_ids)) else 2 + len(wrong)
        return whole <= len(waiting)

    def _worth_taking_out(self, q: Question) -> bool:
        """Whether taking the odd faces out is worth an answer: not when every one of them is a person to
        sort (taken out, each would be picked again from the unsorted faces; Move To puts it right at once)."""
        return any(self.truth.get(f) not in self.to_sort for f in q.face_ids)

    def _worth_batch(self, q: Question, names: Mapping[int, str | None]) -> bool:
        """Whether a batch of unsorted faces is worth answering rather than picking its right faces by hand
        later: all right or all wrong (one answer), or turning down the wrong ones costs less than picking
        the right ones (with the selection action they would share with the person's other faces)."""
        name = names.get(q.person_ids[0])
        right = sum(self.truth.get(f) == name for f in q.face_ids)
        wrong = len(q.face_ids) - right
        return wrong == 0 or right == 0 or 2 + wrong < right + 1

    def _answer(
        self, q: Question, lib: _Library, members: Mapping[int, list[int]], names: Mapping[int, str | None]
    ) -> str:
        reply = truthful_answer(q.kind, members, names, q.person_ids, q.face_ids, self.truth, self.to_sort)
        self._question = (q, lib)
        self.answers[f"{q.kind} {reply}"] += 1
        about = group_identity(sorted(members.get(q.person_ids[0], [])), names.get(q.person_ids[0]), self.truth,
                               self.to_sort)
        self.do(Step("prompt_answer", q.face_ids, reply, q.person_ids[0]), about)
        if reply == "one_by_one":  # the wrong faces turned down one at a time, then the rest accepted at once
            name = names.get(q.person_ids[0])
            wrong = [f for f in q.face_ids if self.truth.get(f) != name]
            for f in wrong:
                self.do(Step("review_reject", (f,)))
            self.do(Step("accept_rest", tuple(f for f in q.face_ids if f not in wrong)), name)
        return reply

    def group_with_new_model(self) -> None:
        """"Group Faces with It", which the app offers after learning installed a model while faces are left
        unsorted (one regroup), then the Suggested faces list of what it matched."""
        from faceorg.people.queries import ungrouped_face_count

        if not ungrouped_face_count(self.library):
            return
        self.do(Step("regroup"))
        if self.features.uses("suggested_list"):
            self.suggested_list()

    def learn_if_due(self, after: str) -> bool:
        """With ``learning``: what the app would have done in the background by now, when enough new
        corrections came (its ``learning_due``): its own ``learn_now`` (not a user action), recorded; whether it
        installed a new model."""
        if not self.features.uses("learning"):
            return False
        import time

        from faceorg.jobs.learning import last_learning, learn_now, learning_due

        due = learning_due(self.library)
        if not due.due:
            return False
        start = time.perf_counter()
        with app_grouping(self.features):
            job = learn_now(self.library)
        seconds = time.perf_counter() - start
        record: dict[str, object] = {
            "after": after,
            "new_corrections": due.new_corrections,
            "installed": bool(job is not None and job.retrain.accepted),
            "seconds": round(seconds, 1),
            "line": last_learning(self.library),
        }
        if job is not None:
            record["changes"] = {k: len(v) if isinstance(v, (list, dict, set)) else v
                                 for k, v in job.changes.as_dict().items() if k != "label"}
        self.learned.append(record)
        self._say(f"{self.style}: learned after {after}: {record['line']} ({seconds:.0f} s)")
        return bool(record["installed"])

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
        if self.features.uses("learning"):
            from faceorg.jobs.learning import start_counting

            start_counting(self.library)  # as the app does when it opens a library
        self._phase = "groups"
        first = tuple(
            k for k, f in (("split", "split_suggestions"), ("odd_faces", "odd_faces")) if self.features.uses(f)
        )
        if first:
            self.answer_questions(first)
        self.group_pass(self.style)
        if self.style == "careful" and self.features.uses("check_list"):  # the groups it named, cleaned: confirmed
            state = snapshot(self.library)
            self.check_named({pid: (str(faces[0].person_name), [f for f in faces if f.id in self.truth])
                              for pid, faces in sorted(self._groups(state, named=True).items())},
                             {s.person_name for s in state.values() if s.person_name})
        self._say(f"{self.style}: groups pass {self.tally.by_pass['groups']} actions")
        self.learn_if_due("the groups pass")
        self._phase = "regroup"
        self.do(Step("regroup"))
        for sweep in range(1, MAX_SWEEPS + 1):
            left = self.remaining()
            if not left:
                break
            self._phase = "sweep"
            result.sweeps = sweep
            self.sweep()
            if self.learn_if_due(f"sweep {sweep}") and self.remaining():
                self.group_with_new_model()
            self._say(
                f"{self.style}: sweep {sweep}: {len(left)} faces were unfinished; {self.tally.total} actions so far"
            )
        result.unfinished = len(self.remaining())
        result.failures = self.failures
        result.answers = dict(self.answers)
        result.learning = self.learned
        result.where = self.where.as_dict()
        result.seconds = time.perf_counter() - start
        return result
