"""The embedding recipe of new libraries: each face averaged with its mirror image. Libraries made before it
keep working as they were, and move to it in one step (every face re-embedded) that keeps every decision."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, update

from faceorg.embed.embedder import Embedder
from faceorg.errors import FaceorgError
from faceorg.people import ops
from faceorg.people.clustering import recluster
from faceorg.people.queries import faces_of_person, list_people
from faceorg.pipeline.analyzer import decode_chip
from faceorg.pipeline.factory import analyzer_for_library
from faceorg.retrain import install
from faceorg.scan.scanner import scan_library
from faceorg.store import Library, open_library
from faceorg.store.folders import add_folder
from faceorg.store.models import Assignment, AssignmentSource, Embedding, FaceChip, ModelVersion
from faceorg.vectors import l2_normalize
from faceorg.versions import ensure_base_version, runtime_model_path
from faceorg.versions.records import MIRROR_KEY, active_version, averages_mirror, onnx_head_weight
from tests.clirun import run_cli

PEOPLE = ["George_W_Bush", "Colin_Powell", "Tony_Blair"]


@pytest.fixture(scope="module")
def old_library(shared_data: Path, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library scanned and grouped the way faceorg did before the recipe (its base version without it)."""
    root = tmp_path_factory.mktemp("mirror")
    photos = root / "photos"
    photos.mkdir()
    for person in PEOPLE:
        for src in sorted((shared_data / "lfw" / "images" / person).glob("*.jpg"))[:5]:
            shutil.copy(src, photos / src.name)
    db = root / "old.sqlite"
    with open_library(db) as lib:
        base = ensure_base_version(lib)
        with lib.transaction() as s:  # as the base version was recorded before the recipe existed
            s.execute(update(ModelVersion).where(ModelVersion.id == base.id)
                      .values(report={"description": "dlib ResNet face recognition model, converted; runs as int8"}))
        add_folder(lib, photos)
        scan_library(lib, analyzer=analyzer_for_library(lib))
        recluster(lib)
    return db


@pytest.fixture()
def library(old_library: Path, tmp_path: Path) -> Library:
    db = tmp_path / "lib.sqlite"
    shutil.copy(old_library, db)
    shutil.copytree(old_library.with_name(old_library.name + ".models"), db.with_name(db.name + ".models"))
    lib = open_library(db)
    yield lib
    lib.close()


def stored(lib: Library, version_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Face ids, vectors and their decoded chips under one version, by face id."""
    with lib.session() as s:
        rows = s.execute(select(Embedding.face_id, Embedding.vector).where(Embedding.model_version_id == version_id)
                         .order_by(Embedding.face_id)).all()
        chips = dict(s.execute(select(FaceChip.face_id, FaceChip.image)).all())
    ids = np.array([f for f, _ in rows])
    vectors = np.stack([np.frombuffer(v, np.float32) for _, v in rows])
    return ids, vectors, np.stack([decode_chip(chips[int(f)]) for f in ids])


def test_mirror_averaging_is_the_last_layer_on_the_averaged_features(library: Library) -> None:
    """The real embedder: the features are the mean of the face's and its mirror image's, the embedding is the
    normalised sum of both, and it equals the last layer applied to the stored features (what head versions
    retrained from features rely on)."""
    version = active_version(library)
    path = runtime_model_path(library, version)
    _, _, chips = stored(library, version.id)
    plain, mirrored = Embedder(path, use_gpu=False), Embedder(path, use_gpu=False, mirror=True)
    e0, f0 = plain.embed(chips)
    e1, f1 = plain.embed(chips[:, :, ::-1])
    em, fm = mirrored.embed(chips)
    np.testing.assert_allclose(fm, (f0 + f1) / 2, atol=1e-5)
    weight = onnx_head_weight(path)
    np.testing.assert_allclose(em, l2_normalize(fm @ weight.T), atol=1e-5)
    assert np.all(np.sum(em * e0, axis=1) < 1 - 1e-4)  # a different vector from the plain one


def test_new_libraries_use_the_recipe_and_workers_get_it(tmp_path: Path, models_dir: Path) -> None:
    from faceorg.pipeline.recipe import build_analyzer, recipe_of

    with open_library(tmp_path / "new.sqlite") as lib:
        version = ensure_base_version(lib)
        assert averages_mirror(version) and version.report[MIRROR_KEY] is True
        analyzer = analyzer_for_library(lib)
        assert analyzer.embedder.mirror
        recipe = recipe_of(analyzer, use_gpu=False)
        assert recipe.mirror and build_analyzer(recipe, folder=tmp_path / "worker").embedder.mirror


def test_an_old_library_keeps_its_recipe_until_moved_and_keeps_every_decision(library: Library) -> None:
    base = active_version(library)
    assert not averages_mirror(base) and not analyzer_for_library(library).embedder.mirror
    ids, before, chips = stored(library, base.id)
    person = list_people(library)[0]
    ops.name_person(library, person.id, "Somebody", confirm=[f.id for f in faces_of_person(library, person.id)])
    with library.session() as s:
        decided = sorted(s.execute(select(Assignment.face_id, Assignment.person_id)
                                   .where(Assignment.source == AssignmentSource.USER)).all())
    assert decided

    cs = install.use_mirror_average(library)
    new = active_version(library)
    assert new.name == f"{base.name}-mirror" and averages_mirror(new) and new.parent_id == base.id
    assert cs.label == "Average each face with its mirror image"
    new_ids, after, _ = stored(library, new.id)
    assert np.array_equal(new_ids, ids)  # every face re-embedded
    path = runtime_model_path(library, new)
    plain = Embedder(path, use_gpu=False)
    _, f0 = plain.embed(chips)
    _, f1 = plain.embed(chips[:, :, ::-1])
    np.testing.assert_allclose(after, l2_normalize((f0 + f1) @ onnx_head_weight(path).T), atol=1e-5)
    with library.session() as s:
        assert sorted(s.execute(select(Assignment.face_id, Assignment.person_id)
                                .where(Assignment.source == AssignmentSource.USER)).all()) == decided
    assert analyzer_for_library(library).embedder.mirror  # faces scanned from now on get the recipe
    assert install.use_mirror_average(library).label.endswith("already averages each face with its mirror image")

    install.go_back(library)  # undoes it
    assert active_version(library).name == base.name


def test_a_head_version_is_refused_with_a_clear_line(library: Library) -> None:
    from faceorg.progress import Progress
    from faceorg.retrain.retrain import RetrainReport, install_model
    from faceorg.versions.records import head_weight

    base = active_version(library)
    report = RetrainReport("quick", False, True, None, base.name, {}, {}, {}, [], 0.0)
    install_model(library, base, "head", report, Progress(), weight=head_weight(library, base) * np.float32(1.01))
    with pytest.raises(FaceorgError, match="go back to the model it came from"):
        install.use_mirror_average(library)


def test_models_mirror_on_the_command_line(library: Library, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(library.path)
    library.close()
    code, out, _ = run_cli(capsys, "--db", path, "models", "mirror", "--json")
    assert code == 0
    assert json.loads(out)["label"] == "Average each face with its mirror image"
    code, out, _ = run_cli(capsys, "--db", path, "models", "mirror")
    assert code == 0 and "already averages" in out
