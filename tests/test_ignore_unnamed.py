"""Strangers all at once: "Ignore unnamed groups" ignores every unnamed group of two or more faces in one
undoable action, keeps named people, faces in no group and groups holding a face the user placed; the CLI's
`faceorg people ignore-unnamed` does the same (one JSON change record) and says plainly when nothing is left."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from faceorg.people import ops
from faceorg.store import Library
from faceorg.store.models import Assignment, AssignmentSource, Face, FaceStatus, Person
from tests.clirun import run_cli
from tests.libgen import two_groups_library


def statuses(lib: Library) -> dict[int, str]:
    with lib.session() as s:
        return {f: st.value for f, st in s.execute(select(Face.id, Face.status))}


def groups(lib: Library) -> list[int]:
    with lib.session() as s:
        return sorted(s.scalars(select(Person.id)))


@pytest.fixture()
def lib(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Group A (faces 0-3) named Ann, group B (faces 4-7) unnamed, faces 8-9 and the pair in no group, and
    a third, unnamed group of one face (face 8)."""
    library, ids = two_groups_library(tmp_path / "lib.sqlite")
    f = [row[0] for row in ids]
    people = groups(library)
    ops.name_person(library, people[0], "Ann")
    with library.transaction() as s:
        one = Person()
        s.add(one)
        s.flush()
        s.add(Assignment(face_id=f[8], person_id=one.id, source=AssignmentSource.AUTO, strength=0.5))
    yield library, ids, people
    library.close()


def test_ignores_unnamed_groups_only_and_undo_brings_them_back(lib) -> None:  # type: ignore[no-untyped-def]
    library, ids, (ann, unnamed) = lib
    f = [row[0] for row in ids]
    before = statuses(library)
    cs = ops.ignore_unnamed_groups(library)
    after = statuses(library)
    assert {k for k in after if after[k] != before[k]} == set(f[4:8])  # group B only
    assert all(after[k] == FaceStatus.IGNORED.value for k in f[4:8])
    assert set(cs.faces_changed) == set(f[4:8]) and unnamed in cs.people_removed
    assert after[f[0]] == "normal" and after[f[8]] == "normal" and after[f[9]] == "normal"  # Ann, one face, none
    assert cs.label == "Ignore 1 unnamed group"
    ops.undo(library)
    assert statuses(library) == before
    assert unnamed in groups(library)
    with library.session() as s:
        assert len(list(s.scalars(select(Assignment.face_id).where(Assignment.person_id == unnamed)))) == 4


def test_min_faces_one_takes_single_face_groups_too(lib) -> None:  # type: ignore[no-untyped-def]
    library, ids, _ = lib
    f = [row[0] for row in ids]
    ops.ignore_unnamed_groups(library, min_faces=1)
    after = statuses(library)
    assert {k for k, v in after.items() if v == "ignored"} == set(f[4:9])


def test_a_group_holding_a_face_the_user_placed_is_kept(lib) -> None:  # type: ignore[no-untyped-def]
    library, ids, (_, unnamed) = lib
    f = [row[0] for row in ids]
    ops.confirm_faces(library, [f[4]])  # the user said face 4 belongs with this group
    with pytest.raises(Exception, match="no unnamed groups to ignore"):
        ops.ignore_unnamed_groups(library)
    assert statuses(library)[f[5]] == "normal"


def test_cli_ignore_unnamed(lib, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    library, ids, _ = lib
    f = [row[0] for row in ids]
    path = str(library.path)
    library.close()
    code, out, err = run_cli(capsys, "--db", path, "people", "ignore-unnamed", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert sorted(record["faces_changed"]) == sorted(f[4:8])
    code, out, err = run_cli(capsys, "--db", path, "people", "ignore-unnamed")
    assert code == 1 and out == "" and err.strip() == "faceorg: error: there are no unnamed groups to ignore"
    code, out, err = run_cli(capsys, "--db", path, "undo")
    assert code == 0 and "Ignore 1 unnamed group" in out
