"""Every sentence retraining tells the user, in one place (the CLI prints them, the app shows them)."""

from __future__ import annotations

import math
from typing import Any


def percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.0f}%"


def one_in(far: float) -> str:
    return f"1-in-{round(1 / far)}" if far > 0 else "no"


def checked_on(n_faces: int, n_people: int, rounds: int, *, yours: bool = True) -> str:
    whose = "of your people that the training did not use" if yours else "people the training did not use"
    return f"Checked on {n_faces} faces of {n_people} {whose}" + (f" ({rounds} rounds)." if rounds > 1 else ".")


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _change(delta: int, one: str, many: str, more: str, fewer: str) -> str:
    if delta == 0:
        return f"as many {many} as before {more}"
    return f"{_count(abs(delta), one, many)} {'more' if delta > 0 else 'fewer'} {more if delta > 0 else fewer}"


def regrouped(before: Any, after: Any) -> str:
    """The library check in plain words (``before`` / ``after``: :class:`GroupingCounts`)."""
    right = after.right - before.right
    land = (f"{_count(abs(right), 'more face', 'more faces')} now land with the right person" if right > 0 else
            f"{_count(-right, 'face fewer lands', 'faces fewer land')} with the right person" if right < 0 else
            "as many faces as before land with the right person")
    mixed = after.mixed - before.mixed
    groups = ("as many groups as before mix two people" if mixed == 0 else
              f"{_count(abs(mixed), 'group', 'groups')} {'more' if mixed > 0 else 'fewer'} "
              f"{'mixes' if abs(mixed) == 1 else 'mix'} two people")
    split = after.split - before.split
    people = ("as many people as before are split over several groups" if split == 0 else
              f"{_count(abs(split), 'person', 'people')} {'more' if split > 0 else 'fewer'} "
              f"{'is' if abs(split) == 1 else 'are'} split over several groups")
    return f"Regrouping them as the app does: of your {before.faces} named faces, {land}; {groups}; {people}."


def recognised(before: float, after: float) -> str:
    """Verification on the held-out faces of people the model learned, in plain words."""
    return (f"Two photos of the same person recognised as one person: {per_100(before)} in 100 before, "
            f"{per_100(after)} after (while keeping different people apart as strictly as before).")


def per_100(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.0f}"


ACCEPTED = "it does better on your named faces and no worse on any count."


MATCHED_WORSE = "it recognises fewer photos of your people as the same person."
NOT_BETTER = "it is not clearly better than the current model."


def regrouped_worse(what: list[str]) -> str:
    words = {"right": "fewer of your named faces land with the right person",
             "wrong": "more faces land with the wrong person", "mixed": "more groups mix two people",
             "split": "more people are split over several groups"}
    return "regrouping your named faces with it, " + " and ".join(words[w] for w in what) + "."


def matched(far: float, before: float, after: float) -> str:
    return (f"Faces of the same person matched at {one_in(far)} false matches: {percent(before)} before, "
            f"{percent(after)} after.")


def grouped(before: float, after: float) -> str:
    return f"Grouping those faces into people (BCubed F): {percent(before)} before, {percent(after)} after."


def verdict(accepted: bool, reason: str) -> str:
    return ("New model accepted: " if accepted else "Current model kept: ") + reason


def too_few_to_judge(n_faces: int, n_people: int, min_faces: int, min_people: int) -> list[str]:
    """The thin-evidence refusal, naming what is short: the faces held back, the people they belong to, or both."""
    people = f"{n_people} {'person' if n_people == 1 else 'people'}"
    few_faces, few_people = n_faces < min_faces, n_people < min_people
    if few_faces and not few_people:
        first = (f"Only {n_faces} confirmed faces could be held back to check a new model (at least {min_faces} "
                 "are needed); that is too few to judge it.")
        todo = "confirm more faces of your people"
    elif few_people and not few_faces:
        first = (f"The confirmed faces held back to check a new model belong to only {people} (at least "
                 f"{min_people} people are needed); that is too few to judge it.")
        todo = "confirm the faces of more people (name them, then accept their waiting faces)"
    else:
        first = (f"Only {n_faces} confirmed faces of {people} could be held back to check a new model (at least "
                 f"{min_faces}, of at least {min_people} people, are needed); that is too few to judge it.")
        todo = "name more people and confirm their faces"
    return [first, f"Current model kept: {todo}, then try again."]


def unseen_people(count: int, before: float, after: float, judgeable: bool) -> str:
    return (f"People it never saw ({count}): two photos of one of them recognised {per_100(before)} in 100 "
            f"before, {per_100(after)} after"
            + ("." if judgeable else " (too few to judge by; the model was kept close to the old one "
                                     "for everyone instead)."))


def unseen_worse(before: float, after: float) -> str:
    return (f"Current model kept: it recognises people it never saw worse ({per_100(before)} in 100 before, "
            f"{per_100(after)} after).")


def stepped_back(fraction: float) -> str:
    return (f"Kept {100 * fraction:.0f}% of the fine-tuning, so that people it never saw are matched as well "
            "as before.")


def now_using(name: str, previous: str) -> str:
    return (f"Now using embedder {name} (go back to {previous} with File → Go Back to the Previous Model, or "
            "`faceorg models back`).")


DRY_RUN = "Dry run: nothing was changed."


def learned_from(training: dict[str, int], depth: str, seconds: float, stop_reason: str) -> str:
    """What the model learned from, and how the training ended (the app's detail text)."""
    return (f"Learned from {training.get('labelled_faces', 0)} confirmed faces of {training.get('people', 0)} "
            f"people and {training.get('known_negative_pairs', 0)} pairs of faces known to be different people "
            f"({depth} depth, {seconds:.0f} s, stopped: {stop_reason or 'n/a'}).")


def learned_matching(precision: float) -> str:
    """What learning changes for new photos (:class:`faceorg.retrain.calibrate.LearnedMatching`)."""
    return (f"New photos: a face clearly nearer one of your people than anyone else will join them without asking "
            f"(right for {per_100(precision)} in 100 of the held-out faces it placed); the faces you have already "
            f"seen stay where they are.")
