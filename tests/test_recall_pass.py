"""The recall pass after grouping: joins and attaches only on strong evidence, never against a rule."""

from __future__ import annotations

import numpy as np
import pytest

from faceorg.cluster.knn_exact import knn_exact
from faceorg.cluster.recall_pass import RecallSettings, recall_pass
from faceorg.vectors import l2_normalize, unit_distances

DIM = 128
LOOSE = RecallSettings(join_distance=0.45, join_spread=0.6, attach_distance=0.5, ratio=1.2, pool=1000)


def blob(rng: np.random.Generator, centre: np.ndarray, n: int, spread: float) -> np.ndarray:
    return l2_normalize(centre + rng.normal(scale=spread / np.sqrt(DIM), size=(n, DIM)))


def unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=DIM)
    return v / np.linalg.norm(v)


def two_looks_and_a_stranger(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Person A in two groups (two looks, close), person B far away, and one unsorted face of A."""
    rng = np.random.default_rng(seed)
    a, b = unit(rng), unit(rng)
    look = l2_normalize(a + 0.25 * unit(rng))
    x = np.vstack([blob(rng, a, 6, 0.15), blob(rng, look, 6, 0.15), blob(rng, b, 6, 0.15),
                   blob(rng, a, 1, 0.15)]).astype(np.float32)
    labels = np.array([0] * 6 + [1] * 6 + [2] * 6 + [-1])
    return x, labels


def brute_attach(x: np.ndarray, labels: np.ndarray, s: RecallSettings) -> np.ndarray:
    """Every unsorted face against every group, the slow obvious way (no rules)."""
    out = labels.copy()
    d = unit_distances(x, x)
    for i in np.flatnonzero(labels < 0):
        scores = sorted((float(np.sort(d[i, labels == g])[:s.nearest].mean()), int(g))
                        for g in np.unique(labels[labels >= 0]))
        best, runner = scores[0], (scores[1][0] if len(scores) > 1 else np.inf)
        if best[0] <= s.attach_distance and runner >= s.ratio * best[0]:
            out[i] = best[1]
    return out


def brute_join(x: np.ndarray, labels: np.ndarray, s: RecallSettings) -> np.ndarray:
    """Repeatedly join the closest pair of groups that passes both tests (no rules)."""
    out = labels.copy()
    while True:
        best = None
        groups = np.unique(out[out >= 0])
        for i, g in enumerate(groups):
            for h in groups[i + 1:]:
                d = np.sort(unit_distances(x[out == g], x[out == h]).ravel())
                close, spread = d[:s.linkage_pairs].mean(), d.mean()
                if close <= s.join_distance and spread <= s.join_spread and (best is None or close < best[0]):
                    best = (close, g, h)
        if best is None:
            return out
        _, g, h = best
        keep, gone = (g, h) if (out == g).sum() >= (out == h).sum() else (h, g)
        out[out == gone] = keep


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs_a = {(i, j) for i in range(len(a)) for j in range(len(a)) if a[i] >= 0 and a[i] == a[j]}
    pairs_b = {(i, j) for i in range(len(b)) for j in range(len(b)) if b[i] >= 0 and b[i] == b[j]}
    return pairs_a == pairs_b and bool(np.array_equal(a < 0, b < 0))


@pytest.mark.parametrize("seed", range(6))
def test_matches_the_brute_force_loop(seed: int) -> None:
    x, labels = two_looks_and_a_stranger(seed)
    graph = knn_exact(x, len(x) - 1)
    out, _, report = recall_pass(x, labels, np.ones(len(x)), graph, LOOSE)
    expected = brute_attach(x, brute_join(x, labels, LOOSE), LOOSE)
    assert same_partition(out, expected)
    assert out[0] == out[6] and out[12] != out[0] and out[18] == out[0]  # A joined and found; B apart
    assert report.as_dict() == {"groups_joined": 1, "faces_joined": 6, "faces_attached": 1}


def test_weak_evidence_changes_nothing() -> None:
    x, labels = two_looks_and_a_stranger(1)
    graph = knn_exact(x, len(x) - 1)
    strict = RecallSettings(join_distance=0.1, join_spread=0.3, attach_distance=0.1, ratio=1.2)
    out, _, report = recall_pass(x, labels, np.ones(len(x)), graph, strict)
    assert np.array_equal(out, labels) and report.as_dict() == {"groups_joined": 0, "faces_joined": 0,
                                                                 "faces_attached": 0}


def test_a_face_between_two_people_stays_unsorted() -> None:
    rng = np.random.default_rng(5)
    a, b = unit(rng), unit(rng)
    middle = l2_normalize(a + b)
    x = np.vstack([blob(rng, a, 5, 0.1), blob(rng, b, 5, 0.1), middle[None, :]]).astype(np.float32)
    labels = np.array([0] * 5 + [1] * 5 + [-1])
    settings = RecallSettings(join_distance=0.0, join_spread=0.0, attach_distance=2.0, ratio=1.2, pool=1000)
    out, _, _ = recall_pass(x, labels, np.ones(len(x)), knn_exact(x, 10), settings)
    assert out[-1] == -1  # near enough to both, but not clearly nearer one: the ratio test refuses
    assert np.array_equal(out, brute_attach(x, labels, settings))


def test_rules_block_joins_and_attachments() -> None:
    x, labels = two_looks_and_a_stranger(2)
    graph = knn_exact(x, len(x) - 1)
    ones = np.ones(len(x))
    n = len(x)
    # Same photo: a face of group 0 and a face of group 1 come from one photo, the stray shares a photo with
    # a face of group 0 too.
    photo = np.arange(n)
    photo[7] = photo[0]
    photo[18] = photo[1]
    out, _, report = recall_pass(x, labels, ones, graph, LOOSE, photo=photo)
    assert out[0] != out[6] and out[18] != out[0] and report.groups_joined == 0
    # Cannot-link between the two looks, and between the stray and a face of group 0.
    out, _, _ = recall_pass(x, labels, ones, graph, LOOSE, cannot_link=[(2, 9), (18, 3)])
    assert out[0] != out[6] and out[18] != out[0]
    # Faces the user gave to two different people: the groups stay apart.
    fixed = np.full(n, -1)
    fixed[0], fixed[6] = 100, 101
    out, _, _ = recall_pass(x, labels, ones, graph, LOOSE, fixed=fixed)
    assert out[0] != out[6]
    # The user's own face is never moved or attached by the pass; a face ruled out for the person stays out.
    fixed = np.full(n, -1)
    fixed[18] = 100
    out, _, _ = recall_pass(x, labels, ones, graph, LOOSE, fixed=fixed)
    assert out[18] == -1
    fixed = np.full(n, -1)
    fixed[0] = 100
    out, _, _ = recall_pass(x, labels, ones, graph, LOOSE, fixed=fixed, forbidden=[(18, 100)])
    assert out[18] != out[0]
    # Without any rule the same inputs do join (the rules above are what stopped it).
    out, _, _ = recall_pass(x, labels, ones, graph, LOOSE)
    assert out[0] == out[6] == out[18]


def test_on_a_real_library(tmp_path, shared_data, models_dir, caplog) -> None:  # type: ignore[no-untyped-def]
    """Real photos of four people: a face taken out of its group goes back to it under the app's own
    thresholds, never next to a face of its own photo; recluster logs what the pass did and can skip it."""
    import logging
    import shutil

    from faceorg.cluster.engine import recall_settings
    from faceorg.people.clustering import cluster_params, load_library_faces, recluster
    from faceorg.pipeline.factory import analyzer_for_library
    from faceorg.scan.scanner import scan_library
    from faceorg.settings import Settings
    from faceorg.store import open_library
    from faceorg.store.folders import add_folder
    from faceorg.store.models import Assignment

    photos = tmp_path / "photos"
    photos.mkdir()
    people = ["George_W_Bush", "Colin_Powell", "Tony_Blair", "Donald_Rumsfeld"]
    for person in people:
        for src in sorted((shared_data / "lfw" / "images" / person).glob("*.jpg"))[:6]:
            shutil.copy(src, photos / src.name)
    with open_library(tmp_path / "lib.sqlite") as lib:
        add_folder(lib, photos)
        scan_library(lib, analyzer=analyzer_for_library(lib))
        with caplog.at_level(logging.INFO, logger="faceorg.people.clustering"):
            recluster(lib)
        assert any("recall pass: {'groups_joined'" in r.getMessage() for r in caplog.records)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="faceorg.people.clustering"):
            recluster(lib, full=True, recall_pass=False)
        assert not any("recall pass" in r.getMessage() for r in caplog.records)
        data = load_library_faces(lib)
        with lib.session() as s:
            owner = dict(s.query(Assignment.face_id, Assignment.person_id).all())
        from faceorg.store.models import Face, Photo
        with lib.session() as s:
            path = dict(s.query(Face.id, Photo.path).join(Photo, Photo.id == Face.photo_id).all())
    x = np.ascontiguousarray(data.vectors, np.float32)
    labels = np.array([owner.get(int(f), -1) for f in data.face_ids])
    who = np.array([next((p for p in people if p in path[int(f)]), "") for f in data.face_ids])
    settings = recall_settings(cluster_params(Settings(), len(x)))
    assert settings.attach_distance > 0
    graph = knn_exact(x, min(16, len(x) - 1))
    moved = 0
    for person in people:
        home = np.bincount(labels[(who == person) & (labels >= 0)]).argmax()
        members = np.flatnonzero((labels == home) & (who == person))
        assert len(members) >= 4
        # The face nearest its group's centre: clearly that person's.
        centre = l2_normalize(x[members].mean(axis=0))
        face = members[np.argmax(x[members] @ centre)]
        taken = labels.copy()
        taken[face] = -1
        out, _, report = recall_pass(x, taken, np.ones(len(x)), graph, settings)
        assert out[face] == home and report.faces_attached >= 1
        photo = data.photo_ids.copy()
        photo[members[members != face][0]] = photo[face]  # pretend another member shares its photo
        out, _, _ = recall_pass(x, taken, np.ones(len(x)), graph, settings, photo=photo)
        assert out[face] != home
        moved += 1
    assert moved == len(people)
