"""hdbscan's private tree functions: used only through faceorg.cluster.hdbscan_adapter, and as tested."""

from __future__ import annotations

import re
import types
from pathlib import Path

import numpy as np

import faceorg
from faceorg.cluster import hdbscan_adapter
from faceorg.cluster.hdbscan_adapter import PRIVATE_API, api_problems, flat_clusters, leaf_clusters


def test_hdbscan_private_functions_are_as_tested() -> None:
    problems = api_problems()
    assert not problems, "hdbscan changed a private function the engine relies on:\n" + "\n".join(problems)


def test_a_changed_or_missing_function_is_named() -> None:
    fake = types.ModuleType("fake_hdbscan_tree")

    def condense_tree(linkage: np.ndarray, min_size: int = 10) -> np.ndarray:  # a renamed parameter
        return linkage

    def compute_stability(condensed_tree: np.ndarray) -> np.ndarray:
        return condensed_tree

    vars(fake).update(condense_tree=condense_tree, compute_stability=compute_stability)
    problems = api_problems(fake)
    assert any("condense_tree" in p and "min_size" in p for p in problems)
    assert any("get_clusters is gone" in p for p in problems)
    assert any("outlier_scores is gone" in p for p in problems)
    assert not any("compute_stability" in p for p in problems)
    assert set(PRIVATE_API) == {"condense_tree", "compute_stability", "get_clusters", "outlier_scores"}


def test_only_the_adapter_imports_hdbscan() -> None:
    root = Path(faceorg.__file__).parent
    importers = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                       if re.search(r"^\s*(from|import)\s+hdbscan\b", p.read_text(encoding="utf-8"), re.M))
    assert importers == [str(Path(hdbscan_adapter.__file__).relative_to(root))]


def test_two_well_separated_groups_through_the_adapter() -> None:
    # Single linkage of 3 + 3 points on a line: 0,1,2 at distance 1 apart, 3,4,5 likewise, groups 10 apart.
    linkage = np.array([[0, 1, 1.0, 2], [2, 6, 1.0, 3], [3, 4, 1.0, 2], [5, 8, 1.0, 3], [7, 9, 10.0, 6]],
                       dtype=np.float64)
    labels, strengths, persistence, glosh = flat_clusters(linkage, 3, "eom", False, 0.0)
    assert len(set(labels[:3].tolist())) == 1 and len(set(labels[3:].tolist())) == 1
    assert labels[0] != labels[3] and (labels >= 0).all()
    assert strengths.shape == glosh.shape == (6,) and len(persistence) == 2
    assert leaf_clusters(linkage, 3).tolist() == labels.tolist()
