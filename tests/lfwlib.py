"""Libraries of real LFW photos, scanned with the installed models and grouped (for module-scoped fixtures)."""

from __future__ import annotations

import shutil
from pathlib import Path

from faceorg.people.clustering import recluster
from faceorg.pipeline.factory import analyzer_for_library
from faceorg.scan.scanner import scan_library
from faceorg.store import open_library
from faceorg.store.folders import add_folder


def scanned_lfw_library(shared_data: Path, root: Path, people: list[str], per_person: int) -> Path:
    """Copy the first ``per_person`` LFW photos of each of ``people`` into ``root/photos``, scan and group
    them into ``root/template.sqlite``; returns that database's path."""
    photos = root / "photos"
    photos.mkdir()
    for person in people:
        for src in sorted((shared_data / "lfw" / "images" / person).glob("*.jpg"))[:per_person]:
            shutil.copy(src, photos / src.name)
    db = root / "template.sqlite"
    with open_library(db) as lib:
        add_folder(lib, photos)
        scan_library(lib, analyzer=analyzer_for_library(lib))
        recluster(lib)
    return db
