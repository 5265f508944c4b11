"""Seeded synthetic face embeddings that look like a real photo library to the clustering code.

Recipe (all distances Euclidean between L2-normalised 128-d vectors). Two distance scales, ``PROFILES``:

- ``"lfw"`` (default): calibrated on this project's own embeddings of all LFW photos (dlib ResNet v1 through
  our detector and aligner, L2-normalised; central face of each photo): same person median 0.31 (5-95%:
  0.24-0.38), different people median 0.57 (1% 0.43, 0.1% 0.38). Normalised vectors are much closer than
  raw dlib's "same person below 0.6" suggests.
- ``"wide"``: the scale first assumed for this project (same person 0.3-0.55, different people 0.8-1.2).

Steps:

1. **Identity sizes** follow a discrete power law, P(c) ~ c**-2 for 1 <= c <= max_faces_per_identity
   (default n_faces // 40, at least 50): most people are seen once or twice, a few hundreds of times.
2. **Identity centres** share a common "mean face" direction plus an anisotropic random part (a random
   rotation of a decaying spectrum, as real embeddings use some directions more than others), then are
   normalised; the weight of the mean direction sets how far apart people are.
3. **Modes:** people with many photos (>= 40) get 1-3 modes (e.g. childhood and adult, glasses), each a
   short way from the person's centre.
4. **Faces** are ``normalise(mode + spread * quality * g)`` with isotropic Gaussian ``g`` of unit expected
   norm; ``spread`` is per person (some people vary more than others) and ``quality`` per face (blur,
   profile views). A share of "hard" faces (default 10%: profile, blur, occlusion) gets 1.4-2x the spread.
5. **Look-alikes:** a few identities (siblings, twins) are re-drawn close to another identity.
6. **Outliers** (non-faces, badly aligned crops): a small share of faces drawn far from everything, each
   its own identity.

Identity ids are 0..n_identities-1; outliers get ids after the real people, one each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceorg.vectors import l2_normalize

EMBEDDING_DIM = 128


@dataclass(frozen=True)
class Profile:
    """Distance scale of a synthetic library (see the module docstring)."""

    centre_mean_weight: float  # weight of the shared mean face in identity centres: higher = people closer
    spread: tuple[float, float]  # per-person noise scale range
    mode_offset: float  # distance of a person's modes from their centre (roughly)
    lookalike_distance: tuple[float, float]  # centre distance of look-alike pairs
    outlier_mean_weight: float  # like centre_mean_weight, for outliers


PROFILES: dict[str, Profile] = {
    "lfw": Profile(centre_mean_weight=2.5, spread=(0.15, 0.2), mode_offset=0.18, lookalike_distance=(0.28, 0.37),
                   outlier_mean_weight=1.0),
    "wide": Profile(centre_mean_weight=1.0, spread=(0.22, 0.34), mode_offset=0.3, lookalike_distance=(0.5, 0.65),
                    outlier_mean_weight=0.4),
}


@dataclass(frozen=True)
class SyntheticFaces:
    """Vectors [n, dim] float32 (unit norm), their identity ids, and which faces are outliers."""

    vectors: np.ndarray
    identities: np.ndarray
    is_outlier: np.ndarray
    lookalike_pairs: list[tuple[int, int]]


def identity_sizes(n_faces: int, rng: np.random.Generator, max_size: int, exponent: float = 2.0) -> np.ndarray:
    """Faces per identity from a discrete power law, summing exactly to ``n_faces``."""
    support = np.arange(1, max_size + 1)
    weights = support.astype(np.float64) ** -exponent
    weights /= weights.sum()
    mean = float((support * weights).sum())
    sizes: list[np.ndarray] = []
    total = 0
    while total < n_faces:
        batch = rng.choice(support, size=max(16, int((n_faces - total) / mean * 1.2)), p=weights)
        sizes.append(batch)
        total += int(batch.sum())
    flat = np.concatenate(sizes)
    cumulative = np.cumsum(flat)
    last = int(np.searchsorted(cumulative, n_faces))
    flat = flat[: last + 1].copy()
    flat[-1] -= int(cumulative[last] - n_faces)
    return flat[flat > 0]


def make_faces(
    n_faces: int,
    seed: int = 0,
    dim: int = EMBEDDING_DIM,
    outlier_share: float = 0.02,
    lookalike_share: float = 0.02,
    max_faces_per_identity: int | None = None,
    hard_share: float = 0.1,
    profile: str = "lfw",
) -> SyntheticFaces:
    """A seeded synthetic library of ``n_faces`` face embeddings; see the module docstring for the recipe."""
    scale = PROFILES[profile]
    rng = np.random.default_rng(seed)
    n_outliers = int(round(n_faces * outlier_share))
    max_size = max_faces_per_identity or max(50, n_faces // 40)
    sizes = identity_sizes(n_faces - n_outliers, rng, max_size)
    n_ids = len(sizes)

    basis, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    spectrum = np.arange(1, dim + 1, dtype=np.float64) ** -0.6
    spectrum /= np.sqrt((spectrum**2).sum())
    mean_face = l2_normalize(rng.standard_normal(dim))

    def draw_centres(count: int, mean_weight: float) -> np.ndarray:
        z = rng.standard_normal((count, dim)) * spectrum
        return l2_normalize(mean_weight * mean_face + z @ basis.T)

    centres = draw_centres(n_ids, scale.centre_mean_weight)

    # Look-alikes: re-draw some identities close to another one.
    n_pairs = int(round(n_ids * lookalike_share / 2))
    multi = np.flatnonzero(sizes >= 3)
    pairs: list[tuple[int, int]] = []
    if n_pairs and len(multi) >= 2:
        chosen = rng.choice(multi, size=min(2 * n_pairs, len(multi) // 2 * 2), replace=False)
        for a, b in chosen.reshape(-1, 2):
            offset = rng.standard_normal(dim)
            offset -= offset.dot(centres[a]) * centres[a]
            target = rng.uniform(*scale.lookalike_distance)
            # Chord length between unit vectors at angle t: 2 sin(t / 2).
            angle = 2.0 * np.arcsin(target / 2.0)
            centres[b] = np.cos(angle) * centres[a] + np.sin(angle) * l2_normalize(offset)
            pairs.append((int(a), int(b)))

    spread = rng.uniform(*scale.spread, size=n_ids)
    identities = np.repeat(np.arange(n_ids), sizes)
    modes = centres[identities].copy()
    for person in np.flatnonzero(sizes >= 40):
        n_modes = int(rng.integers(1, 4))
        if n_modes == 1:
            continue
        offsets = l2_normalize(rng.standard_normal((n_modes, dim)))
        mode_centres = l2_normalize(centres[person] + scale.mode_offset * offsets)
        members = np.flatnonzero(identities == person)
        modes[members] = mode_centres[rng.integers(0, n_modes, size=len(members))]

    quality = rng.lognormal(0.0, 0.15, size=len(identities))
    hard = rng.random(len(identities)) < hard_share
    quality[hard] *= rng.uniform(1.4, 2.0, size=int(hard.sum()))
    noise = rng.standard_normal((len(identities), dim)) / np.sqrt(dim)
    faces = l2_normalize(modes + (spread[identities] * quality)[:, None] * noise)

    outliers = draw_centres(n_outliers, scale.outlier_mean_weight) if n_outliers else np.empty((0, dim))
    vectors = np.vstack([faces, outliers]).astype(np.float32)
    labels = np.concatenate([identities, n_ids + np.arange(n_outliers)])
    is_outlier = np.concatenate([np.zeros(len(faces), bool), np.ones(n_outliers, bool)])

    order = rng.permutation(len(vectors))  # a library is not sorted by person
    vectors = l2_normalize(vectors[order]).astype(np.float32)
    return SyntheticFaces(vectors=vectors, identities=labels[order], is_outlier=is_outlier[order],
                          lookalike_pairs=pairs)


def make_blobs_on_sphere(
    sizes: list[int], dim: int = 3, spread: float = 0.05, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Small well-separated unit-norm blobs (for tests): returns (vectors float32, identity ids)."""
    rng = np.random.default_rng(seed)
    centres = l2_normalize(rng.standard_normal((len(sizes), dim)))
    labels = np.repeat(np.arange(len(sizes)), sizes)
    vectors = l2_normalize(centres[labels] + spread * rng.standard_normal((len(labels), dim)))
    return vectors.astype(np.float32), labels
