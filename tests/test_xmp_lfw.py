"""A library of LFW photos with names in sidecars for 20 people: every name lands on the right face, and
retraining runs on the imported names alone."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from faceorg.jobs.retrain_job import retrain_library
from faceorg.people.xmp_import import import_names
from faceorg.pipeline.factory import analyzer_for_library
from faceorg.scan.scanner import scan_library
from faceorg.store import open_library
from faceorg.store.folders import add_folder
from faceorg.store.models import Assignment, AssignmentSource, Face, Person, Photo
from tests.xmpgen import FACE_IN_TILE, TILE, exiftool, mp_arg, mwg_arg

PEOPLE = 20
PER_PERSON = 6


@pytest.mark.slow
def test_lfw_names_from_sidecars_import_onto_the_right_faces_and_train(
        shared_data: Path, models_dir: Path, tmp_path: Path) -> None:
    images = shared_data / "lfw" / "images"
    people = [p for p in sorted(images.iterdir()) if len(list(p.glob("*.jpg"))) >= PER_PERSON][:PEOPLE]
    folder = tmp_path / "photos"
    folder.mkdir()
    box = tuple(v / TILE for v in FACE_IN_TILE)
    args: list[str] = []
    truth: dict[str, str] = {}
    for person in people:
        name = person.name.replace("_", " ")
        for i, src in enumerate(sorted(person.glob("*.jpg"))[:PER_PERSON]):
            photo = folder / src.name
            shutil.copy(src, photo)
            truth[photo.name] = name
            # digiKam-style photo.jpg.xmp with MWG regions, Lightroom-style photo.xmp with MP regions, and
            # names in the photo itself, in turn
            if i % 3 == 0:
                args += [mwg_arg([name], [box], (TILE, TILE)), str(photo) + ".xmp"]
            elif i % 3 == 1:
                args += [mp_arg([name], [box]), str(photo.with_suffix(".xmp"))]
            else:
                args += ["-overwrite_original", mwg_arg([name], [box], (TILE, TILE)), str(photo)]
            args.append("-execute")
    (tmp_path / "args.txt").write_text("\n".join(args) + "\n", encoding="utf-8")
    done = subprocess.run([exiftool(), "-q", "-q", "-@", str(tmp_path / "args.txt")], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    with open_library(tmp_path / "lib.sqlite") as library:
        add_folder(library, folder)
        scan_library(library, analyzer=analyzer_for_library(library))
        report = import_names(library)
        assert report.conflicts == [] and report.problems == [] and report.new_faces == []
        assert len(report.imported) == PEOPLE * PER_PERSON
        with library.session() as s:
            rows = s.execute(select(Photo.path, Face.x, Face.w, Person.name, Assignment.source)
                             .join(Face, Face.photo_id == Photo.id)
                             .join(Assignment, Assignment.face_id == Face.id)
                             .join(Person, Person.id == Assignment.person_id)).all()
        named = {(Path(path).name, name) for path, _, _, name, source in rows if source is AssignmentSource.USER}
        assert named == set(truth.items())  # every photo's name on a face of that photo, and nothing else
        for path, x, w, _name, source in rows:  # ... the centred face, not someone at the edge
            if source is AssignmentSource.USER:
                assert abs(x + w / 2 - TILE / 2) < 25, (path, x, w)
        job = retrain_library(library, depth="quick", dry_run=True)
        training = job.retrain.training
        # it learned from exactly the imported names, and checked the result on held-out imported faces
        assert (training["people"], training["labelled_faces"]) == (PEOPLE, PEOPLE * PER_PERSON), training
        assert job.retrain.before and job.retrain.after and job.retrain.dry_run
