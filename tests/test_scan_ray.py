"""Face analysis on Ray workers (`faceorg scan --ray`): the same library as a local scan, nothing lost when
a worker or the driver is killed, progress in batches, and one clear line without Ray.

The Ray tests share one local Ray with 2 CPUs for the module (starting Ray takes seconds) and skip when Ray
is not installed (it is the optional extra ``faceorg[ray]``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faceorg.progress import Progress, ProgressState
from tests.clirun import run_cli
from tests.imagegen import random_photo

REPO = Path(__file__).resolve().parents[1]
HAVE_RAY = importlib.util.find_spec("ray") is not None
needs_ray = pytest.mark.skipif(not HAVE_RAY, reason="ray is not installed (the optional extra faceorg[ray])")


def _album(shared_data: Path, root: Path, people: int) -> Path:
    """Two LFW photos each of ``people`` people, a photo with no face and a broken file."""
    root.mkdir(parents=True)
    pairs = (sorted(p.glob("*.jpg"))[:2] for p in sorted((shared_data / "lfw" / "images").iterdir()))
    for pair in [pair for pair in pairs if len(pair) == 2][:people]:
        for photo in pair:
            shutil.copyfile(photo, root / photo.name)
    random_photo(root / "noface.jpg", 320, 240, seed=3)
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    return root


def _dump(db: Path) -> dict[str, list[Any]]:
    """What a scan stored, row by row: photos, faces, vectors, chips, groups."""
    with sqlite3.connect(db) as conn:
        def digest(rows: Any) -> list[tuple[Any, ...]]:
            return [tuple(hashlib.sha256(v).hexdigest() if isinstance(v, bytes) else v for v in row)
                    for row in rows]
        return {
            "photos": conn.execute("SELECT id, path, status, error, content_hash, width, height, faces_key, "
                                   "face_count FROM photos ORDER BY id").fetchall(),
            "faces": conn.execute("SELECT id, photo_id, x, y, w, h, landmarks, score, blur, quality FROM faces "
                                  "ORDER BY id").fetchall(),
            "embeddings": digest(conn.execute("SELECT face_id, model_version_id, vector, features FROM embeddings "
                                              "ORDER BY face_id")),
            "chips": digest(conn.execute("SELECT face_id, image FROM face_chips ORDER BY face_id")),
            "assignments": conn.execute("SELECT face_id, person_id, source FROM assignments "
                                        "ORDER BY face_id").fetchall(),
        }


def _scan(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``faceorg scan ... --json`` then ``faceorg export --json``, in this process."""
    code, out, err = run_cli(capsys, "--db", str(db), "scan", *args, "--batch-size", "4", "--json")
    assert code == 0, err
    scanned = json.loads(out)
    code, out, err = run_cli(capsys, "--db", str(db), "export", "--json")
    assert code == 0, err
    return scanned, json.loads(out)


@pytest.fixture(scope="module")
def album(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _album(shared_data, tmp_path_factory.mktemp("ray") / "album", 12)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    """One local Ray with 2 CPUs for the module; the backend uses it rather than starting its own."""
    if not HAVE_RAY:
        pytest.skip("ray is not installed (the optional extra faceorg[ray])")
    import ray

    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": path}})
    yield ray
    ray.shutdown()


@pytest.fixture()
def local_scan(album: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], models_dir: Path,
               ) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The export and stored rows of a scan of ``album`` in this process."""
    db = tmp_path / "local.sqlite"
    _, export = _scan(capsys, db, str(album))
    return export, _dump(db)


@needs_ray
@pytest.mark.slow
def test_ray_scan_stores_what_a_local_scan_stores(
    local_ray: Any, album: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    local_scan: tuple[dict[str, Any], dict[str, list[Any]]],
) -> None:
    db = tmp_path / "ray.sqlite"
    scanned, export = _scan(capsys, db, str(album), "--ray", "auto", "--ray-workers", "2")
    assert scanned["remote"]["workers"] == 2
    assert scanned["remote"]["batches"] == scanned["remote"]["batches_done"] == 7  # 26 photos, 4 a batch
    assert (scanned["new"], scanned["failed"], scanned["analyzed"]) == (26, 1, 25)
    local_export, local_rows = local_scan
    assert scanned["faces_found"] == sum(len(p["faces"]) for p in local_export["photos"]) > 24
    assert export == local_export
    assert _dump(db) == local_rows
    # A second Ray scan finds nothing to do, like a local rescan, and starts no worker.
    again, _ = _scan(capsys, db, "--ray", "auto", "--ray-workers", "2")
    assert (again["new"], again["analyzed"], again["unchanged"]) == (0, 0, 26)
    assert (again["remote"]["batches"], again["remote"]["workers"]) == (0, 0)


@needs_ray
@pytest.mark.slow
def test_a_worker_killed_mid_scan_loses_nothing(
    local_ray: Any, album: Path, tmp_path: Path, models_dir: Path,
    local_scan: tuple[dict[str, Any], dict[str, list[Any]]],
) -> None:
    """One worker's process is killed after the first batch: its batches go to the others, and the library
    ends up exactly as after a local scan. The progress says "N/7 batches on 2 workers"."""
    from faceorg.jobs import scan_and_group
    from faceorg.scan import ray_backend
    from faceorg.store import open_library
    from faceorg.store.folders import add_folder

    backends: list[ray_backend.RayBackend] = []
    make = ray_backend.ray_backend

    def keep(*args: Any, **kwargs: Any) -> ray_backend.RayBackend:
        backends.append(make(*args, **kwargs))
        return backends[-1]

    messages: list[str] = []
    killed: list[int] = []

    def listen(state: ProgressState) -> None:
        messages.append(state.message)
        if state.message.startswith("1/") and not killed:
            killed.append(backends[0].worker_pids[0])
            os.kill(killed[0], signal.SIGKILL)

    db = tmp_path / "killed.sqlite"
    library = open_library(db)
    try:
        add_folder(library, album)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(ray_backend, "ray_backend", keep)
            report = scan_and_group(library, Progress(listen), batch_size=4,
                                    ray=ray_backend.RayOptions("auto", workers=2))
    finally:
        library.close()
    assert killed, "the scan ended before a worker could be killed"
    remote = report.scan.remote
    assert remote is not None
    assert remote["workers_lost"] == 1 and remote["batches_retried"] >= 1
    assert "7/7 batches on 2 workers" in messages and "starting 2 Ray workers" in messages
    assert (report.scan.analyzed, report.scan.failed) == (25, 1)
    local_export, local_rows = local_scan
    assert _dump(db) == local_rows


def _cli(db: Path, *args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-m", "faceorg", "--db", str(db), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


@needs_ray
@pytest.mark.slow
def test_a_killed_ray_scan_is_resumed_by_the_next_scan(
    shared_data: Path, tmp_path: Path, models_dir: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """The driver (`faceorg scan --ray auto`) killed after some batches: a local scan finishes the work and
    the library is the same as after one uninterrupted local scan."""
    album = _album(shared_data, tmp_path / "album", 40)
    db = tmp_path / "killed.sqlite"
    proc = _cli(db, "scan", str(album), "--ray", "auto", "--ray-workers", "1", "--batch-size", "4",
                "--no-group")
    deadline, count = time.time() + 240, 0
    while time.time() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=0.1) as conn:
                    count = conn.execute("SELECT count(*) FROM photos WHERE faces_key IS NOT NULL").fetchone()[0]
            except sqlite3.OperationalError:
                count = 0
            if count >= 8:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "the scan finished before it could be killed; make it bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with contextlib.suppress(ProcessLookupError):  # the local Ray it started goes away by itself; sooner here
        os.killpg(proc.pid, signal.SIGKILL)
    assert 8 <= count < 81
    code, _, err = run_cli(capsys, "--db", str(db), "scan", "--json")
    assert code == 0, err
    clean = tmp_path / "clean.sqlite"
    code, _, err = run_cli(capsys, "--db", str(clean), "scan", str(album), "--json")
    assert code == 0, err
    resumed = _dump(db)["photos"]
    assert len(resumed) == 82 and sum(1 for row in resumed if row[7] is not None) == 81  # all but broken.jpg
    # Face ids follow the order the photos were analysed in: compare faces by photo path and box.
    assert _faces_by_path(db) == _faces_by_path(clean)


def _faces_by_path(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute(
            "SELECT p.path, p.status, p.content_hash, f.x, f.y, f.w, f.h, f.score, e.vector FROM photos p "
            "LEFT JOIN faces f ON f.photo_id = p.id LEFT JOIN embeddings e ON e.face_id = f.id").fetchall(),
            key=repr)


def test_without_ray_the_option_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if it were not installed
    (tmp_path / "album").mkdir()
    random_photo(tmp_path / "album" / "a.jpg", seed=1)
    code, out, err = run_cli(capsys, "--db", str(tmp_path / "lib.sqlite"), "scan", str(tmp_path / "album"),
                             "--ray", "auto")
    assert code == 1 and out == ""
    lines = [line for line in err.splitlines() if line.startswith("faceorg: error:")]
    assert lines and "pip install faceorg[ray]" in lines[0]
    assert "Traceback" not in err
    code, _, err = run_cli(capsys, "--db", str(tmp_path / "lib.sqlite"), "scan", "--ray-workers", "2")
    assert code == 1 and "faceorg: error: --ray-workers needs --ray" in err


@needs_ray
def test_an_unreachable_cluster_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], models_dir: Path,
) -> None:
    """Ray itself would retry for minutes; the scan says at once that nothing answers there."""
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "album").mkdir()
    random_photo(tmp_path / "album" / "a.jpg", seed=1)
    start = time.perf_counter()
    code, out, err = run_cli(capsys, "--db", str(tmp_path / "lib.sqlite"), "scan", str(tmp_path / "album"),
                             "--ray", f"127.0.0.1:{port}")
    assert code == 1 and out == "" and time.perf_counter() - start < 60
    assert f"faceorg: error: cannot reach the Ray cluster at 127.0.0.1:{port}" in err
