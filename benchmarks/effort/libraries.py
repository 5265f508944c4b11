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

The embedding *recipe* (how a chip becomes a vector: today each face averaged with its mirror image, recorded
on the model version) is not in the embedder's sha256, so the oracles never run on a scan as it is: they run
on :func:`with_recipe`'s copy, ``<scan>-<recipe>.sqlite``, whose faces were re-embedded from their stored
chips under the recipe the cache name says (the app's own ``use_mirror_average``, or a version without the
mirror average) and checked to hold it; :func:`fresh_recipe` is the recipe a fresh scan gets today (read from
the version a new library registers). A recipe the benchmark does not know is an error, never a stale reuse.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sqlalchemy import delete

from faceorg.files import sha256_file
from faceorg.pipeline.factory import analyzer_for_library
from faceorg.progress import Progress, ProgressState
from faceorg.scan.scanner import scan_library
from faceorg.store import open_library
from faceorg.store.backups import copy_database
from faceorg.store.db import Library
from faceorg.store.folders import add_folder
from faceorg.store.models import (
    Assignment,
    CannotLink,
    FaceNameOrigin,
    FaceNotPerson,
    ModelVersion,
    Operation,
    Person,
    PromptAnswer,
)

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


Recipe = Literal["mirror", "plain"]  # each face averaged with its mirror image, or not (before issue 12)
KNOWN_RECIPE_KEYS = frozenset({"description", "distance_scale", "checkpoint_sha256", "head_on_parent"})


def recipe_of_report(report: dict[str, Any] | None) -> Recipe:
    """The recipe a model version's report records; ValueError for a recipe key the benchmark does not know
    (a new way to embed faces: the cached vectors could not be derived honestly)."""
    from faceorg.versions.records import MIRROR_KEY

    report = report or {}
    unknown = sorted(k for k in report if k not in KNOWN_RECIPE_KEYS | {MIRROR_KEY})
    if unknown:
        raise ValueError(f"the app's embedding recipe has keys the effort benchmark cannot derive: {unknown}")
    return "mirror" if report.get(MIRROR_KEY) else "plain"


def fresh_recipe() -> Recipe:
    """The recipe a fresh scan on this checkout embeds with (the version a new library registers)."""
    import tempfile

    from faceorg.versions.records import ensure_base_version

    with tempfile.TemporaryDirectory(prefix="effort-recipe-") as tmp, open_library(Path(tmp) / "new.sqlite") as lib:
        return recipe_of_report(ensure_base_version(lib).report)


def stored_recipe(db: Path) -> Recipe:
    """The recipe of the active model version of a library file (read only; the file is not migrated)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT report FROM model_versions WHERE active = 1").fetchone()
    finally:
        con.close()
    if row is None:
        raise ValueError(f"{db} has no active model version")
    return recipe_of_report(json.loads(row[0]) if row[0] else None)


def use_recipe(library: Library, recipe: Recipe, progress: Progress | None = None) -> None:
    """Re-embed every face of ``library`` under ``recipe`` through the app (a version of the active model
    with that recipe, switched to as ``faceorg models use`` does), then forget the grouping it made."""
    from faceorg.retrain.install import use_mirror_average, use_version
    from faceorg.versions.records import MIRROR_KEY, active_version

    active = active_version(library)
    if active is None:
        raise ValueError("no model version: nothing was scanned")
    if recipe_of_report(active.report) != recipe:
        if recipe == "mirror":
            use_mirror_average(library, progress)
        else:
            name = f"{active.name}-plain"
            with library.transaction() as s:
                s.add(ModelVersion(
                    name=name, kind=active.kind, file_name=active.file_name, sha256=active.sha256,
                    parent_id=active.id, active=False, runtime_file=active.runtime_file,
                    runtime_sha256=active.runtime_sha256,
                    report={k: v for k, v in (active.report or {}).items() if k != MIRROR_KEY}))
            use_version(library, name, progress)
    with library.transaction() as s:  # back to a scanned library nobody has grouped yet
        for table in (Assignment, FaceNotPerson, CannotLink, PromptAnswer, FaceNameOrigin, Operation, Person):
            s.execute(delete(table))


def with_recipe(db: Path, recipe: Recipe, say: Say) -> Path:
    """The scanned library ``db`` with its faces embedded under ``recipe`` (and migrated to this checkout's
    schema), cached beside it as ``<db stem>-<recipe>.sqlite`` (made once: ~80 CPU-s for LFW's mirror)."""
    target = db.with_name(f"{db.stem}-{recipe}.sqlite")
    if target.is_file():
        if stored_recipe(target) != recipe:  # never run on vectors the name does not describe
            raise ValueError(f"{target} does not hold the {recipe} recipe its name says")
        say(f"cached {recipe} recipe {target}")
        return target
    partial = target.with_name(target.name + ".partial")
    _remove(partial)
    models = db.with_name(db.name + ".models")
    if models.is_dir():
        shutil.copytree(models, partial.with_name(partial.name + ".models"), dirs_exist_ok=True)
    copy_database(db, partial)
    start = time.perf_counter()
    with open_library(partial) as library:
        use_recipe(library, recipe, progress_to(say, f"{target.stem}: {recipe} recipe"))
    if stored_recipe(partial) != recipe:
        raise ValueError(f"{partial} did not take the {recipe} recipe")
    copy_database(partial, target.with_name(target.name + ".tmp"))
    shutil.rmtree(target.with_name(target.name + ".models"), ignore_errors=True)
    if partial.with_name(partial.name + ".models").is_dir():
        partial.with_name(partial.name + ".models").rename(target.with_name(target.name + ".models"))
    _remove(partial)
    target.with_name(target.name + ".tmp").rename(target)
    say(f"{target.stem}: faces embedded under the {recipe} recipe in {time.perf_counter() - start:.0f} s")
    return target


def _remove(db: Path) -> None:
    """A database file, its WAL, its migration backups and its model folder."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    for backup in db.parent.glob(f"{db.name}.backup-*"):
        backup.unlink(missing_ok=True)
    shutil.rmtree(db.with_name(db.name + ".models"), ignore_errors=True)


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
