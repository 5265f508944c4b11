"""The report every job returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from faceorg.people.changes import ChangeSet


@dataclass(kw_only=True)
class JobReport:
    """What a job did.

    ``changes`` is the record of what it changed (the views refresh from it); ``cancelled`` says the
    job stopped early on Cancel (what it finished is kept and reported). A job's report subclasses
    this and words itself in :meth:`one_line` and :meth:`as_dict`.
    """

    changes: ChangeSet = field(default_factory=ChangeSet)
    cancelled: bool = False

    def one_line(self) -> str:
        """One sentence for a status bar or a terminal."""
        raise NotImplementedError

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the job's ``--json`` output); subclasses extend it."""
        return {"cancelled": self.cancelled, "changes": self.changes.as_dict()}
