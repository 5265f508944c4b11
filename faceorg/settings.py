"""User settings, explained in words a user understands: the library's own in its database, this computer's
(graphics card use, threads) in a per-user file, so a library moved to another computer does not carry them.

Stored library settings carry a ``schema_version``; older ones are migrated step by step on load
(``MIGRATIONS``). Every stored value is checked on load: a bad one is reset to its default, written back,
logged as a warning and listed in :attr:`SettingsLoad.resets` - never silently replaced.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from faceorg.errors import FaceorgError
from faceorg.files import write_text_atomic
from faceorg.paths import config_dir
from faceorg.store.db import Library
from faceorg.store.models import Setting

log = logging.getLogger(__name__)

SENSITIVITIES = ("fewer", "balanced", "more")
#: Version of the stored library settings; bump it and add a step to ``MIGRATIONS`` when their shape changes.
SCHEMA_VERSION = 2
VERSION_KEY = "schema_version"
#: Settings of this computer rather than of the library, kept in ``COMPUTER_FILE`` in the user's config folder.
COMPUTER_FIELDS = ("use_gpu", "threads", "ray_address")
COMPUTER_FILE = "computer-settings.json"


@dataclass(frozen=True)
class Settings:
    """What the user can tune. Defaults suit a family photo library."""

    #: Run the face models on the graphics card when one is usable (falls back to the processor). This computer.
    use_gpu: bool = True
    #: Processor threads for the face models (0: automatic, one per physical core). This computer.
    threads: int = 0
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
    #: Learn from your corrections as you work: after this many new ones, recognition is retrained (quick
    #: depth) in the background and used only if it does better.
    learn_as_you_go: bool = True
    #: How many new corrections (faces placed or confirmed, "not this person", "different people") start it.
    learn_after_corrections: int = 30
    #: Read face names from XMP (sidecars and the photos' own metadata, as digiKam, Lightroom and others write
    #: them) during each scan, for new and changed photos; off, `faceorg xmp import` reads them on demand.
    import_xmp_on_scan: bool = False
    #: Analyse faces on a Ray cluster when the app scans: its address (``auto``: a Ray started on this
    #: computer for the scan; empty: no, on this computer as usual). This computer.
    ray_address: str = ""

    def problems(self) -> dict[str, str]:
        """Each setting whose value is not allowed, with a sentence that says what is."""
        out = {name: f"{name.replace('_', ' ')} must be {_TYPE_WORDS[type(default)]}"
               for name, default in asdict(Settings()).items() if not _has_type(getattr(self, name), default)}
        for name, (allowed, message) in _RULES.items():
            if name not in out and not allowed(getattr(self, name)):
                out[name] = message
        return out

    def validated(self) -> Settings:
        """These settings, or FaceorgError naming the first one that is not allowed."""
        problems = self.problems()
        if problems:
            raise FaceorgError(next(iter(problems.values())))
        return self


_TYPE_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "a word"}
_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "threads": (lambda v: 0 <= v <= 256, "threads must be 0 (automatic) or between 1 and 256"),
    "cluster_sensitivity": (lambda v: v in SENSITIVITIES,
                            f"cluster sensitivity must be one of {', '.join(SENSITIVITIES)}"),
    "min_face_size": (lambda v: 8 <= v <= 1000, "minimum face size must be between 8 and 1000 pixels"),
    "score_threshold": (lambda v: 0.05 <= v <= 0.999, "detector score threshold must be between 0.05 and 0.999"),
    "min_group_size": (lambda v: v == 0 or v >= 2, "minimum group size must be 0 (automatic) or at least 2"),
    "learn_after_corrections": (lambda v: 1 <= v <= 100_000,
                                "learn after corrections must be between 1 and 100000"),
    "ray_address": (lambda v: len(v) <= 200 and not any(c.isspace() for c in v),
                    "the Ray address must be empty (off), auto, or an address such as 192.168.1.20:6379"),
}


def _has_type(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def _unversioned_to_2(stored: dict[str, Any], computer: dict[str, Any]) -> None:
    """Version 2 keeps graphics card use per computer: the library's stored choice moves to this computer's
    file, unless this computer already has one."""
    if "use_gpu" in stored:
        computer.setdefault("use_gpu", stored.pop("use_gpu"))


#: ``MIGRATIONS[v]`` turns stored settings of version ``v`` into version ``v + 1`` (in place).
#: Settings stored before versions existed count as version 1.
MIGRATIONS: dict[int, Callable[[dict[str, Any], dict[str, Any]], None]] = {1: _unversioned_to_2}


@dataclass(frozen=True)
class SettingsLoad:
    """Settings as loaded, and what loading had to change: one sentence per stored value reset to its
    default, and the stored version migrated from (equal to SCHEMA_VERSION when nothing was migrated)."""

    settings: Settings
    resets: list[str] = field(default_factory=list)
    migrated_from: int = SCHEMA_VERSION


def computer_settings_path() -> Path:
    """This user's settings file for this computer."""
    return config_dir() / COMPUTER_FILE


def _read_computer(resets: list[str]) -> dict[str, Any]:
    path = computer_settings_path()
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        resets.append(f"this computer's settings file {path} could not be read ({exc}): defaults are used")
        return {}
    return {k: v for k, v in raw.items() if k in COMPUTER_FIELDS}


def _write_computer(values: dict[str, Any]) -> None:
    write_text_atomic(computer_settings_path(), json.dumps(values, indent=2, sort_keys=True) + "\n")


def _checked(values: dict[str, Any], where: str, resets: list[str]) -> dict[str, Any]:
    """``values`` without the ones that are not allowed (each reported in ``resets``)."""
    problems = Settings(**{**asdict(Settings()), **values}).problems()
    for name in sorted(set(problems) & set(values)):
        resets.append(f"{where} setting {name}={values[name]!r} is not allowed ({problems[name]}): "
                      f"reset to {getattr(Settings(), name)!r}")
    return {k: v for k, v in values.items() if k not in problems}


def load_settings_report(library: Library) -> SettingsLoad:
    """The settings (defaults for anything never set), migrating stored settings of an older version and
    resetting bad stored values (written back, logged, and listed in the result).

    Raises FaceorgError for settings stored by a newer faceorg."""
    with library.session() as s:
        stored: dict[str, Any] = {row.key: row.value for row in s.query(Setting)}
    version = stored.pop(VERSION_KEY, 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FaceorgError(f"the library's settings have an unknown version {version!r}")
    if version > SCHEMA_VERSION:
        raise FaceorgError(f"the library's settings were saved by a newer faceorg (settings version {version}, "
                           f"this one knows up to {SCHEMA_VERSION}): update faceorg")
    computer_resets: list[str] = []
    computer = _read_computer(computer_resets)
    read_computer = dict(computer)
    for step in range(version, SCHEMA_VERSION):
        MIGRATIONS[step](stored, computer)
    known = {f.name for f in fields(Settings)} - set(COMPUTER_FIELDS)
    for key in sorted(set(stored) - known):
        log.warning("ignoring unknown stored setting %s=%r", key, stored[key])
    library_resets: list[str] = []
    library_values = _checked({k: v for k, v in stored.items() if k in known}, "library", library_resets)
    computer = _checked(computer, "this computer's", computer_resets)
    if version < SCHEMA_VERSION or library_resets:
        _store(library, library_values, {k for k in stored if k in known} - set(library_values))
    if version < SCHEMA_VERSION:
        log.info("library settings migrated from version %d to %d", version, SCHEMA_VERSION)
    if computer != read_computer or computer_resets:
        _write_computer(computer)
    resets = library_resets + computer_resets
    for message in resets:
        log.warning("%s", message)
    return SettingsLoad(Settings(**library_values, **computer), resets, version)


def load_settings(library: Library) -> Settings:
    """The settings (see :func:`load_settings_report`)."""
    return load_settings_report(library).settings


def _store(library: Library, values: dict[str, Any], remove: set[str]) -> None:
    """Write library settings ``values`` and the current schema version; delete the rows named in ``remove``
    and any row of a per-computer setting."""
    with library.transaction() as s:
        for key, value in {**values, VERSION_KEY: SCHEMA_VERSION}.items():
            row = s.get(Setting, key)
            if row is None:
                s.add(Setting(key=key, value=value))
            else:
                row.value = value
        for key in remove | set(COMPUTER_FIELDS):
            row = s.get(Setting, key)
            if row is not None:
                s.delete(row)


def save_settings(library: Library, settings: Settings) -> Settings:
    """Validate and store the settings: the library's in its database, this computer's in the user's file."""
    settings = settings.validated()
    load_settings_report(library)  # migrates older stored settings first
    values = asdict(settings)
    _store(library, {k: v for k, v in values.items() if k not in COMPUTER_FIELDS}, set())
    _write_computer({k: values[k] for k in COMPUTER_FIELDS})
    return settings


def update_settings(library: Library, **changes: Any) -> Settings:
    """Change some settings by name."""
    current = asdict(load_settings(library))
    unknown = set(changes) - set(current)
    if unknown:
        raise FaceorgError(f"unknown setting {', '.join(sorted(unknown))}")
    current.update(changes)
    return save_settings(library, Settings(**current))
