"""The incremental scanner: idempotent rescans, moves, missing files, bad input, resumable after a kill."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from faceorg.progress import Progress
from faceorg.scan.scanner import scan_library
from faceorg.store import Library, open_library
from faceorg.store.folders import add_folder
from faceorg.store.models import Photo, PhotoStatus
from tests.imagegen import decompression_bomb, quadrant_image, random_photo, save_with_orientation

REPO = Path(__file__).resolve().parents[1]


def photos_state(lib: Library) -> dict[str, tuple[int, str, str | None]]:
    with lib.session() as s:
        return {p.path: (p.id, p.status.value, p.content_hash) for p in s.scalars(select(Photo))}


@pytest.fixture()
def library(tmp_path: Path, db_location: Path | str) -> Library:
    lib = open_library(db_location)
    yield lib
    lib.close()


@pytest.fixture()
def album(tmp_path: Path) -> Path:
    root = tmp_path / "album"
    (root / "2020" / "summer").mkdir(parents=True)
    for i in range(4):
        random_photo(root / f"p{i}.jpg", seed=i)
    random_photo(root / "2020" / "a.png", fmt="PNG", seed=10)
    random_photo(root / "2020" / "summer" / "b.webp", fmt="WEBP", seed=11)
    save_with_orientation(quadrant_image(), root / "2020" / "rot.jpg", 6)
    (root / "notes.txt").write_text("not a photo, not an image extension")
    return root


def scan(lib: Library, **kw):  # type: ignore[no-untyped-def]
    return scan_library(lib, workers=2, batch_size=3, **kw)


def test_first_scan_and_idempotent_rescan(library: Library, album: Path) -> None:
    add_folder(library, album)
    first = scan(library)
    assert (first.new, first.failed, first.files_seen) == (7, 0, 7)
    before = photos_state(library)
    second = scan(library)
    assert (second.new, second.changed, second.moved, second.missing, second.unchanged) == (0, 0, 0, 0, 7)
    assert photos_state(library) == before
    with library.session() as s:
        rot = s.scalars(select(Photo).where(Photo.path.like("%rot.jpg"))).one()
        assert (rot.width, rot.height, rot.orientation) == (120, 80, 6)
        assert rot.taken_at is not None


def test_photos_are_never_modified(library: Library, album: Path) -> None:
    files = sorted(p for p in album.rglob("*") if p.is_file())
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}
    add_folder(library, album)
    scan(library)
    scan(library)
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files} == before
    assert sorted(p for p in album.rglob("*") if p.is_file()) == files


def test_move_and_rename_keep_the_record(library: Library, album: Path) -> None:
    add_folder(library, album)
    scan(library)
    ids = {Path(k).name: v[0] for k, v in photos_state(library).items()}
    (album / "2021").mkdir()
    shutil.move(album / "p0.jpg", album / "2021" / "moved.jpg")
    shutil.move(album / "p1.jpg", album / "renamed.jpg")
    summary = scan(library)
    assert (summary.moved, summary.new, summary.missing) == (2, 0, 0)
    after = {Path(k).name: v[0] for k, v in photos_state(library).items()}
    assert after["moved.jpg"] == ids["p0.jpg"] and after["renamed.jpg"] == ids["p1.jpg"]
    assert "p0.jpg" not in after


def test_move_after_it_was_marked_missing(library: Library, album: Path, tmp_path: Path) -> None:
    add_folder(library, album)
    scan(library)
    pid = {Path(k).name: v[0] for k, v in photos_state(library).items()}["p2.jpg"]
    shutil.move(album / "p2.jpg", tmp_path / "away.jpg")
    assert scan(library).missing == 1
    shutil.move(tmp_path / "away.jpg", album / "back-elsewhere.jpg")
    assert scan(library).moved == 1
    state = {Path(k).name: v for k, v in photos_state(library).items()}
    assert state["back-elsewhere.jpg"][:2] == (pid, "ok")


def test_deleted_file_is_marked_missing_then_returns(library: Library, album: Path, tmp_path: Path) -> None:
    add_folder(library, album)
    scan(library)
    keep = tmp_path / "keep.jpg"
    shutil.copy2(album / "p3.jpg", keep)
    (album / "p3.jpg").unlink()
    assert scan(library).missing == 1
    state = {Path(k).name: v for k, v in photos_state(library).items()}
    assert state["p3.jpg"][1] == "missing"
    shutil.copy2(keep, album / "p3.jpg")
    assert scan(library).returned == 1
    assert {Path(k).name: v for k, v in photos_state(library).items()}["p3.jpg"][1] == "ok"


def test_changed_file_is_rehashed(library: Library, album: Path) -> None:
    add_folder(library, album)
    scan(library)
    before = {Path(k).name: v for k, v in photos_state(library).items()}
    random_photo(album / "p0.jpg", seed=99)  # new content
    os.utime(album / "p1.jpg", ns=(1_000_000_000, 1_000_000_000))  # touched only
    summary = scan(library)
    assert summary.changed == 2 and summary.new == 0
    after = {Path(k).name: v for k, v in photos_state(library).items()}
    assert after["p0.jpg"][0] == before["p0.jpg"][0] and after["p0.jpg"][2] != before["p0.jpg"][2]
    assert after["p1.jpg"] == before["p1.jpg"]


def test_bad_input_is_recorded_and_skipped(library: Library, album: Path) -> None:
    good = (album / "p0.jpg").read_bytes()
    (album / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (album / "zero.jpg").write_bytes(b"")
    (album / "text.png").write_text("I am text with an image extension")
    (album / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(3000))
    decompression_bomb(album / "bomb.png")
    add_folder(library, album)
    summary = scan(library)
    assert summary.failed == 5 and summary.new == 12
    with library.session() as s:
        rows = s.scalars(select(Photo).where(Photo.status == PhotoStatus.FAILED))
        failed = {Path(p.path).name: p.error for p in rows}
    assert set(failed) == {"truncated.jpg", "zero.jpg", "text.png", "corrupt.jpg", "bomb.png"}
    assert "truncated" in failed["truncated.jpg"]
    assert "empty" in failed["zero.jpg"]
    assert "not an image" in failed["text.png"]
    assert "too large" in failed["bomb.png"]
    # Failed files are not retried until they change.
    assert scan(library).failed == 0


def test_unreadable_file_and_folder(library: Library, album: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = album / "locked"
    locked.mkdir()
    random_photo(locked / "x.jpg")
    random_photo(album / "secret.jpg")
    real_scandir, real_read = os.scandir, Path.read_bytes

    def scandir(path):  # type: ignore[no-untyped-def]
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    def read_bytes(self: Path) -> bytes:
        if self.name == "secret.jpg":
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    (album / "dangling.jpg").symlink_to(album / "does-not-exist.jpg")
    add_folder(library, album)
    summary = scan(library)
    messages = dict(summary.errors)
    assert "Permission denied" in messages[str(locked)]
    assert "Permission denied" in messages[str(album / "secret.jpg")]
    assert str(album / "dangling.jpg") in messages
    assert summary.failed == 1 and summary.new == 8


def test_hidden_and_cache_folders_ignored_and_symlink_loops_end(library: Library, album: Path) -> None:
    for name in (".hidden", "@eaDir", ".thumbnails"):
        (album / name).mkdir()
        random_photo(album / name / "cache.jpg")
    random_photo(album / ".dotfile.jpg")
    (album / "2020" / "loop").symlink_to(album, target_is_directory=True)
    add_folder(library, album)
    summary = scan(library)
    assert summary.files_seen == 7
    assert not any("cache.jpg" in p or ".dotfile" in p for p in photos_state(library))


def test_missing_library_folder_leaves_records_alone(library: Library, album: Path, tmp_path: Path) -> None:
    add_folder(library, album)
    scan(library)
    album.rename(tmp_path / "unplugged")
    summary = scan(library)
    assert summary.missing == 0 and summary.errors
    assert all(v[1] == "ok" for v in photos_state(library).values())


def test_cancel_keeps_finished_batches(library: Library, album: Path) -> None:
    add_folder(library, album)

    def cancel_after_first_batch(state) -> None:  # type: ignore[no-untyped-def]
        if state.stage == "Reading photos" and state.done >= 3:
            progress.cancel()

    progress = Progress(cancel_after_first_batch)
    summary = scan(library, progress=progress)
    assert summary.cancelled
    assert len(photos_state(library)) == 3  # the first batch of 3 was committed
    resumed = scan(library)
    assert not resumed.cancelled and resumed.new == 4
    assert len(photos_state(library)) == 7


def _make_many(root: Path, n: int) -> None:
    root.mkdir(parents=True)
    for i in range(n):
        random_photo(root / f"img{i:04d}.jpg", 640, 480, seed=i)


def _cli(db: Path, *args: str) -> subprocess.Popen:  # type: ignore[type-arg]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-m", "faceorg", "--db", str(db), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _rows(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute("SELECT path, status, content_hash FROM photos").fetchall())


@pytest.mark.slow
def test_killed_scan_resumes_to_the_same_state(tmp_path: Path) -> None:
    album = tmp_path / "many"
    _make_many(album, 400)
    killed_db, clean_db = tmp_path / "killed.sqlite", tmp_path / "clean.sqlite"
    proc = _cli(killed_db, "scan", str(album), "--no-faces", "--workers", "1", "--batch-size", "5")
    deadline = time.time() + 60
    count = 0
    while time.time() < deadline and proc.poll() is None:
        if killed_db.exists():
            try:
                with sqlite3.connect(killed_db, timeout=0.1) as conn:
                    count = conn.execute("SELECT count(*) FROM photos").fetchone()[0]
            except sqlite3.OperationalError:
                count = 0
            if count >= 40:
                break
        time.sleep(0.01)
    assert proc.poll() is None, "the scan finished before it could be killed; make it bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < len(_rows(killed_db)) < 400
    assert _cli(killed_db, "scan", "--no-faces").wait() == 0
    assert _cli(clean_db, "scan", str(album), "--no-faces").wait() == 0
    resumed, clean = _rows(killed_db), _rows(clean_db)
    assert len(resumed) == len({r[0] for r in resumed}) == 400
    assert resumed == clean


def test_photos_that_failed_for_a_passing_reason_are_retried(
    library: Library, album: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder moved away during a scan and back, a permission fixed: size and mtime are unchanged."""
    (album / "broken.jpg").write_bytes(b"not a jpeg")
    real_read = Path.read_bytes
    away = {
        "p1.jpg": FileNotFoundError(2, "No such file or directory"),
        "p2.jpg": PermissionError(13, "Permission denied"),
    }

    def read_bytes(self: Path) -> bytes:
        if self.name in away:
            raise away[self.name]
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    add_folder(library, album)
    first = scan(library)
    assert (first.failed, first.retried) == (3, 0)
    monkeypatch.undo()
    second = scan(library)
    assert (second.retried, second.recovered, second.failed) == (2, 2, 0)
    assert "2 failed before retried (2 now readable)" in second.one_line()
    state = {Path(p).name: status for p, (_, status, _) in photos_state(library).items()}
    assert state["p1.jpg"] == state["p2.jpg"] == "ok" and state["broken.jpg"] == "failed"
    # A broken file is read again only once it changes.
    assert (scan(library).retried, scan(library).unchanged) == (0, 8)
    (album / "broken.jpg").write_bytes(b"still not a jpeg, but changed")
    fourth = scan(library)
    assert (fourth.retried, fourth.recovered, fourth.failed, fourth.changed) == (1, 0, 1, 1)
