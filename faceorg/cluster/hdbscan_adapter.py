"""The one place that uses hdbscan's private tree functions (``hdbscan._hdbscan_tree``).

The engine builds its own single-linkage tree (``spanning_tree.py``) and hands it to hdbscan's condensed
tree, stability, flat-cluster selection and GLOSH outlier scores. Those functions are not public API, so
the names and parameters relied on are listed in ``PRIVATE_API`` and checked by :func:`api_problems` (a
test fails naming the function when an hdbscan release changes one); pyproject.toml pins hdbscan to the
minor versions tested.
"""

from __future__ import annotations

import inspect
from types import ModuleType

import numpy as np

from faceorg.memory import settled_import

# hdbscan brings scikit-learn and SciPy: ~70k long-lived objects, made on the grouping's worker thread.
with settled_import():
    from hdbscan import _hdbscan_tree

#: Private function -> the parameters called by name here (in order; later ones may be added upstream).
PRIVATE_API: dict[str, tuple[str, ...]] = {
    "condense_tree": ("hierarchy", "min_cluster_size"),
    "compute_stability": ("condensed_tree",),
    "get_clusters": ("tree", "stability", "cluster_selection_method", "allow_single_cluster",
                     "match_reference_implementation", "cluster_selection_epsilon"),
    "outlier_scores": ("tree",),
}


def api_problems(module: ModuleType = _hdbscan_tree) -> list[str]:
    """What is missing or changed among the private functions relied on (empty when all is as tested)."""
    problems: list[str] = []
    for name, expected in PRIVATE_API.items():
        function = getattr(module, name, None)
        if function is None:
            problems.append(f"hdbscan._hdbscan_tree.{name} is gone")
            continue
        try:
            found = tuple(inspect.signature(function).parameters)
        except (TypeError, ValueError):
            problems.append(f"hdbscan._hdbscan_tree.{name} has no readable signature")
            continue
        if found[:len(expected)] != expected:
            problems.append(f"hdbscan._hdbscan_tree.{name} takes {found}, expected {expected} first")
    return problems


def leaf_clusters(linkage: np.ndarray, min_cluster_size: int) -> np.ndarray:
    """Leaf clusters of the condensed tree of a single-linkage ``linkage`` (finest groups of at least
    ``min_cluster_size`` faces) per face, -1 elsewhere."""
    condensed = _hdbscan_tree.condense_tree(linkage, min_cluster_size)
    labels, _, _ = _hdbscan_tree.get_clusters(condensed, _hdbscan_tree.compute_stability(condensed),
                                              cluster_selection_method="leaf")
    return labels.astype(np.int64)


def flat_clusters(
    linkage: np.ndarray,
    min_cluster_size: int,
    selection_method: str,
    allow_single_cluster: bool,
    selection_epsilon: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """hdbscan's own flat-cluster extraction from a single-linkage ``linkage``:
    (labels, strengths, cluster persistence, GLOSH outlier scores)."""
    condensed = _hdbscan_tree.condense_tree(linkage, min_cluster_size)
    labels, strengths, persistence = _hdbscan_tree.get_clusters(
        condensed,
        _hdbscan_tree.compute_stability(condensed),
        cluster_selection_method=selection_method,
        allow_single_cluster=allow_single_cluster,
        match_reference_implementation=False,
        cluster_selection_epsilon=float(selection_epsilon),
    )
    return labels.astype(np.int64), strengths, persistence, _hdbscan_tree.outlier_scores(condensed)
