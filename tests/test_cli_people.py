"""The people CLI end to end on a scanned folder of real faces: cluster, name, list, reject, undo, export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from faceorg.cli.main import main

PEOPLE = ["Colin_Powell", "Tony_Blair", "Donald_Rumsfeld"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_people_commands_end_to_end(capsys: pytest.CaptureFixture[str], shared_data: Path, models_dir: Path,
                                    tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for person in PEOPLE:
        for src in sorted((shared_data / "lfw" / "images" / person).glob("*.jpg"))[:6]:
            shutil.copy(src, photos / src.name)
    db = ["--db", str(tmp_path / "lib.sqlite")]
    out = run(capsys, *db, "scan", str(photos))
    assert "Grouped the new faces" in out
    run(capsys, *db, "cluster", "--full")
    versions = json.loads(run(capsys, *db, "models", "list", "--json"))["versions"]
    assert [(v["name"], v["precision"], v["active"]) for v in versions] == [("dlib-v1", "int8", True)]
    assert "runs as" in run(capsys, *db, "models", "list")
    people = json.loads(run(capsys, *db, "people", "list", "--json"))
    assert {"id", "name", "face_count", "cover_face_id", "hidden"} <= people[0].keys()
    biggest = max(people, key=lambda p: p["face_count"])
    assert biggest["face_count"] >= 5 and biggest["name"] is None

    run(capsys, *db, "people", "name", str(biggest["id"]), "Someone")
    faces = json.loads(run(capsys, *db, "faces", "list", "--person", str(biggest["id"]), "--json"))
    # Naming names the person; faces nobody looked at stay automatic until confirmed.
    assert {f["source"] for f in faces} == {"auto"} and faces[0]["person_name"] == "Someone"
    seen = [str(f["id"]) for f in faces[:2]]
    change = json.loads(run(capsys, *db, "faces", "confirm", *seen, "--json"))
    assert set(change["faces_changed"]) == {int(x) for x in seen} and change["label"] == "Confirm 2 faces"

    def sources() -> dict[str, str]:
        rows = json.loads(run(capsys, *db, "faces", "list", "--person", str(biggest["id"]), "--json"))
        return {str(f["id"]): f["source"] for f in rows}

    assert {i for i, src in sources().items() if src == "user"} == set(seen)
    assert run(capsys, *db, "undo").startswith("Undo Confirm 2 faces")
    assert set(sources().values()) == {"auto"}
    assert run(capsys, *db, "redo").startswith("Redo Confirm 2 faces")
    assert main([*db, "faces", "confirm", "999999"]) == 1
    assert capsys.readouterr().err.strip() == "faceorg: error: no face with id 999999"
    change = json.loads(run(capsys, *db, "faces", "reject", str(faces[-1]["id"]), "--json"))
    assert faces[-1]["id"] in change["faces_changed"]
    assert (
        len(json.loads(run(capsys, *db, "faces", "list", "--person", str(biggest["id"]), "--json"))) == len(faces) - 1
    )
    assert run(capsys, *db, "undo").startswith("Undo Not this person")
    assert len(json.loads(run(capsys, *db, "faces", "list", "--person", str(biggest["id"]), "--json"))) == len(faces)
    assert run(capsys, *db, "redo").startswith("Redo Not this person")
    run(capsys, *db, "people", "hide", str(biggest["id"]))
    assert all(p["id"] != biggest["id"] for p in json.loads(run(capsys, *db, "people", "list", "--json")))

    export = json.loads(run(capsys, *db, "export", "--json"))
    assert len(export["photos"]) == 18
    face = next(f for p in export["photos"] for f in p["faces"] if f["person_name"] == "Someone")
    assert {"id", "box", "landmarks", "score", "person_id", "person_name", "source"} <= face.keys()
    assert len(face["box"]) == 4 and len(face["landmarks"]) == 5
    status = json.loads(run(capsys, *db, "status", "--json"))
    assert status["named_people"] == 1 and status["faces"] >= 18
