"""How far to ship a fine-tuning: the geometry guard.

The model shipped after deeper retraining lies a fraction of the way from the starting weights to the
fine-tuned ones: the largest of ``SHIP_FRACTIONS`` that keeps the geometry of the library's faces (the
correlation of their pairwise distances before and after) at ``MIN_GEOMETRY_KEPT`` or more. Measured on
the corrections benchmark: one fine-tuning shipped at 0.4 / 0.7 / 1.0 gave LFW accuracy on people
outside the library +0.15 / +0.02 / -0.09 points against the base model and later photos sent to the
right person +2.0 / +4.7 / +9.5 points; across three fine-tunings, geometry kept 0.90 / 0.79 / 0.74 went
with LFW changes +0.02 / -0.46 / -0.84 points.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from faceorg.progress import Progress
from faceorg.vectors import l2_normalize, upper_pair_distances

log = logging.getLogger(__name__)

SHIP_FRACTION = 0.7  # the most shipped
SHIP_FRACTIONS = (0.7, 0.55, 0.4, 0.3, 0.2)
MIN_GEOMETRY_KEPT = 0.88
GEOMETRY_FACES = 400


def geometry_kept(before: np.ndarray, after: np.ndarray) -> float:
    """Correlation of all pairwise distances between the same faces under two models (1: same geometry)."""
    a, b = upper_pair_distances(before), upper_pair_distances(after)
    if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
        return 1.0
    return float(np.corrcoef(a, b)[0, 1])


def ship_fraction(start: Any, tuned: Any, load_chips: Any, n_faces: int, seed: int,
                  progress: Progress) -> tuple[float, float]:
    """The largest of ``SHIP_FRACTIONS`` of the way from ``start`` to ``tuned`` whose faces keep their
    geometry (``MIN_GEOMETRY_KEPT``), else the smallest; with the geometry kept there (on a seeded sample
    of ``GEOMETRY_FACES`` of the ``n_faces`` faces ``load_chips`` reads)."""
    from faceorg.train.chips import embed_chips
    from faceorg.train.interpolate import interpolate_weights

    rows = np.sort(np.random.default_rng([seed, 41]).choice(n_faces, min(GEOMETRY_FACES, n_faces), replace=False))
    progress.start("Keeping other people where they were", total=len(SHIP_FRACTIONS))
    reference = l2_normalize(embed_chips(start, load_chips, rows))
    for fraction in SHIP_FRACTIONS:
        progress.check_cancelled()
        candidate = interpolate_weights(start, tuned, fraction)
        kept = geometry_kept(reference, l2_normalize(embed_chips(candidate, load_chips, rows)))
        progress.advance()
        if kept >= MIN_GEOMETRY_KEPT:
            break
    log.info("shipping at most %.0f%% of the fine-tuning (geometry kept %.3f)", 100 * fraction, kept)
    return fraction, kept
