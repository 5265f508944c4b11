"""The record of what a data-changing operation changed; views refresh from it instead of reloading."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ChangeSet:
    """People and faces an operation touched, and the undo entry it made (if any)."""

    label: str = ""
    people_added: set[int] = field(default_factory=set)
    people_changed: set[int] = field(default_factory=set)  # name, hidden, cover or faces changed
    people_removed: set[int] = field(default_factory=set)
    faces_changed: set[int] = field(default_factory=set)  # assignment or status changed
    photos_changed: set[int] = field(default_factory=set)
    faces_added: set[int] = field(default_factory=set)  # faces the user drew (undoing their removal)
    faces_removed: set[int] = field(default_factory=set)  # drawn faces removed (undoing their drawing)
    questions_changed: set[str] = field(default_factory=set)  # review questions answered, or back (undo)
    operation_id: int | None = None

    def merge(self, other: ChangeSet) -> ChangeSet:
        """Fold ``other`` (a later change) into this one."""
        self.people_added |= other.people_added
        self.people_changed |= other.people_changed
        self.people_removed |= other.people_removed
        self.faces_changed |= other.faces_changed
        self.photos_changed |= other.photos_changed
        self.faces_added |= other.faces_added
        self.faces_removed |= other.faces_removed
        self.questions_changed |= other.questions_changed
        self.faces_added -= self.faces_removed
        self.people_added -= self.people_removed
        self.people_changed -= self.people_removed
        return self

    @property
    def empty(self) -> bool:
        return not (self.people_added or self.people_changed or self.people_removed or self.faces_changed
                    or self.photos_changed or self.faces_added or self.faces_removed or self.questions_changed)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ChangeSet:
        """The inverse of :meth:`as_dict`."""
        def values(key: str) -> list[Any]:
            value = data.get(key) or []
            assert isinstance(value, (list, set, tuple))
            return list(value)

        def ids(key: str) -> set[int]:
            return {int(v) for v in values(key)}

        operation = data.get("operation_id")
        return cls(label=str(data.get("label") or ""), people_added=ids("people_added"),
                   people_changed=ids("people_changed"), people_removed=ids("people_removed"),
                   faces_changed=ids("faces_changed"), photos_changed=ids("photos_changed"),
                   faces_added=ids("faces_added"), faces_removed=ids("faces_removed"),
                   questions_changed={str(q) for q in values("questions_changed")},
                   operation_id=int(operation) if isinstance(operation, int) else None)

    def as_dict(self) -> dict[str, object]:
        return {"label": self.label, "operation_id": self.operation_id,
                "people_added": sorted(self.people_added), "people_changed": sorted(self.people_changed),
                "people_removed": sorted(self.people_removed), "faces_changed": sorted(self.faces_changed),
                "photos_changed": sorted(self.photos_changed), "faces_added": sorted(self.faces_added),
                "faces_removed": sorted(self.faces_removed), "questions_changed": sorted(self.questions_changed)}
