"""Retraining from corrections: the gate, versions swapped atomically, rollback, decisions kept."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select, update

from faceorg.errors import FaceorgError
from faceorg.people import ops
from faceorg.people.clustering import recluster
from faceorg.people.queries import faces_of_person, list_people
from faceorg.pipeline.factory import analyzer_for_library
from faceorg.progress import Progress
from faceorg.retrain import install
from faceorg.retrain.folds import GateFold, gate_folds
from faceorg.retrain.gate import judge
from faceorg.retrain.retrain import RetrainReport, install_model, retrain
from faceorg.retrain.training_data import collect_training_data
from faceorg.store import Library, open_library
from faceorg.store.models import (
    Assignment,
    AssignmentSource,
    Embedding,
    Face,
    FaceNotPerson,
    ModelVersion,
)
from faceorg.versions.records import active_version, head_weight
from tests.lfwlib import scanned_lfw_library

PEOPLE = ["Colin_Powell", "Donald_Rumsfeld", "George_W_Bush", "Gerhard_Schroeder", "Tony_Blair",
          "Ariel_Sharon", "Hugo_Chavez", "Jean_Chretien"]


def test_gate_folds_hold_out_faces_and_people() -> None:
    labels = np.repeat(np.arange(9), 6)
    labels[:3] = -1
    folds = gate_folds(labels, 3, seed=0)
    assert len(folds) == 3
    for fold in folds:
        assert not (fold.known & fold.unseen).any()
        unseen_people = set(labels[fold.unseen])
        assert unseen_people and not unseen_people & set(labels[fold.known])
        trained = set(labels[~fold.held_out & (labels >= 0)])
        assert set(labels[fold.known]) <= trained  # known people are trained on (other faces of theirs)
    assert not np.logical_or.reduce([f.held_out for f in folds])[labels < 0].any()


def _identities(rng: np.random.Generator, people: int, per: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    centres = rng.normal(size=(people, 128))
    x = np.repeat(centres, per, axis=0) + rng.normal(scale=noise, size=(people * per, 128))
    return x / np.linalg.norm(x, axis=1, keepdims=True), np.repeat(np.arange(people), per)


def test_the_gate_refuses_a_worse_model_and_accepts_a_better_one() -> None:
    rng = np.random.default_rng(0)
    before, labels = _identities(rng, 12, 8, noise=1.5)  # 67% verified before: room to do better
    folds = gate_folds(labels, 3, seed=0)
    worse = before + rng.normal(scale=0.12, size=before.shape)
    worse /= np.linalg.norm(worse, axis=1, keepdims=True)
    refused = judge(before, worse, labels, folds, seed=0)
    assert not refused.accepted and refused.lines[-1].startswith("Current model kept")
    centres = np.stack([before[labels == p].mean(0) for p in range(12)])
    better = 0.5 * before + 0.5 * centres[labels]  # tighter identities
    better /= np.linalg.norm(better, axis=1, keepdims=True)
    accepted = judge(before, better, labels, folds, seed=0)
    assert accepted.accepted and accepted.lines[-1].startswith("New model accepted")
    assert "before" in accepted.lines[2] and "after" in accepted.lines[2]
    assert accepted.lines[1].startswith("Regrouping them as the app does: of your 96 named faces")
    assert accepted.regrouped_after["right"] >= accepted.regrouped_before["right"]
    for line in refused.lines + accepted.lines:  # plain words only
        assert "BCubed" not in line and "1-in-" not in line and "points" not in line, line


def test_the_gate_refuses_when_the_evidence_is_too_thin_to_tell() -> None:
    """Issue 12: "checked on 28 faces of 7 people" is too little to tell a better model from luck."""
    rng = np.random.default_rng(3)
    before, labels = _identities(rng, 7, 12, noise=1.5)
    held = np.zeros(len(labels), bool)
    for p in range(7):
        held[np.flatnonzero(labels == p)[:4]] = True  # 28 faces of 7 people held back
    fold = GateFold(known=held, unseen=np.zeros_like(held))
    centres = np.stack([before[labels == p].mean(0) for p in range(7)])
    better = 0.3 * before + 0.7 * centres[labels]  # clearly tighter identities
    better /= np.linalg.norm(better, axis=1, keepdims=True)
    decision = judge(before, better, labels, [fold], seed=0)
    assert not decision.accepted
    assert decision.lines[0].startswith("Only 28 confirmed faces of 7 people")
    assert "too few to judge" in decision.lines[0]
    assert decision.lines[-1].startswith("Current model kept")


def test_unseen_people_matched_worse_is_refused() -> None:
    rng = np.random.default_rng(1)
    before, labels = _identities(rng, 40, 8, noise=2.5)
    fold = gate_folds(labels, 3, seed=0)[0]
    assert len(np.unique(labels[fold.unseen])) >= 10
    centres = np.stack([before[labels == p].mean(0) for p in range(40)])
    after = 0.5 * before + 0.5 * centres[labels]
    after[fold.unseen] = before[fold.unseen] + rng.normal(scale=0.3, size=before[fold.unseen].shape)
    after /= np.linalg.norm(after, axis=1, keepdims=True)
    decision = judge(before, after, labels, [fold], seed=0)
    assert not decision.accepted and "never saw worse" in decision.lines[-1] and decision.unseen_worse


def test_too_few_unseen_people_do_not_veto() -> None:
    rng = np.random.default_rng(1)
    before, labels = _identities(rng, 12, 24, noise=2.5)  # one fold: 64 held-out faces of 8 known people
    fold = gate_folds(labels, 3, seed=0)[0]
    assert len(np.unique(labels[fold.unseen])) < 10
    centres = np.stack([before[labels == p].mean(0) for p in range(12)])
    after = 0.5 * before + 0.5 * centres[labels]
    after[fold.unseen] = before[fold.unseen] + rng.normal(scale=0.05, size=before[fold.unseen].shape)
    after /= np.linalg.norm(after, axis=1, keepdims=True)
    decision = judge(before, after, labels, [fold], seed=0)
    assert decision.unseen_after < decision.unseen_before - 0.05  # matched worse, but too few to tell
    assert decision.accepted and "too few to judge by" in decision.lines[-2]


@pytest.fixture(scope="module")
def scanned(shared_data: Path, models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library of 8 LFW people (up to 12 photos each), scanned and grouped, named by an oracle."""
    db = scanned_lfw_library(shared_data, tmp_path_factory.mktemp("retrain"), PEOPLE, 12)
    with open_library(db) as lib:
        for p in list_people(lib):
            faces = faces_of_person(lib, p.id)
            names = [Path(f.photo_path).name.rsplit("_", 1)[0] for f in faces]
            major = max(set(names), key=names.count)
            wrong = [f.id for f, n in zip(faces, names) if n != major]
            if wrong:
                ops.reject_faces(lib, wrong, p.id)
            if names.count(major) >= 3:  # the oracle looked at every face: it names and confirms them
                ops.name_person(lib, p.id, major, confirm=[f.id for f in faces if f.id not in wrong])
    return db


@pytest.fixture()
def library(scanned: Path, tmp_path: Path) -> Library:
    db = tmp_path / "lib.sqlite"
    shutil.copy(scanned, db)
    lib = open_library(db)
    yield lib
    lib.close()


def decisions(lib: Library) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    with lib.session() as s:
        placed = {(a.face_id, a.person_id) for a in s.scalars(select(Assignment).where(
            Assignment.source == AssignmentSource.USER))}
        rejected = {(r.face_id, r.person_id) for r in s.scalars(select(FaceNotPerson))}
    return placed, rejected


def embeddings_of(lib: Library, version_id: int) -> int:
    with lib.session() as s:
        query = select(func.count()).select_from(Embedding).where(Embedding.model_version_id == version_id)
        return s.scalar(query) or 0


def test_dry_run_reports_before_and_after_and_changes_nothing(library: Library) -> None:
    before = decisions(library)
    report = retrain(library, dry_run=True)
    assert isinstance(report, RetrainReport) and report.dry_run
    assert report.training["people"] >= 6 and report.training["labelled_faces"] >= 40
    assert "verification_rate" in report.before and "bcubed_f" in report.after
    assert any("before" in line and "after" in line for line in report.summary)
    assert report.summary[-1] == "Dry run: nothing was changed."
    with library.session() as s:
        assert s.scalar(select(func.count()).select_from(ModelVersion)) == 1
    assert decisions(library) == before


def _perturbed_version(library: Library, noise: float | None = None) -> tuple[ModelVersion, ModelVersion]:
    """Install a new head version (a changed last layer) through the real install path: noise 0.01, or
    ``noise`` times the weights' own spread."""
    base = active_version(library)
    assert base is not None
    weight = head_weight(library, base)
    scale = 0.01 if noise is None else noise * float(np.sqrt(np.mean(weight ** 2)))
    weight = weight + np.random.default_rng(0).normal(scale=scale, size=weight.shape).astype(np.float32)
    report = RetrainReport("quick", False, True, None, base.name, {}, {}, {}, [], 0.0)
    new = install_model(library, base, "head", report, Progress(), weight=weight)
    return base, new


def test_install_swaps_atomically_keeps_decisions_and_rolls_back(library: Library) -> None:
    before = decisions(library)
    base, new = _perturbed_version(library)
    assert active_version(library).name == new.name
    with library.session() as s:
        faces = s.scalar(select(func.count()).select_from(Embedding).where(Embedding.model_version_id == base.id))
    assert embeddings_of(library, new.id) == faces  # every face re-embedded from its stored features
    recluster(library, full=True)
    assert decisions(library) == before
    install.use_version(library, base.name)
    assert active_version(library).name == base.name and decisions(library) == before
    install.use_version(library, new.name)
    assert active_version(library).name == new.name and decisions(library) == before
    with pytest.raises(FaceorgError, match="no embedder version named"):
        install.use_version(library, "v99-nothing")


def test_a_crash_while_re_embedding_leaves_the_previous_model_working(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = active_version(library)
    real = install.reembed_from_features

    def crash(lib, version, weight, progress=None):  # type: ignore[no-untyped-def]
        install.CHUNK, saved = 10, install.CHUNK  # write a little, then die
        try:
            calls = {"n": 0}
            original = Progress.advance

            def advance(self, n=1, message=None):  # type: ignore[no-untyped-def]
                calls["n"] += 1
                if calls["n"] > 2:
                    raise KeyboardInterrupt("killed")
                return original(self, n, message)

            monkeypatch.setattr(Progress, "advance", advance)
            return real(lib, version, weight, progress)
        finally:
            install.CHUNK = saved

    monkeypatch.setattr("faceorg.retrain.install.reembed_from_features", crash)
    with pytest.raises(KeyboardInterrupt):
        _perturbed_version(library)
    monkeypatch.undo()
    assert active_version(library).name == base.name  # still the previous model
    with library.session() as s:
        pending = s.scalars(select(ModelVersion).where(ModelVersion.active.is_(False))).one()
    assert 0 < embeddings_of(library, pending.id) < embeddings_of(library, base.id)
    recluster(library)  # the library still works
    install.use_version(library, pending.name)  # finishing the re-embedding makes it usable
    assert active_version(library).name == pending.name
    assert embeddings_of(library, pending.id) == embeddings_of(library, base.id)


def test_not_enough_labels_says_what_is_missing(library: Library) -> None:
    for p in list_people(library):
        ops.delete_person(library, p.id)
    with pytest.raises(FaceorgError, match="need at least 2 people with 5 confirmed faces"):
        collect_training_data(library)


def test_with_few_people_only_faces_are_held_out() -> None:
    labels = np.repeat(np.arange(3), 6)
    folds = gate_folds(labels, 3, seed=0)
    assert all(not f.unseen.any() for f in folds)
    assert np.logical_or.reduce([f.known for f in folds]).all()  # every face held out once


def test_gatefold_held_out_is_the_union() -> None:
    fold = GateFold(known=np.array([True, False, False]), unseen=np.array([False, True, False]))
    assert fold.held_out.tolist() == [True, True, False]


def test_the_gate_needs_enough_held_out_faces() -> None:
    rng = np.random.default_rng(2)
    before, labels = _identities(rng, 3, 4, noise=1.5)  # 12 faces: at most 12 held back
    decision = judge(before, before, labels, gate_folds(labels, 3, seed=0), seed=0)
    assert not decision.accepted and "too few to judge" in decision.lines[0]


def test_distance_scale_follows_the_spread_of_faces() -> None:
    from faceorg.retrain.calibrate import distance_scale

    rng = np.random.default_rng(3)
    before, labels = _identities(rng, 6, 6, noise=1.0)
    centres = np.stack([before[labels == p].mean(0) for p in range(6)])
    tighter = 0.5 * before + 0.5 * centres[labels]
    tighter /= np.linalg.norm(tighter, axis=1, keepdims=True)
    parent = ModelVersion(name="p", kind="head", file_name="x", sha256="0" * 64, report={"distance_scale": 2.0})
    scale = distance_scale(parent, before, tighter, labels)
    assert 0 < scale < 2.0  # faces of one person closer together: smaller distances than the parent's
    assert distance_scale(parent, before, before, labels) == pytest.approx(2.0)


def _chips(library: Library, count: int = 24) -> np.ndarray:
    from faceorg.pipeline.analyzer import decode_chip
    from faceorg.store.models import FaceChip

    with library.session() as s:
        rows = s.scalars(select(FaceChip.image).order_by(FaceChip.face_id).limit(count)).all()
    return np.stack([decode_chip(r) for r in rows])


def test_versions_run_int8_copies_and_a_head_version_keeps_its_parents_features(library: Library) -> None:
    from faceorg.embed.embedder import Embedder, l2_normalize
    from faceorg.embed.quantize import check_quantized
    from faceorg.versions.files import (
        library_models_dir,
        runtime_model_path,
        verified_model_path,
    )
    from faceorg.weights.registry import BASE_EMBEDDER_INT8_FILE

    base, new = _perturbed_version(library)
    assert base.runtime_file == BASE_EMBEDDER_INT8_FILE and new.runtime_file == f"embedder-{new.name}.int8.onnx"
    # the base model's int8 copy lives in the library's own folder: a later `models fetch` cannot change it
    assert runtime_model_path(library, base) == library_models_dir(library) / BASE_EMBEDDER_INT8_FILE
    new_runtime = runtime_model_path(library, new)
    assert new_runtime != verified_model_path(library, new)
    check_quantized(new_runtime)
    chips = _chips(library)
    _, base_features = Embedder(runtime_model_path(library, base), use_gpu=False).embed(chips)
    vectors, features = Embedder(new_runtime, use_gpu=False).embed(chips)
    np.testing.assert_array_equal(features, base_features)  # same int8 body: stored features stay valid
    np.testing.assert_allclose(vectors, l2_normalize(features @ head_weight(library, new).T), atol=1e-5)

    new_runtime.write_bytes(b"tampered")
    with pytest.raises(FaceorgError, match="does not match its recorded SHA-256"):
        runtime_model_path(library, new)


def test_a_deeper_version_is_calibrated_on_library_chips(library: Library) -> None:
    from faceorg.embed.embedder import Embedder
    from faceorg.embed.quantize import check_quantized
    from faceorg.versions.files import library_models_dir, verified_model_path

    base = active_version(library)
    made = install.make_runtime_copy(
        library, name="v9-full", kind="full", onnx_file=verified_model_path(library, base), parent=base
    )
    assert made is not None and made[0] == "embedder-v9-full.int8.onnx"
    path = library_models_dir(library) / made[0]
    check_quantized(path)
    chips = _chips(library)
    exact, _ = Embedder(verified_model_path(library, base), use_gpu=False).embed(chips)
    fast, _ = Embedder(path, use_gpu=False).embed(chips)
    assert np.sum(exact * fast, axis=1).min() > 0.99


def test_a_failed_int8_copy_leaves_nothing_behind(library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    import faceorg.embed.quantize as quantize
    from faceorg.versions.files import library_models_dir, runtime_model_path

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ValueError("disk full")

    real_with_new_head = quantize.with_new_head

    def int8_copy_fails(source: Path, weight: np.ndarray, target: Path) -> Path:
        if ".int8." in Path(source).name:  # the float32 file of the new version is written first, then this
            raise ValueError("disk full")
        return real_with_new_head(source, weight, target)

    monkeypatch.setattr(quantize, "with_new_head", int8_copy_fails)
    runtime_model_path(library, active_version(library))  # the base copy is restored beside the copied database
    before = {p.name for p in library_models_dir(library).iterdir()}
    with pytest.raises(FaceorgError, match="cannot make the int8 copy.*disk full"):
        _perturbed_version(library)  # a head version must not fall back to float32 under an int8 parent
    assert {p.name for p in library_models_dir(library).iterdir()} == before
    monkeypatch.setattr(quantize, "with_new_head", broken)  # its float32 file cannot be written either
    with pytest.raises(FaceorgError, match="cannot save embedder.*disk full"):
        _perturbed_version(library)
    assert {p.name for p in library_models_dir(library).iterdir()} == before
    with library.session() as s:
        assert s.scalar(select(func.count()).select_from(ModelVersion)) == 1

    monkeypatch.setattr(quantize, "quantize_embedder", broken)  # a deeper version runs float32 instead
    base = active_version(library)
    from faceorg.versions.files import verified_model_path

    assert (
        install.make_runtime_copy(
            library, name="v9-full", kind="full", onnx_file=verified_model_path(library, base), parent=base
        )
        is None
    )


def test_a_library_embedded_in_float32_keeps_float32(library: Library) -> None:
    from faceorg.versions.files import runtime_model_path, verified_model_path

    with library.transaction() as s:  # as a library made before the int8 copy existed
        base = s.scalars(select(ModelVersion).where(ModelVersion.active.is_(True))).one()
        base.runtime_file = base.runtime_sha256 = None
    base = active_version(library)
    assert runtime_model_path(library, base) == verified_model_path(library, base)
    assert analyzer_for_library(library).embedder.runtime.model_path == verified_model_path(library, base)
    _, new = _perturbed_version(library)
    assert new.runtime_file is None and runtime_model_path(library, new) == verified_model_path(library, new)


def test_thorough_ships_part_of_the_way_to_the_fine_tuned_weights(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shipped model is SHIP_FRACTION of the way from the start to what fine-tuning returned, every
    labelled face is re-embedded with it, and its distance scale is calibrated on the held-out faces."""
    import types

    torch = pytest.importorskip("torch")
    import faceorg.retrain.shipping as shipping
    import faceorg.train.finetune as finetune_module
    from faceorg.retrain.calibrate import suggestion_scale
    from faceorg.retrain.deep import thorough_candidate

    started: list[object] = []
    tuned_holder: list[object] = []

    def fake_finetune(training, module, **kwargs):  # type: ignore[no-untyped-def]
        import copy

        tuned = copy.deepcopy(module)
        with torch.no_grad():
            tuned.fc.weight.add_(0.02 * torch.randn_like(tuned.fc.weight, generator=torch.Generator().manual_seed(0)))
        started.append(copy.deepcopy(module))
        tuned_holder.append(tuned)
        return types.SimpleNamespace(model=tuned, stop_reason="test")

    monkeypatch.setattr(finetune_module, "finetune", fake_finetune)
    data = collect_training_data(library, seed=0)
    base = active_version(library)
    result = thorough_candidate(library, data, base, Progress(), seed=0)
    folds, after, shipped, stop = result.folds, result.after, result.module, result.stop_reason
    assert result.ship_fraction == shipping.SHIP_FRACTIONS[0] and result.geometry_kept >= 0.88
    start_w, tuned_w = started[0].fc.weight, tuned_holder[0].fc.weight  # type: ignore[attr-defined]
    expected = start_w + shipping.SHIP_FRACTION * (tuned_w - start_w)
    assert torch.allclose(shipped.fc.weight, expected, atol=1e-6) and stop == "test"
    labelled = data.labels >= 0
    trained_on = labelled & ~folds[0].held_out  # these choose the gate's threshold: new vectors too
    moved = np.linalg.norm(after - data.vectors, axis=1)
    assert (moved[trained_on] > 1e-3).mean() > 0.9 and (moved[folds[0].held_out & labelled] > 1e-3).mean() > 0.9
    assert np.array_equal(after[~labelled], data.vectors[~labelled])
    from faceorg.people.clustering import SUGGEST_MARGIN, SUGGEST_MAX_DISTANCE
    from faceorg.retrain.calibrate import calibrated_distance_scale

    calibrated = calibrated_distance_scale(
        data.vectors, after, data.labels, folds[0].held_out, 1.0, SUGGEST_MAX_DISTANCE, SUGGEST_MARGIN
    )
    assert calibrated is not None  # enough held-out faces here: the calibration, not the fallback, decides
    assert (
        suggestion_scale(base, data.vectors, after, data.labels, folds[0].held_out)
        == calibrated
        == result.distance_scale
    )


def test_geometry_kept_is_the_correlation_of_pair_distances() -> None:
    from faceorg.retrain.shipping import geometry_kept

    rng = np.random.default_rng(0)
    a = rng.normal(size=(12, 5))
    b = a + rng.normal(scale=0.3, size=a.shape)
    da = [np.linalg.norm(a[i] - a[j]) for i in range(12) for j in range(i + 1, 12)]
    db = [np.linalg.norm(b[i] - b[j]) for i in range(12) for j in range(i + 1, 12)]
    assert geometry_kept(a, b) == pytest.approx(float(np.corrcoef(da, db)[0, 1]))
    assert geometry_kept(a, 2 * a) == pytest.approx(1.0)


def test_a_fine_tuning_that_moves_everyone_is_shipped_only_in_part(library: Library) -> None:
    """A 'fine-tuned' model that rearranges all faces keeps less of its change than one that does not."""
    import copy

    torch = pytest.importorskip("torch")
    from faceorg.paths import models_dir
    from faceorg.retrain.shipping import SHIP_FRACTIONS, ship_fraction
    from faceorg.retrain.training_data import chip_loader
    from faceorg.train.model_io import load_module
    from faceorg.weights.registry import DLIB_RESNET_FILE

    data = collect_training_data(library, seed=0)
    start = load_module(None, models_dir() / DLIB_RESNET_FILE)
    scrambled = copy.deepcopy(start)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():  # the last residual stage scrambled: faces land in new places
        for p in [*scrambled.stages[-1].parameters(), *scrambled.stages[-2].parameters()]:
            p.copy_(torch.randn(p.shape, generator=generator) * p.std() + p.mean())
    loader = chip_loader(library, data.face_ids)
    fraction, kept = ship_fraction(start, scrambled, loader, len(data.face_ids), 0, Progress())
    assert fraction < SHIP_FRACTIONS[0], kept
    fraction_same, kept_same = ship_fraction(start, copy.deepcopy(start), loader, len(data.face_ids), 0, Progress())
    assert fraction_same == SHIP_FRACTIONS[0] and kept_same == pytest.approx(1.0)


def test_the_unseen_tolerance_grows_only_when_the_evidence_is_thin() -> None:
    from faceorg.retrain.gate import UNSEEN_TOLERANCE, unseen_tolerance

    assert unseen_tolerance(0.85, 50) == pytest.approx(2 * np.sqrt(0.85 * 0.15 / 50))  # ~0.10
    assert unseen_tolerance(0.85, 100_000) == UNSEEN_TOLERANCE
    assert unseen_tolerance(float("nan"), 50) == unseen_tolerance(0.9, 0) == UNSEEN_TOLERANCE
    assert unseen_tolerance(0.85, 500) < unseen_tolerance(0.85, 50)


def test_a_steady_false_accept_rate_on_few_people() -> None:
    from faceorg.retrain.gate import GATE_FAR, steady_far

    labels = np.repeat(np.arange(6), 8)  # 6 people, 8 faces: 48*47/2 - 6*28 = 960 impostor pairs
    everyone = np.ones(len(labels), bool)
    assert steady_far(labels, [everyone]) == pytest.approx(10 / 960)
    many = np.repeat(np.arange(200), 8)
    assert steady_far(many, [np.ones(len(many), bool)]) == GATE_FAR
    assert steady_far(labels, []) == GATE_FAR


def test_thorough_steps_back_while_unseen_people_are_matched_worse(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    import copy
    import dataclasses
    import types

    import faceorg.retrain.gate as gate_module
    import faceorg.retrain.shipping as shipping
    import faceorg.train.finetune as finetune_module
    from faceorg.retrain.deep import thorough_candidate

    monkeypatch.setattr(
        finetune_module,
        "finetune",
        lambda training, module, **kw: types.SimpleNamespace(model=copy.deepcopy(module), stop_reason="test"),
    )
    real_judge, seen = gate_module.judge, []

    def judge(*args, **kwargs):  # type: ignore[no-untyped-def]
        decision = real_judge(*args, **kwargs)
        seen.append(decision)
        if len(seen) < 3:  # the first two fractions hurt people the model never saw
            return dataclasses.replace(decision, accepted=False, unseen_worse=True, lines=list(decision.lines))
        return dataclasses.replace(decision, accepted=True, unseen_worse=False, lines=list(decision.lines))

    monkeypatch.setattr(gate_module, "judge", judge)
    result = thorough_candidate(
        library, collect_training_data(library, seed=0), active_version(library), Progress(), seed=0
    )
    assert len(seen) == 3 and result.ship_fraction == shipping.SHIP_FRACTIONS[2]
    assert result.decision.accepted and any("Kept 40% of the fine-tuning" in line for line in result.decision.lines)


def test_the_retrain_job_reports_retraining_and_what_it_changed(library: Library) -> None:
    """The job the CLI and the app run: retraining's report, plus a change record (empty on a dry run)."""
    from faceorg.jobs.retrain_job import RetrainJobReport, retrain_library

    before = decisions(library)
    job = retrain_library(library, depth="quick", dry_run=True)
    assert isinstance(job, RetrainJobReport) and job.retrain.dry_run and job.changes.empty
    out = job.as_dict()
    assert out["summary"] == job.retrain.summary and out["cancelled"] is False
    assert out["changes"]["faces_changed"] == [] and json.loads(json.dumps(out)) == out
    assert job.one_line() == job.retrain.summary[0]
    assert decisions(library) == before


def test_a_change_record_survives_its_json_form() -> None:
    from faceorg.people.changes import ChangeSet

    cs = ChangeSet(label="Group faces", people_added={3}, people_changed={1, 2}, people_removed={4},
                   faces_changed={7, 8}, photos_changed={9}, operation_id=5)
    assert ChangeSet.from_dict(cs.as_dict()) == cs


def _named_assignments(lib: Library) -> dict[int, tuple[int, str]]:
    """Every face held by a named person (user or automatic), with its person and source."""
    from faceorg.store.models import Person

    with lib.session() as s:
        rows = s.execute(select(Assignment.face_id, Assignment.person_id, Assignment.source)
                         .join(Person, Person.id == Assignment.person_id).where(Person.name.is_not(None))).all()
    return {f: (p, str(src)) for f, p, src in rows}


def test_go_back_to_the_previous_model_keeps_what_the_user_decided(library: Library) -> None:
    """Going back re-embeds under the parent version and groups only the faces nobody holds: every decision
    and every named person's face stays (a full regrouping used to move them)."""
    with pytest.raises(FaceorgError, match="no previous one to go back to"):
        install.go_back(library)
    placed = decisions(library)
    base, new = _perturbed_version(library, noise=3.0)  # a model that spreads faces quite differently
    assert install.previous_version(library).name == base.name
    recluster(library)  # as retraining does after installing
    assert decisions(library) == placed
    named = _named_assignments(library)
    cs = install.go_back(library)
    assert active_version(library).name == base.name and cs.label.startswith("Go back to the previous model")
    assert decisions(library) == placed and _named_assignments(library) == named


def _all_assignments(lib: Library) -> dict[int, tuple[int, str]]:
    with lib.session() as s:
        rows = s.execute(select(Assignment.face_id, Assignment.person_id, Assignment.source)).all()
    return {f: (p, str(src)) for f, p, src in rows}


def test_a_model_change_leaves_every_face_where_it_was(library: Library) -> None:
    """Changing the model (going back here; retraining alike) regroups no face a grouping has seen:
    unsorted faces stay unsorted, unnamed groups keep their faces, no new suggestion appears."""
    _perturbed_version(library, noise=3.0)  # a model that spreads faces quite differently
    recluster(library)  # the user's own "Group faces" under it
    before = _all_assignments(library)
    with library.session() as s:
        unsorted = s.scalar(select(func.count()).select_from(Embedding).outerjoin(
            Assignment, Assignment.face_id == Embedding.face_id).where(Assignment.face_id.is_(None),
                                                                       Embedding.model_version_id == 1))
    assert unsorted, "the fixture leaves faces unsorted"
    cs = install.go_back(library)
    assert _all_assignments(library) == before
    assert not cs.faces_changed


def test_an_installed_retraining_keeps_every_face_and_brings_its_matching_rule(library: Library) -> None:
    """The pipeline (``retrain.run``) installs an accepted candidate, regroups as after any model change (no
    face a grouping has seen moves) and stores the candidate's learned matching with the new version."""
    from faceorg.retrain.candidate import Candidate
    from faceorg.retrain.gate import GateDecision
    from faceorg.retrain.retrain import run

    _perturbed_version(library, noise=3.0)
    recluster(library)  # the library as grouped under some earlier model
    before = _all_assignments(library)
    rule = {"max_distance": 0.2, "margin": 0.01, "precision": 0.96, "stranger_share": 0.1, "held_out_faces": 99}

    def source(version: ModelVersion, progress: Progress) -> Candidate:
        weight = head_weight(library, version) + np.random.default_rng(1).normal(scale=0.05, size=(128, 256))
        decision = GateDecision(True, {}, {}, float("nan"), float("nan"), ["Accepted."])
        return Candidate("head", decision, {}, 1.0, "test", weight=weight.astype(np.float32), sure_match=rule)

    report = run(library, "quick", source, dry_run=False, progress=None)
    assert report.accepted and report.sure_match == rule
    assert (active_version(library).report or {}).get("sure_match") == rule
    assert _all_assignments(library) == before


def test_learning_runs_after_enough_new_corrections(library: Library) -> None:
    from faceorg.jobs.learning import corrections_count, last_learning, learn_now, learning_due
    from faceorg.settings import load_settings, save_settings

    save_settings(library, dataclasses.replace(load_settings(library), learn_after_corrections=3))
    first = learning_due(library)
    assert first.due and first.new_corrections == corrections_count(library) > 3  # never ran: due
    job = learn_now(library)
    line = last_learning(library)
    assert line.startswith(("Learned from your corrections at", "Checked what your corrections teach at"))
    assert ("BCubed" not in line and "1-in-" not in line) and job.retrain.depth == "quick"
    assert not learning_due(library).due and learning_due(library).new_corrections == 0
    with library.session() as s:
        automatic = s.execute(select(Assignment.face_id, Assignment.person_id).where(
            Assignment.source == AssignmentSource.AUTO)).all()
    assert len(automatic) >= 2, "the fixture's groups hold automatic faces"
    ops.confirm_faces(library, [automatic[0][0]])
    ops.reject_faces(library, [automatic[1][0]], automatic[1][1])
    assert learning_due(library).new_corrections == 2 and not learning_due(library).due
    save_settings(library, dataclasses.replace(load_settings(library), learn_after_corrections=2))
    assert learning_due(library).due
    save_settings(library, dataclasses.replace(load_settings(library), learn_as_you_go=False))
    off = learning_due(library)
    assert not off.due and "off" in off.reason


def test_models_back_and_train_when_due_on_the_command_line(library: Library,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from faceorg.jobs.learning import start_counting
    from tests.clirun import run_cli

    db = str(library.path)
    code, out, err = run_cli(capsys, "--db", db, "models", "back")
    assert code == 0 and out.strip() == ("Nothing to do: the library uses its first model (dlib-v1): there is no "
                                         "previous one to go back to.")
    start_counting(library)
    code, out, err = run_cli(capsys, "--db", db, "train", "--when-due", "--json")
    report = json.loads(out)  # exactly one JSON document
    assert code == 0 and report["ran"] is False and report["new_corrections"] == 0
    assert report["reason"] == "0 new corrections of the 30 that start it"
    base, new = _perturbed_version(library)
    code, out, err = run_cli(capsys, "--db", db, "models", "back", "--json")
    assert code == 0 and json.loads(out)["label"] == f"Go back to the previous model ({base.name})"
    assert active_version(library).name == base.name


def test_learning_in_a_child_process_reports_and_stops_on_cancel(library: Library) -> None:
    import threading

    from faceorg.jobs.learning import last_learning, learn_in_child, start_counting
    from faceorg.progress import CancelledError
    from faceorg.settings import load_settings, save_settings

    save_settings(library, dataclasses.replace(load_settings(library), learn_after_corrections=1))
    start_counting(library)
    report = learn_in_child(library.path)  # not due: the child says so in its one JSON document
    assert report["ran"] is False and report["new_corrections"] == 0
    with library.transaction() as s:
        from faceorg.store.state import set_state

        set_state(s, "learning", None)  # never ran: every correction is new
    progress = Progress()
    threading.Timer(1.0, progress.cancel).start()
    with pytest.raises(CancelledError):
        learn_in_child(library.path, progress)
    assert active_version(library).name == "dlib-v1" and last_learning(library) == ""
    report = learn_in_child(library.path)
    assert report["ran"] is True and report["status"] == last_learning(library) != ""


def test_learning_as_you_work_runs_without_pytorch(library: Library) -> None:
    """The quick depth (fitting, the gate, saving the model, regrouping) imports no PyTorch: the packaged
    app, which leaves PyTorch out, learns as the user works too."""
    import os
    import subprocess
    import sys

    from tests.test_training_unavailable import NO_TORCH

    library.close()
    code = NO_TORCH + (
        "import json\nfrom faceorg.cli.main import main\n"
        f"status = main(['--db', {str(library.path)!r}, 'train', '--when-due', '--json'])\n"
        "print('torch imported' if 'torch' in sys.modules else 'no torch', file=sys.stderr)\n"
        "raise SystemExit(status)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ran"] is True and report["status"], report
    assert done.stderr.strip().splitlines()[-1] == "no torch"
    from faceorg.jobs.learning import last_learning

    with open_library(library.path) as lib:
        assert last_learning(lib) == report["status"]


def test_a_no_between_two_groups_counts_each_face_once_not_each_pair(library: Library) -> None:
    """Learning starts after N corrections: one "not the same person" between groups of 4 and 5 faces
    writes up to 20 face pairs, but the user ruled on 9 faces."""
    from faceorg.jobs.learning import corrections_count

    with library.session() as s:
        faces = list(s.scalars(select(Face.id).order_by(Face.id).limit(9)))
    assert len(faces) == 9
    before = corrections_count(library)
    for a in faces[:4]:
        for b in faces[4:]:
            ops.add_cannot_link(library, a, b)
    assert corrections_count(library) - before == 9


def test_learning_waits_while_too_few_faces_are_confirmed_to_learn_from(library: Library) -> None:
    """Enough corrections but no two people with enough confirmed faces: a run could only refuse. It started
    anyway, in a child process, and put "not enough confirmed faces..." in the status bar unasked."""
    from faceorg.jobs.learning import corrections_count, last_learning, learning_due
    from faceorg.retrain.training_data import MIN_FACES_PER_PERSON
    from faceorg.settings import load_settings, save_settings

    save_settings(library, dataclasses.replace(load_settings(library), learn_after_corrections=3))
    with library.transaction() as s:
        people = sorted(set(s.scalars(select(Assignment.person_id).where(Assignment.source == AssignmentSource.USER))))
        assert len(people) >= 2
        s.execute(update(Assignment).where(Assignment.source == AssignmentSource.USER,
                                           Assignment.person_id != people[0]).values(source=AssignmentSource.AUTO))
    waiting = learning_due(library)
    assert corrections_count(library) >= 3 and waiting.new_corrections >= 3
    assert not waiting.due and "not enough confirmed faces" in waiting.reason
    assert last_learning(library) == ""  # nothing ran, nothing said
    with library.transaction() as s:  # a second person's faces confirmed: now it can learn
        s.execute(update(Assignment).where(Assignment.person_id == people[1]).values(source=AssignmentSource.USER))
        assert (s.scalar(select(func.count()).select_from(Assignment).where(
            Assignment.person_id == people[1])) or 0) >= MIN_FACES_PER_PERSON
    assert learning_due(library).due
