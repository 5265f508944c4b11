"""Counting a user's actions: decisions, faces picked by hand, actions applied to a selection.

- **decision**: one per choice about a whole thing the app shows: naming a group, merging it by naming
  it with a name in use, ignoring a whole group of strangers, answering one Review suggestion, answering
  one prompt (yes, no or "one by one"), accepting the rest of a whole-group suggestion, ignoring every
  unnamed group left at once ("Ignore Unnamed Groups"), saying yes to every face of the Suggested faces list
  at once ("Accept All"), confirming every face of the Check Named Faces list at once ("Confirm All").
- **face pick**: one per face the user must pick by hand in a grid (a wrong face in a group, an
  unsorted face of someone).
- "Name the Others" (naming a group with the picked faces taken out) is one decision plus its picks.
- **selection action**: one per action applied to picked faces (Move To / Name, Reject, Ignore, Not This
  Person in the Suggested faces list or the Check Named Faces list).
- **regroup**: one per press of "Group faces" (the app does not regroup by itself after naming).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

DECISION_KINDS = (
    "name",
    "merge",
    "ignore_group",
    "review_accept",
    "review_reject",
    "prompt_answer",
    "accept_rest",
    "ignore_unnamed",
    "accept_all_suggested",
    "confirm_all_checked",
)  # prompt_answer: yes, no or "one by one"
SELECTION_KINDS = ("move", "reject", "ignore", "reject_suggested", "reject_checked")
NAMING_WITH_PICKS = ("name_others",)  # one decision, and the faces picked to take out


@dataclass(frozen=True)
class Cost:
    """What one step costs the user."""

    decisions: int = 0
    face_picks: int = 0
    selection_actions: int = 0
    regroups: int = 0

    @property
    def total(self) -> int:
        return self.decisions + self.face_picks + self.selection_actions + self.regroups


def step_cost(kind: str, n_faces: int) -> Cost:
    """The cost of one step of ``kind`` that concerns ``n_faces`` faces."""
    if kind in DECISION_KINDS:
        return Cost(decisions=1)
    if kind in SELECTION_KINDS:
        return Cost(face_picks=n_faces, selection_actions=1)
    if kind in NAMING_WITH_PICKS:
        return Cost(decisions=1, face_picks=n_faces)
    if kind == "regroup":
        return Cost(regroups=1)
    raise ValueError(f"unknown step kind {kind!r}")


@dataclass
class Tally:
    """Actions counted so far, by part and by kind (and by pass of the oracle)."""

    decisions: int = 0
    face_picks: int = 0
    selection_actions: int = 0
    regroups: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    by_pass: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, n_faces: int, phase: str = "") -> Cost:
        cost = step_cost(kind, n_faces)
        self.decisions += cost.decisions
        self.face_picks += cost.face_picks
        self.selection_actions += cost.selection_actions
        self.regroups += cost.regroups
        self.by_kind[kind] += 1
        if phase:
            self.by_pass[phase] += cost.total
        return cost

    @property
    def total(self) -> int:
        return self.decisions + self.face_picks + self.selection_actions + self.regroups

    def as_dict(self, faces: int, ideal: int) -> dict[str, object]:
        """Totals per 100 faces with their parts, the ideal (one decision per person to sort)."""
        return {
            "actions": self.total,
            "actions_per_100_faces": per_100(self.total, faces),
            "parts": {
                "decisions": self.decisions,
                "face_picks": self.face_picks,
                "selection_actions": self.selection_actions,
                "regroups": self.regroups,
            },
            "parts_per_100_faces": {
                "decisions": per_100(self.decisions, faces),
                "face_picks": per_100(self.face_picks, faces),
                "selection_actions": per_100(self.selection_actions, faces),
                "regroups": per_100(self.regroups, faces),
            },
            "by_kind": dict(sorted(self.by_kind.items())),
            "by_pass": dict(self.by_pass),
            "ideal": ideal,
            "ideal_per_100_faces": per_100(ideal, faces),
            "faces": faces,
        }


def per_100(n: int, faces: int) -> float:
    return round(100.0 * n / faces, 3) if faces else 0.0
