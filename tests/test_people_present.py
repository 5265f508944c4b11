"""What the people views count and show: only faces of photos still on disk, and a cover that is one
of the person's current faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, update

from faceorg.people import ops
from faceorg.people.gui_support import best_faces, face_cards_by_status, face_cards_of_person, person_cards
from faceorg.people.queries import faces_by_status, faces_of_person, list_people, review_queue
from faceorg.store import Library
from faceorg.store.models import Assignment, AssignmentSource, Person, Photo, PhotoStatus
from tests.libgen import make_library


@pytest.fixture()
def lib(tmp_path: Path, db_location: Path | str) -> tuple[Library, list[list[int]], int]:
    """Person "Ann" with faces of photos 0-3 (user) and the first face of photo 4 (automatic, the better
    quality); unknown faces in photos 5-6; photo 4 holds a second, unknown face."""
    rng = np.random.default_rng(1)
    photos = [[rng.normal(size=8)] for _ in range(4)] + [[rng.normal(size=8), rng.normal(size=8)]] + \
        [[rng.normal(size=8)] for _ in range(2)]
    qualities = [[0.5]] * 4 + [[0.9, 0.4]] + [[0.5]] * 2
    library, ids = make_library(db_location, photos, qualities=qualities)
    with library.transaction() as s:
        ann = Person(name="Ann")
        s.add(ann)
        s.flush()
        for k in range(4):
            s.add(Assignment(face_id=ids[k][0], person_id=ann.id, source=AssignmentSource.USER))
        s.add(Assignment(face_id=ids[4][0], person_id=ann.id, source=AssignmentSource.AUTO, strength=0.4))
        pid = ann.id
    yield library, ids, pid
    library.close()


def set_missing(library: Library, photo_index: int) -> None:
    with library.transaction() as s:
        photo_id = sorted(s.scalars(select(Photo.id)))[photo_index]
        s.execute(update(Photo).where(Photo.id == photo_id).values(status=PhotoStatus.MISSING))


def test_faces_of_missing_photos_count_for_no_one(lib: tuple[Library, list[list[int]], int]) -> None:
    library, ids, ann = lib
    set_missing(library, 0)  # one of Ann's photos was deleted from disk
    set_missing(library, 5)  # and one with an unknown face
    present = [ids[k][0] for k in (1, 2, 3, 4)]
    assert list_people(library)[0].face_count == 4
    assert person_cards(library)[0].face_count == 4
    assert sorted(f.id for f in faces_of_person(library, ann)) == sorted(present)
    assert sorted(c.id for c in face_cards_of_person(library, ann)) == sorted(present)
    assert ids[5][0] not in [c.id for c in face_cards_by_status(library, None)]
    assert ids[5][0] not in [f.id for f in faces_by_status(library, None)]
    assert ids[6][0] in [c.id for c in face_cards_by_status(library, None)]
    set_missing(library, 4)  # the best face's photo goes too: the cover is the best present face
    assert best_faces(library, [ann])[ann] in {ids[k][0] for k in (1, 2, 3)}
    assert list_people(library)[0].cover_face_id in {ids[k][0] for k in (1, 2, 3)}
    assert all(f.photo_id != ids[4][0] for f in review_queue(library))


def test_an_unnamed_group_of_missing_photos_is_not_shown(lib: tuple[Library, list[list[int]], int]) -> None:
    library, ids, _ann = lib
    with library.transaction() as s:
        group = Person()
        s.add(group)
        s.flush()
        s.add(Assignment(face_id=ids[6][0], person_id=group.id, source=AssignmentSource.AUTO, strength=0.5))
        gid = group.id
    assert gid in [c.id for c in person_cards(library)]
    set_missing(library, 6)
    assert gid not in [c.id for c in person_cards(library)] and gid not in [p.id for p in list_people(library)]


def test_the_cover_is_always_one_of_the_persons_current_faces(lib: tuple[Library, list[list[int]], int]) -> None:
    library, ids, ann = lib
    auto_face = ids[4][0]
    ops.set_cover(library, ann, auto_face)
    assert person_cards(library)[0].cover_face_id == auto_face
    # The user gives the other face of the same photo to Ann: the automatic face leaves her.
    ops.assign_faces_to_name(library, [ids[4][1]], "Ann")
    mine = {f.id for f in faces_of_person(library, ann)}
    assert auto_face not in mine
    assert person_cards(library)[0].cover_face_id in (None, *mine)
    assert list_people(library)[0].cover_face_id in mine
    # A cover moved away by something that does not clear it (an automatic regrouping, an old library).
    ops.undo(library)
    ops.set_cover(library, ann, ids[1][0])
    with library.transaction() as s:
        other = Person()
        s.add(other)
        s.flush()
        s.execute(update(Assignment).where(Assignment.face_id == ids[1][0]).values(person_id=other.id))
    mine = {f.id for f in faces_of_person(library, ann)}
    assert person_cards(library, [ann])[0].cover_face_id in (None, *mine)
    assert list_people(library)[0].cover_face_id in mine
    # A cover whose photo went missing is no cover either.
    ops.set_cover(library, ann, ids[2][0])
    set_missing(library, 2)
    assert person_cards(library, [ann])[0].cover_face_id is None
    assert list_people(library)[0].cover_face_id != ids[2][0]
