"""Every sentence retraining tells the user, in one place (the CLI prints them, the app shows them)."""

from __future__ import annotations

import math


def percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.0f}%"


def one_in(far: float) -> str:
    return f"1-in-{round(1 / far)}" if far > 0 else "no"


def checked_on(n_faces: int, n_people: int, rounds: int, *, yours: bool = True) -> str:
    whose = "of your people that the training did not use" if yours else "people the training did not use"
    return f"Checked on {n_faces} faces of {n_people} {whose}" + (f" ({rounds} rounds)." if rounds > 1 else ".")


def matched(far: float, before: float, after: float) -> str:
    return (f"Faces of the same person matched at {one_in(far)} false matches: {percent(before)} before, "
            f"{percent(after)} after.")


def grouped(before: float, after: float) -> str:
    return f"Grouping those faces into people (BCubed F): {percent(before)} before, {percent(after)} after."


def verdict(accepted: bool, reason: str) -> str:
    return ("New model accepted: " if accepted else "Current model kept: ") + reason


def too_few_to_judge(n_faces: int, n_people: int, min_faces: int, min_people: int) -> list[str]:
    return [(f"Only {n_faces} confirmed faces of {n_people} people could be held back to check a new model; "
             "that is too few to judge it."),
            (f"Current model kept: confirm more faces (at least {min_faces} held back, of {min_people} people, "
             "are needed) and try again.")]


def unseen_people(count: int, before: float, after: float, judgeable: bool) -> str:
    return (f"People it never saw ({count}): matched {percent(before)} before, {percent(after)} after"
            + ("." if judgeable else " (too few to judge by; the model was kept close to the old one "
                                     "for everyone instead)."))


def unseen_worse(before: float, after: float) -> str:
    return f"Current model kept: it matches people it never saw worse ({100 * (after - before):+.1f} points)."


def stepped_back(fraction: float) -> str:
    return (f"Kept {100 * fraction:.0f}% of the fine-tuning, so that people it never saw are matched as well "
            "as before.")


def now_using(name: str, previous: str) -> str:
    return f"Now using embedder {name} (roll back with `faceorg models use {previous}`)."


DRY_RUN = "Dry run: nothing was changed."


def learned_from(training: dict[str, int], depth: str, seconds: float, stop_reason: str) -> str:
    """What the model learned from, and how the training ended (the app's detail text)."""
    return (f"Learned from {training.get('labelled_faces', 0)} confirmed faces of {training.get('people', 0)} "
            f"people and {training.get('known_negative_pairs', 0)} pairs of faces known to be different people "
            f"({depth} depth, {seconds:.0f} s, stopped: {stop_reason or 'n/a'}).")
