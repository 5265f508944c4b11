"""The three libraries of the effort benchmark, scanned once by the app and cached.

- ``lfw``: every LFW photo (``images/<Person>/<file>.jpg``), scanned in place.
- ``family``: LFW's people with the most photos (``FAMILY_PEOPLE`` of them, at most ``FAMILY_CAP``
  photos each, the first by file name) plus ``FAMILY_STRANGERS`` people with exactly one photo (seeded
  choice), copied into a folder per person (a family's photos with a few hundred passers-by).
- ``degraded``: the library part of ``benchmarks/corrections`` (LFW people with 10+ photos, degraded to
  25-40 px faces); its "later photos" are kept beside it for the learning measurement.

Each library is scanned with ``scan_library`` (faces found and embedded) and kept, not yet grouped, under
the cache folder as ``<key>-scan-<embedder sha256[:16]>.sqlite`` (the sha256 of the base embedder file
the app runs), so later runs only copy it; each run then groups its copy with the app's ``recluster``
as ``faceorg scan`` does, so changes to the grouping show without a new scan. The photo folders of
``family`` and ``degraded`` live in the cache too (the database refers to them).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceorg.files import sha256_file
from faceorg.pipeline.factory import analyzer_for_library
from faceorg.progress import Progress, ProgressState
from faceorg.scan.scanner import scan_library
from faceorg.store import open_library
from faceorg.store.backups import copy_database
from faceorg.store.folders import add_folder

FAMILY_PEOPLE = 18
FAMILY_CAP = 40
FAMILY_STRANGERS = 300

Say = Callable[[str], None]


def embedder_sha256() -> str:
    """The sha256 of the base embedder file the app runs (the cache key of every scanned library)."""
    from faceorg.weights.fetch import require_model
    from faceorg.weights.registry import BASE_EMBEDDER_INT8_FILE

    return sha256_file(require_model(BASE_EMBEDDER_INT8_FILE))


def progress_to(say: Say, prefix: str, every_s: float = 30.0) -> Progress:
    """A Progress that reports each new stage and then at most every ``every_s`` seconds."""
    last_stage: list[str] = [""]
    last_at: list[float] = [0.0]

    def listen(state: ProgressState) -> None:
        now = time.perf_counter()
        if state.stage != last_stage[0] or now - last_at[0] >= every_s:
            last_stage[0], last_at[0] = state.stage, now
            count = f" {state.done}/{state.total}" if state.total else ""
            say(f"{prefix}: {state.stage}{count}")

    return Progress(listen)


@dataclass(frozen=True)
class Scanned:
    """A cached, scanned and grouped library database and the folder(s) it was built from."""

    key: str
    db: Path
    folder: Path
    later_folder: Path | None = None
    info: dict | None = None


def scanned(key: str, folder: Path, cache: Path, say: Say, info: dict | None = None) -> Path:
    """The cached database of ``folder`` scanned (not grouped) by the app (built when missing)."""
    cache.mkdir(parents=True, exist_ok=True)
    db = cache / f"{key}-scan-{embedder_sha256()[:16]}.sqlite"
    if db.is_file():
        say(f"{key}: cached scan {db}")
        return db
    partial = db.with_name(db.name + ".partial")
    for suffix in ("", "-wal", "-shm"):
        Path(str(partial) + suffix).unlink(missing_ok=True)
    start = time.perf_counter()
    with open_library(partial) as library:
        add_folder(library, folder)
        summary = scan_library(library, analyzer=analyzer_for_library(library), progress=progress_to(say, key))
        scan_s = time.perf_counter() - start
        copy_database(partial, db.with_name(db.name + ".tmp"))
    for suffix in ("", "-wal", "-shm"):
        Path(str(partial) + suffix).unlink(missing_ok=True)
    models = partial.with_name(partial.name + ".models")  # the library's copy of its embedder
    if models.is_dir():
        shutil.rmtree(db.with_name(db.name + ".models"), ignore_errors=True)
        models.rename(db.with_name(db.name + ".models"))
    db.with_name(db.name + ".tmp").rename(db)
    meta = {"key": key, "folder": str(folder), "summary": summary.one_line(), "scan_s": scan_s, **(info or {})}
    db.with_suffix(".json").write_text(json.dumps(meta, indent=2))
    say(f"{key}: scanned {summary.one_line()} in {time.perf_counter() - start:.0f} s -> {db}")
    return db


def scan_seconds(db: Path) -> float | None:
    """How long the cached library took to scan when it was built (None: unknown)."""
    meta = db.with_suffix(".json")
    return float(json.loads(meta.read_text())["scan_s"]) if meta.is_file() else None


def _people(images: Path) -> dict[str, list[Path]]:
    return {d.name: sorted(d.glob("*.jpg")) for d in sorted(p for p in images.iterdir() if p.is_dir())}


def lfw_library(images: Path, cache: Path, say: Say, people: int | None = None, seed: int = 0) -> Scanned:
    """All of LFW, or (``people``) a seeded subset of its people for quick runs (copied into the cache)."""
    if people is None:
        return Scanned("lfw", scanned("lfw", images, cache, say), images)
    everyone = _people(images)
    names = sorted(np.random.default_rng([seed, 101]).choice(sorted(everyone), size=people, replace=False).tolist())
    key = f"lfw-p{people}-s{seed}"
    folder = _copy_photos(cache / f"{key}-photos", {n: everyone[n] for n in names})
    return Scanned(key, scanned(key, folder, cache, say), folder)


def family_photos(images: Path, n_people: int = FAMILY_PEOPLE, cap: int = FAMILY_CAP,
                  strangers: int = FAMILY_STRANGERS, seed: int = 0) -> dict[str, list[Path]]:
    """The family-shaped selection: the ``n_people`` people with most photos (ties by name), their first
    ``cap`` photos, and ``strangers`` seeded people who have exactly one photo."""
    everyone = _people(images)
    ranked = sorted(everyone, key=lambda n: (-len(everyone[n]), n))
    chosen = {n: everyone[n][:cap] for n in ranked[:n_people]}
    singles = sorted(n for n, photos in everyone.items() if len(photos) == 1)
    rng = np.random.default_rng([seed, 202])
    for n in sorted(rng.choice(singles, size=min(strangers, len(singles)), replace=False).tolist()):
        chosen[n] = everyone[n]
    return chosen


def _copy_photos(folder: Path, photos: dict[str, list[Path]]) -> Path:
    """Copy the photos into ``folder/<person>/`` (kept when already complete)."""
    done = folder / ".complete"
    if done.is_file():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    for person, paths in photos.items():
        (folder / person).mkdir(parents=True, exist_ok=True)
        for p in paths:
            shutil.copyfile(p, folder / person / p.name)
    done.write_text("")
    return folder


def family_library(images: Path, cache: Path, say: Say, n_people: int = FAMILY_PEOPLE, cap: int = FAMILY_CAP,
                   strangers: int = FAMILY_STRANGERS, seed: int = 0) -> Scanned:
    key = f"family-p{n_people}-c{cap}-st{strangers}-s{seed}"
    photos = family_photos(images, n_people, cap, strangers, seed)
    folder = _copy_photos(cache / f"{key}-photos", photos)
    return Scanned(key, scanned(key, folder, cache, say), folder,
                   info={"people": n_people, "cap": cap, "strangers": strangers})


def degraded_library(lfw: Path, cache: Path, say: Say, people: int | None = None, seed: int = 0) -> Scanned:
    """The library part of ``benchmarks/corrections`` (built with its ``dataset`` module and seed), scanned;
    ``later_folder`` holds its photos that arrive later (not scanned here)."""
    from corrections import dataset as ds
    from faceorg.pipeline.factory import build_detector
    from faceorg.settings import Settings

    key = f"degraded-p{people if people is not None else 'all'}-s{seed}"
    chosen = ds.choose_people(ds.people_with_many_photos(lfw / "images"), people, seed)
    library_photos, later_photos = ds.split_later(chosen, seed)
    root = cache / f"{key}-photos"
    lib_dir, later_dir = root / "library", root / "later"
    if not (root / ".complete").is_file():
        detector, _ = build_detector(Settings())
        widths = ds.clean_face_widths(library_photos + later_photos, ds.central_face_width(detector),
                                      cache / "clean_face_widths.json",
                                      lambda i, n: say(f"{key}: measuring clean face widths {i}/{n}"))
        shutil.rmtree(root, ignore_errors=True)
        ds.write_photos(library_photos, lib_dir, widths, seed)
        ds.write_photos(later_photos, later_dir, widths, seed)
        (root / ".complete").write_text("")
    info = {"people": len(chosen), "library_photos": len(library_photos), "later_photos": len(later_photos)}
    return Scanned(key, scanned(key, lib_dir, cache, say, info), lib_dir, later_dir, info)
