"""Library settings, stored in the library database, explained in words a user understands."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from faceorg.errors import FaceorgError
from faceorg.store.db import Library
from faceorg.store.models import Setting

SENSITIVITIES = ("fewer", "balanced", "more")


@dataclass(frozen=True)
class Settings:
    """What the user can tune. Defaults suit a family photo library."""

    #: Run the face models on the graphics card when one is usable (falls back to the processor).
    use_gpu: bool = True
    #: Faces smaller than this many pixels (width of the face in the photo) are not looked for.
    min_face_size: int = 20
    #: How sure the detector must be that something is a face (0..1); higher finds fewer false faces.
    score_threshold: float = 0.8
    #: How readily faces are grouped: "fewer" keeps only sure groups (fewer mistakes, more faces left
    #: unsorted), "balanced", or "more" sorts more faces into groups (more groups, more look-alikes mixed up).
    cluster_sensitivity: str = "balanced"
    #: Smallest number of photos that makes a new group of someone unnamed (0: chosen from library size).
    min_group_size: int = 0
    #: Follow links (shortcuts) that lead outside the library folders when scanning; off, such links are
    #: skipped and listed by `faceorg status --failed`.
    follow_outside_links: bool = False

    def validated(self) -> Settings:
        if self.cluster_sensitivity not in SENSITIVITIES:
            raise FaceorgError(f"cluster sensitivity must be one of {', '.join(SENSITIVITIES)}")
        if not 8 <= self.min_face_size <= 1000:
            raise FaceorgError("minimum face size must be between 8 and 1000 pixels")
        if not 0.05 <= self.score_threshold <= 0.999:
            raise FaceorgError("detector score threshold must be between 0.05 and 0.999")
        if self.min_group_size < 0 or self.min_group_size == 1:
            raise FaceorgError("minimum group size must be 0 (automatic) or at least 2")
        return self


def load_settings(library: Library) -> Settings:
    """The library's settings (defaults for anything never set)."""
    with library.session() as s:
        stored = {row.key: row.value for row in s.query(Setting)}
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in stored.items() if k in known})


def save_settings(library: Library, settings: Settings) -> Settings:
    """Validate and store the settings."""
    settings = settings.validated()
    with library.transaction() as s:
        for key, value in asdict(settings).items():
            row = s.get(Setting, key)
            if row is None:
                s.add(Setting(key=key, value=value))
            else:
                row.value = value
    return settings


def update_settings(library: Library, **changes: Any) -> Settings:
    """Change some settings by name."""
    current = asdict(load_settings(library))
    unknown = set(changes) - set(current)
    if unknown:
        raise FaceorgError(f"unknown setting {', '.join(sorted(unknown))}")
    current.update(changes)
    return save_settings(library, Settings(**current))
