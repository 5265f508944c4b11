"""`faceorg people name ID NAME --take-out FACE...`: a group named with the faces that are not that person
taken out in the same step (one undo), on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faceorg.cli.main import main
from tests.libgen import two_groups_library


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_people_name_with_take_out(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "lib.sqlite"
    library, ids = two_groups_library(db)
    library.close()
    args = ["--db", str(db)]
    group = max(json.loads(run(capsys, *args, "people", "list", "--json")), key=lambda p: p["id"])
    faces = [f["id"] for f in json.loads(run(capsys, *args, "faces", "list", "--person", str(group["id"]), "--json"))]
    out = faces[:2]
    change = json.loads(run(capsys, *args, "people", "name", str(group["id"]), "Bea", "--take-out",
                            *map(str, out), "--json"))
    assert change["label"] == "Name “Bea” (2 faces taken out)" and set(out) <= set(change["faces_changed"])
    left = json.loads(run(capsys, *args, "faces", "list", "--person", str(group["id"]), "--json"))
    assert sorted(f["id"] for f in left) == sorted(faces[2:]) and {f["person_name"] for f in left} == {"Bea"}
    unsorted = {f["id"] for f in json.loads(run(capsys, *args, "faces", "list", "--unassigned", "--json"))}
    assert set(out) <= unsorted
    assert run(capsys, *args, "undo").startswith("Undo Name “Bea” (2 faces taken out)")
    assert len(json.loads(run(capsys, *args, "faces", "list", "--person", str(group["id"]), "--json"))) == len(faces)
    code = main([*args, "people", "name", str(group["id"]), "Bea", "--take-out", *map(str, faces)])
    assert code == 1 and "leaves nobody to name" in capsys.readouterr().err
    code = main([*args, "people", "name", str(group["id"]), "Bea", "--take-out", str(ids[8][0])])
    assert code == 1 and "does not belong to person" in capsys.readouterr().err
