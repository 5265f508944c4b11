"""Person names: control characters and invisible-only names are refused by the one check every path
uses; names already in a database are printed safely by the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from faceorg.cli.main import main
from faceorg.errors import FaceorgError
from faceorg.people import ops
from faceorg.people.names import clean_name
from faceorg.store import Library
from faceorg.store.models import Assignment, AssignmentSource, Person
from tests.libgen import make_library

TITLE_ATTACK = "\x1b]0;pwned\x07"  # an OSC sequence: sets the terminal's title
BAD_NAMES = {
    "escape sequence": TITLE_ATTACK,
    "bell inside": "Ada\x07Lovelace",
    "C1 control": "Ada\x9b2J",
    "zero-width only": "\u200b\u200c\u200d",
    "format only": "\ufeff\u2060",
    "combining mark only": "\u0301",
    "direction override": "Ada\u202eecalovel",
    "undecodable byte": "Ada\udcff",
}


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(FaceorgError, match="name"):
        clean_name(name)


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        ("  Ada \n Lovelace\t", "Ada Lovelace"),
        ("\u200bAda\u200b", "Ada"),  # invisible characters at the ends are dropped
        ("Zoe\u0301", "Zoé"),  # NFC
        ("\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f468\u200d\U0001f469\u200d\U0001f467"),  # ZWJ kept
        (
            "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627",
            "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627",
        ),  # ZWNJ kept
    ],
)
def test_good_names_are_cleaned(name: str, clean: str) -> None:
    assert clean_name(name) == clean


@pytest.fixture()
def lib(tmp_path: Path) -> tuple[Library, list[int], int]:
    rng = np.random.default_rng(0)
    library, ids = make_library(tmp_path / "lib.sqlite", [[rng.normal(size=8)] for _ in range(4)])
    with library.transaction() as s:
        person = Person()
        s.add(person)
        s.flush()
        for face in ids[:2]:
            s.add(Assignment(face_id=face[0], person_id=person.id, source=AssignmentSource.AUTO, strength=0.9))
        pid = person.id
    yield library, [f[0] for f in ids], pid
    library.close()


def test_every_naming_path_refuses(lib) -> None:  # type: ignore[no-untyped-def]
    library, faces, pid = lib
    calls = {
        "name_person": lambda: ops.name_person(library, pid, TITLE_ATTACK),
        "create_person": lambda: ops.create_person(library, TITLE_ATTACK),
        "split_faces": lambda: ops.split_faces(library, [faces[0]], TITLE_ATTACK),
        "assign_faces_to_name": lambda: ops.assign_faces_to_name(library, [faces[3]], "\u200b"),
    }
    for what, call in calls.items():
        with pytest.raises(FaceorgError, match="name"):
            call()
        with library.session() as s:
            assert [p.name for p in s.query(Person)] == [None], what


@pytest.mark.parametrize(
    "command",
    [
        ["people", "name", "{pid}", TITLE_ATTACK],
        ["faces", "move", "{face}", "--name", TITLE_ATTACK],
        ["people", "split", "{face}", "--name", "\u200b\u200b"],
    ],
    ids=["people name", "faces move --name", "people split --name"],
)
def test_cli_refuses_with_one_clear_line(
    command: list[str],
    lib,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    library, faces, pid = lib
    args = [a.format(pid=pid, face=faces[0]) for a in command]
    assert main(["--db", str(library.path), *args]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("faceorg: error: a name") and err.count("\n") == 1
    assert "\x1b" not in err and "\x07" not in err


def test_cli_prints_stored_names_safely(lib, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """A name stored before names were checked (or by another program) cannot act on the terminal."""
    library, faces, pid = lib
    with library.transaction() as s:
        s.get(Person, pid).name = TITLE_ATTACK + "Ada\u202e"
    db = ["--db", str(library.path)]
    assert main([*db, "people", "list"]) == 0
    out = capsys.readouterr().out
    assert "\\x1b]0;pwned\\x07Ada\\u202e" in out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert main([*db, "faces", "list", "--person", str(pid)]) == 0
    out = capsys.readouterr().out
    assert "\\x1b]0;pwned" in out and "\x1b" not in out
    assert main([*db, "people", "list", "--json"]) == 0  # JSON keeps the exact name, escaped its own way
    listed = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in listed] == [TITLE_ATTACK + "Ada\u202e"]
