"""Grouping faces into people: HDBSCAN on an exact k-NN graph, user constraints, metrics and matching.

Pure functions of numpy arrays (no database, no Qt): the people layer passes vectors and constraints in
and stores the labels that come out.
"""

from faceorg.cluster.constraints import ConstraintReport, Constraints, Move, apply_constraints
from faceorg.cluster.engine import ClusterResult, cluster_embeddings
from faceorg.cluster.knn import KnnGraph
from faceorg.cluster.knn_exact import knn_exact
from faceorg.cluster.match import (
    PersonIndex,
    PersonMatch,
    build_person_index,
    carry_over_labels,
    match_to_people,
)
from faceorg.cluster.metrics import ClusteringScores, bcubed, nmi, pairwise, score_clustering
from faceorg.cluster.params import ClusterParams, default_params

__all__ = [
    "ClusterParams",
    "ClusterResult",
    "ClusteringScores",
    "ConstraintReport",
    "Constraints",
    "KnnGraph",
    "Move",
    "PersonIndex",
    "PersonMatch",
    "apply_constraints",
    "bcubed",
    "build_person_index",
    "carry_over_labels",
    "cluster_embeddings",
    "default_params",
    "knn_exact",
    "match_to_people",
    "nmi",
    "pairwise",
    "score_clustering",
]
