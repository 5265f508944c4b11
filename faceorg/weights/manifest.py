"""The models folder's manifest (``manifest.json``): per file its SHA-256, size and source.

Torch-free. The manifest maps a file name to ``{"sha256": ..., "size": ..., "source": ...}`` and, for a
converted file, ``"version"`` (the converter's output version).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from faceorg.files import write_bytes_atomic
from faceorg.weights.registry import MANIFEST_FILE


@dataclass(frozen=True)
class ManifestEntry:
    """What was installed as one model file."""

    sha256: str
    size: int
    source: str  # the pinned package it came from, or what it was converted from
    version: str | None = None


def read_manifest(folder: Path) -> dict[str, ManifestEntry]:
    """The manifest in ``folder``; empty when absent or unreadable (then files are re-verified)."""
    try:
        raw = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    entries: dict[str, ManifestEntry] = {}
    if not isinstance(raw, dict):
        return entries
    for name, item in raw.items():
        try:
            entries[name] = ManifestEntry(
                sha256=str(item["sha256"]), size=int(item["size"]), source=str(item["source"]),
                version=None if item.get("version") is None else str(item["version"]))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # a malformed entry counts as unrecorded
    return entries


def write_manifest(folder: Path, entries: dict[str, ManifestEntry]) -> None:
    """Write the manifest atomically (entries sorted by name, ``None`` fields left out)."""
    payload = {name: {k: v for k, v in asdict(entry).items() if v is not None}
               for name, entry in sorted(entries.items())}
    write_bytes_atomic(folder / MANIFEST_FILE, (json.dumps(payload, indent=2) + "\n").encode("utf-8"))
