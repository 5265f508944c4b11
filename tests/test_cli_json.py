"""Every CLI command with ``--json`` prints exactly one JSON document on stdout, and nothing of
onnxruntime's own on stderr.

The commands are read from the argument parser, so a new command with ``--json`` is run here too: one
that needs arguments gets them from ``RECIPES`` (and fails here, saying so, until it has one). Each runs
as a subprocess (stdout is a file descriptor there: C code and ``print`` alike would show) on a copy of
a small real library scanned from a few real photos.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from faceorg.cli.main import build_parser
from tests.conftest import INSTALLED_MODELS

REPO = Path(__file__).resolve().parents[1]
PEOPLE = ["Colin_Powell", "Tony_Blair", "Donald_Rumsfeld", "Gerhard_Schroeder"]


def json_commands() -> list[str]:
    """Every (sub)command of ``faceorg`` that takes ``--json``, as space-separated words."""
    found: list[str] = []

    def walk(parser: argparse.ArgumentParser, words: list[str]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if subs:
            for name, child in subs[0].choices.items():
                walk(child, [*words, name])
        elif any("--json" in a.option_strings for a in parser._actions):
            found.append(" ".join(words))

    walk(build_parser(), [])
    return found


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``faceorg --db DB ARGS`` in a subprocess, with the data folder beside the database."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["FACEORG_DATA_DIR"] = str(db.parent / "data")
    env["FACEORG_MODELS_DIR"] = str(INSTALLED_MODELS)
    env.pop("FACEORG_GPU", None)  # the machine decides, as for a user
    return subprocess.run([sys.executable, "-m", "faceorg", "--db", str(db), *args], check=False, capture_output=True,
                          text=True, cwd=REPO, timeout=600, env=env)


def ok_json(proc: subprocess.CompletedProcess[str]) -> object:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@dataclass
class Library:
    """The scanned template library and what the recipes need from it."""

    db: Path
    work: Path
    shared: Path
    people: list[int]  # person ids, biggest first
    faces: dict[int, list[int]]  # person id -> its face ids
    photos: list[int]
    truth: dict[str, list[int]]  # LFW name -> the biggest face of each of that person's photos

    def copy(self, to: Path) -> Path:
        for suffix in ("", "-wal", "-shm"):
            src = Path(f"{self.db}{suffix}")
            if src.exists():
                shutil.copy(src, f"{to}{suffix}")
        return to


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, shared_data: Path, models_dir: Path) -> Library:
    work = tmp_path_factory.mktemp("json_cli")
    photos = work / "photos"
    photos.mkdir()
    for n, person in enumerate(PEOPLE):
        for src in sorted((shared_data / "lfw" / "images" / person).glob("*.jpg"))[:6 if n < 2 else 3]:
            shutil.copy(src, photos / src.name)
    db = work / "lib.sqlite"
    proc = cli(db, "scan", str(photos))
    assert proc.returncode == 0, proc.stderr
    people = ok_json(cli(db, "people", "list", "--json"))
    assert isinstance(people, list) and len(people) >= 2, people
    people.sort(key=lambda p: -p["face_count"])
    ids = [p["id"] for p in people]
    listed = {pid: ok_json(cli(db, "faces", "list", "--person", str(pid), "--json")) for pid in ids[:2]}
    faces = {pid: [f["id"] for f in rows] for pid, rows in listed.items()}  # type: ignore[attr-defined]
    photo_ids = sorted({f["photo_id"] for rows in listed.values() for f in rows})  # type: ignore[attr-defined]
    truth: dict[str, list[int]] = {person: [] for person in PEOPLE}
    for photo in ok_json(cli(db, "export", "--json"))["photos"]:  # type: ignore[index]
        person = Path(photo["path"]).stem.rsplit("_", 1)[0]
        if photo["faces"]:
            truth[person].append(max(photo["faces"], key=lambda f: f["box"][2] * f["box"][3])["id"])
    return Library(db, work, shared_data, ids, faces, photo_ids, truth)


def mini_lfw(lib: Library, dest: Path) -> Path:
    """An LFW-shaped folder: 4 people x 2 photos, ``pairs.txt`` with 2 folds of 2 same + 2 different."""
    images = dest / "images"
    for person in PEOPLE:
        (images / person).mkdir(parents=True, exist_ok=True)
        for n in (1, 2):
            name = f"{person}_{n:04d}.jpg"
            shutil.copy(lib.shared / "lfw" / "images" / person / name, images / person / name)
    a, b, c, d = PEOPLE
    lines = ["2 2", f"{a} 1 2", f"{b} 1 2", f"{a} 1 {b} 2", f"{c} 1 {d} 1",
             f"{c} 1 2", f"{d} 1 2", f"{a} 2 {c} 2", f"{b} 1 {d} 2"]
    (dest / "pairs.txt").write_text("\n".join(lines) + "\n")
    return dest


def new_photos(lib: Library, dest: Path) -> Path:
    dest.mkdir()
    for person in PEOPLE[:2]:
        src = sorted((lib.shared / "lfw" / "images" / person).glob("*.jpg"))[6]
        shutil.copy(src, dest / src.name)
    return dest


def open_question(lib: Library, tmp: Path) -> str:
    """Leave the biggest group of the test's copy (``tmp/lib.sqlite``) in two pieces, as a grouping may,
    and return the "same person?" question that follows."""
    from sqlalchemy import update

    from faceorg.people.prompts import list_questions
    from faceorg.store import open_library
    from faceorg.store.models import Assignment, Person

    faces = lib.faces[lib.people[0]]
    with open_library(tmp / "lib.sqlite") as copy:
        with copy.transaction() as s:
            piece = Person()
            s.add(piece)
            s.flush()
            s.execute(update(Assignment).where(Assignment.face_id.in_(faces[len(faces) // 2:]))
                      .values(person_id=piece.id))
        return next(q.id for q in list_questions(copy) if q.kind == "same_person")


def suggested_face(lib: Library, tmp: Path) -> list[str]:
    """Name the biggest group of the test's copy (``tmp/lib.sqlite``) and leave one of its faces waiting as a
    suggestion, as a grouping after naming does; no arguments (the faces commands take every such face)."""
    from sqlalchemy import update

    from faceorg.store import open_library
    from faceorg.store.models import Assignment, AssignmentSource, Person

    faces = lib.faces[lib.people[0]]
    with open_library(tmp / "lib.sqlite") as copy, copy.transaction() as s:
        s.execute(update(Person).where(Person.id == lib.people[0]).values(name="Ada"))
        s.execute(update(Assignment).where(Assignment.face_id == faces[-1])
                  .values(source=AssignmentSource.SUGGESTED, distance=0.3))
    return []


def drawn_face(lib: Library, tmp: Path) -> str:
    """Draw a face in a corner of a photo of the test's copy (``tmp/lib.sqlite``); its id."""
    record = ok_json(cli(tmp / "lib.sqlite", "faces", "add", str(lib.photos[0]), "--box", "0,0,40,40", "--json"))
    return str(record["faces_added"][0])  # type: ignore[index]


# For each command that needs more than `--json`: (commands to run first, the command's own arguments).
Recipe = Callable[[Library, Path], tuple[list[list[str]], list[str]]]
P, F = "people", "faces"
RECIPES: dict[str, Recipe] = {
    "scan": lambda lib, tmp: ([], [str(new_photos(lib, tmp / "new"))]),
    "models use": lambda lib, tmp: ([], ["dlib-v1"]),
    "eval lfw": lambda lib, tmp: ([], ["--data", str(mini_lfw(lib, tmp / "lfw"))]),
    "eval cluster": lambda lib, tmp: ([], ["--data", str(mini_lfw(lib, tmp / "lfw"))]),
    "eval detect": lambda lib, tmp: ([], ["--data", str(lib.shared / "photos-annotated")]),
    "people name": lambda lib, tmp: ([], [str(lib.people[0]), "Ada"]),
    "people merge": lambda lib, tmp: ([], [str(lib.people[0]), str(lib.people[1])]),
    "people split": lambda lib, tmp: ([], [str(lib.faces[lib.people[0]][0]), "--name", "Ada"]),
    "people hide": lambda lib, tmp: ([], [str(lib.people[0])]),
    "people cover": lambda lib, tmp: ([], [str(lib.people[0]), str(lib.faces[lib.people[0]][-1])]),
    "people delete": lambda lib, tmp: ([], [str(lib.people[0])]),
    "people accept-suggestions": lambda lib, tmp: ([], [str(lib.people[0])]),
    "review answer": lambda lib, tmp: ([], [open_question(lib, tmp), "yes"]),
    "faces list": lambda lib, tmp: ([], ["--person", str(lib.people[0])]),
    "faces move": lambda lib, tmp: ([], [str(lib.faces[lib.people[0]][0]), "--to", str(lib.people[1])]),
    "faces reject": lambda lib, tmp: ([], [str(lib.faces[lib.people[0]][0])]),
    "faces ignore": lambda lib, tmp: ([], [str(lib.faces[lib.people[0]][0])]),
    "faces not-face": lambda lib, tmp: ([], [str(lib.faces[lib.people[0]][0])]),
    "faces restore": lambda lib, tmp: ([[F, "ignore", str(lib.faces[lib.people[0]][0])]],
                                       [str(lib.faces[lib.people[0]][0])]),
    "faces accept": lambda lib, tmp: ([], [str(lib.faces[lib.people[0]][0])]),
    "faces confirm": lambda lib, tmp: ([], [str(lib.faces[lib.people[0]][0])]),
    "faces accept-all": lambda lib, tmp: ([], suggested_face(lib, tmp)),
    "faces confirm-all": lambda lib, tmp: ([], suggested_face(lib, tmp)),
    "faces different": lambda lib, tmp: ([], [str(lib.faces[lib.people[0]][0]), str(lib.faces[lib.people[1]][0])]),
    "faces add": lambda lib, tmp: ([], [str(lib.photos[0]), "--box", "0,0,40,40", "--name", "Ada"]),
    "faces resize": lambda lib, tmp: ([], [drawn_face(lib, tmp), "--box", "0,0,50,50"]),
    "faces remove": lambda lib, tmp: ([], [drawn_face(lib, tmp)]),
    "photos list": lambda lib, tmp: ([], ["--person", str(lib.people[0]), "--person", str(lib.people[1])]),
    "photos copy": lambda lib, tmp: ([], ["--person", str(lib.people[0]), "--to", str(tmp / "copies")]),
    "photos show": lambda lib, tmp: ([], [str(lib.photos[0])]),
    "photos collage": lambda lib, tmp: ([], [str(lib.photos[0])]),
    "photos ignore-strangers": lambda lib, tmp: ([], [str(lib.photos[0])]),
    "undo": lambda lib, tmp: ([[P, "name", str(lib.people[0]), "Ada"]], []),
    "redo": lambda lib, tmp: ([[P, "name", str(lib.people[0]), "Ada"], ["undo"]], []),
    "train": lambda lib, tmp: ([[F, "move", *map(str, lib.truth[person]), "--name", person] for person in PEOPLE[:2]],
                               ["--dry-run"]),
}


def test_every_json_command_is_listed() -> None:
    """The enumeration itself finds the known commands (a parser change cannot make it find none)."""
    commands = json_commands()
    assert {"scan", "status", "models list", "eval detect", "people list", "export"} <= set(commands)


@pytest.mark.parametrize("command", json_commands())
def test_json_stdout_is_one_document(command: str, library: Library, tmp_path: Path) -> None:
    db = library.copy(tmp_path / "lib.sqlite")
    before, args = RECIPES[command](library, tmp_path) if command in RECIPES else ([], [])
    for step in before:
        assert cli(db, *step).returncode == 0, step
    proc = cli(db, *command.split(), *args, "--json")
    assert proc.returncode == 0, (f"`faceorg {command} --json` failed; if it needs arguments, add a recipe "
                                  f"to RECIPES in {Path(__file__).name}:\n{proc.stderr}")
    try:
        json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        pytest.fail(f"`faceorg {command} --json` stdout is not one JSON document ({exc}):\n{proc.stdout[:2000]}")
    assert "[E:onnxruntime" not in proc.stderr and "[W:onnxruntime" not in proc.stderr, proc.stderr


def test_recipes_name_real_commands() -> None:
    assert set(RECIPES) <= set(json_commands())
