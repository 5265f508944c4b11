"""How faces are grouped into people: the engine's parameters and their defaults for a library's size."""

from __future__ import annotations

from dataclasses import dataclass

# The passes after HDBSCAN run in this order: the precision pass (``prune.py``), the recall pass
# (``recall_pass.py``) on the groups it cleaned, then the pair rule once more (``late_pair_distance``) among the
# faces still unsorted. The thresholds below are on the base model's scale (``cluster_params`` scales them
# with the model). How they were chosen (the last retuning): ``benchmarks/grouping_tune.py`` groups the LFW
# people whose name hashes to fold 0 (sha256) as a library of their own, then fold 1's, then all of LFW and
# the degraded corrections library (158 people, 3,291 small JPEG-damaged faces), mirror-averaged vectors,
# central face of each photo scored. Chosen: the best fold-0 BCubed F, among settings within 0.0005 of it
# (a tie) the one with the best degraded F whose degraded precision stays within 0.002; fold 1 checks it and
# all of LFW is only reported. BCubed F / precision / recall, before (recall pass first, attaching 0.38 /
# ratio 1.13, precision pass 0.35 / 1.05 / 3 nearest, no late pairs) -> now:
#   fold 0   0.9583/0.9675/0.9491 -> 0.9633/0.9801/0.9471
#   fold 1   0.9548/0.9625/0.9472 -> 0.9607/0.9748/0.9470
#   all LFW  0.9521/0.9647/0.9397 -> 0.9570/0.9737/0.9409
#   degraded 0.4637/0.9545/0.3062 -> 0.4919/0.9532/0.3315
# Step by step (fold 0 / all LFW / degraded F): the precision pass before the recall pass alone 0.9584 /
# 0.9524 / 0.4814 (a face it frees may be attached to its true group); the thresholds below without late
# pairs 0.9610 / 0.9548 / 0.4911 (degraded precision 0.9594); with late pairs within 0.32 (now) 0.9633 /
# 0.9570 / 0.4919 (0.30: 0.9620 fold 0 in an earlier grid; 0.33: 0.9632 / 0.9564). Near ties on fold 0:
# 6 nearest, ratio 1.1 0.9638 / 0.9573 / 0.4771; ratio 1.12 0.9637 / 0.9571 / 0.4850; recall ratio 1.08
# 0.9636 / 0.9561 / 0.5078 (degraded precision 0.9472). Attaching within 0.38 at ratio 1.13 (before) on top
# of the rest: 0.9622 / 0.9554 / 0.4583; prune distance 0.34 / 0.36: 0.9635 / 0.9566 and 0.9635 / 0.9572;
# 4 nearest in the recall pass 0.9630. Not taken: min_samples 1 (fold 0 0.9618 at best, and the sensitivity
# knob needs room below), min_cluster_size 2 (degraded precision 0.88), leaf selection (fold 0 0.83),
# cluster_selection_epsilon 0.25 and max_spread 0.38-0.42 (no change), joining groups (below).
#
# Earlier, recall pass before the precision pass, chosen with ``benchmarks/recall_tune.py`` (the best fold-0
# F whose precision is not below the grouping without the pass; vectors without the mirror average):
# attaching within 0.38, ratio 1.13 replaced the stray rule (all LFW 0.9324/0.9412 -> 0.9378/0.9467; ratio 1.1
# lost precision, on top of the stray rule the ratio test added almost nothing, so it replaces it). Joining
# groups (average of the 3 closest cross pairs <= 0.27-0.33, mean cross distance <= 0.36-0.44) lowered
# precision at every setting then, and still does after the precision pass (0.27/0.40 on top of the settings
# below: no join on either fold, all LFW 0.9570 -> 0.9562, P 0.9737 -> 0.9720), so it is off.
RECALL_JOIN_DISTANCE = 0.0
RECALL_JOIN_SPREAD = 0.40
RECALL_ATTACH_DISTANCE = 0.33
RECALL_RATIO = 1.10
RECALL_NEAREST = 3

# The precision pass (``prune.py``): a grouped face whose PRUNE_NEAREST nearest faces of its own group are on
# average farther than PRUNE_DISTANCE, or whose best other group's are closer than PRUNE_RATIO x that, is left
# unsorted (figures above; earlier, at the end of grouping, ``benchmarks/prune_tune.py`` chose 0.35 / 1.05 /
# 3 nearest: all LFW 0.9446 -> 0.9521).
PRUNE_DISTANCE = 0.35
PRUNE_RATIO = 1.08
PRUNE_NEAREST = 5
# ... only from this many faces: it was tuned on libraries of 3,000-16,000 faces, and on a small library of
# few people it costs more than it saves (the 24 faces of ``bald_guys.jpg``, 4 people x 6, lost 2 faces).
PRUNE_FROM = 2_000
# Pairs among the faces still unsorted after both passes (the pair rule's mutual nearest faces), only where
# the precision pass runs: it frees faces HDBSCAN had put in a wrong group, and two of them that are each
# other's nearest face are nearly always one person (figures above).
LATE_PAIR_DISTANCE = 0.32


@dataclass(frozen=True)
class ClusterParams:
    """How faces are grouped into people. Distances are between face vectors (same person: usually < 0.6).

    min_cluster_size: the smallest group of photos that becomes a person; smaller groups stay unsorted.
    min_samples: how many close photos a face needs around it to count as a solid member rather than a
        stray; higher means more faces left unsorted but fewer wrong merges.
    cluster_selection_epsilon: groups closer than this distance are never split apart (0 = off, the
        default). An absolute distance, so it depends on the embedder: on our LFW embeddings anything above
        ~0.8x the median core distance (about 0.25) starts merging different people, and 0.35 merges
        almost everyone.
    cluster_selection_method: "eom" picks the most stable groups (can prefer big merged groups); "leaf"
        picks the finest groups (more, smaller, purer people).
    k: neighbours each face is linked to when building the similarity graph (speed/accuracy trade-off,
        at least min_samples); 15-30 is plenty.
    bridge_partners: after a first pass, each small group of faces is also linked exactly to this many
        nearby groups, so one person's distinct looks (e.g. with and without glasses) stay connected
        even when each look has more than k photos; 0 turns this off.
    attach_distance: the farthest a face may be from a person's faces to be attached to that person when a
        group must be split between people or a face must move (constraints). 0.32 on our LFW embeddings:
        a face's nearest face of the same person is within 0.35 for 95% of faces, while its nearest face of
        another person is closer than 0.31 for only 5%.
    stray_distance: a face left unsorted joins the group of its nearest grouped face when that face is this
        near (0 = off; 0.30 by default, see ``refine.py``).
    pair_distance: two unsorted faces that are each other's nearest face, this near, become a group of two
        even below ``min_cluster_size`` (look-alike strays are almost always one person; 0 = off; 0.33 by
        default).
    allow_single_cluster: allow the answer "everyone is one person" (for tiny libraries of one person).
    max_spread: a group whose typical pair of faces is farther apart than this (the median distance over
        up to 200 of its faces) is not one person: it is split into the groups HDBSCAN finds inside it
        (0 = off; 0.45 by default, about LFW's same/different threshold). It stops HDBSCAN's "excess of
        mass" choice from taking one giant group of many people, which happened on a library of 3,291
        small degraded faces (3 groups, BCubed F 0.17; median pair distance in the giant group 0.51,
        while the 294 groups of a run with slightly different embeddings stayed at or below 0.43).
    knn_method: how neighbours are found: "exact" (every pair compared), "approximate" (only faces in nearby
        k-means cells, about 2x less work at 100k faces, ~95% of neighbours found, same clusters in
        practice), or "auto": exact below ``approximate_from`` faces, approximate from there on.
    recall_pass: after grouping, join groups that are one person and attach unsorted faces, on strong
        evidence only (``recall_pass.py``; off here, on in ``default_params``). Its distances:
    recall_join_distance: two groups are joined when the average of their 3 closest cross pairs is within
        this (0 = no joining) ...
    recall_join_spread: ... and the average distance between all their faces is within this.
    recall_attach_distance: an unsorted face joins the group whose ``recall_nearest`` nearest faces are on average
        within this (0 = no attaching) ...
    recall_ratio: ... and the runner-up group is at least this many times as far.
    recall_nearest: how many of a group's nearest faces that average takes. With attaching on, the pass
        replaces the ``stray_distance`` rule.
    prune_distance: before the recall pass, a grouped face whose ``prune_nearest`` nearest faces of its own
        group are on average farther than this is left unsorted (``prune.py``; 0 = off) ...
    prune_ratio: ... and so is one whose best other group is closer than this many times its own
        (0 = off).
    prune_nearest: how many of a group's nearest faces those averages take.
    late_pair_distance: after both passes (the precision pass runs first, then the recall pass), the pair
        rule once more with this distance: faces the precision pass took out of a wrong group may be each
        other's nearest face (0 = off).
    """

    min_cluster_size: int = 3
    min_samples: int = 2
    cluster_selection_epsilon: float = 0.0
    cluster_selection_method: str = "eom"
    k: int = 16
    attach_distance: float = 0.32
    stray_distance: float = 0.0
    pair_distance: float = 0.0
    allow_single_cluster: bool = False
    max_spread: float = 0.45
    bridge_partners: int = 8
    knn_method: str = "auto"
    approximate_from: int = 40_000
    recall_pass: bool = False
    recall_join_distance: float = 0.0
    recall_join_spread: float = 0.0
    recall_attach_distance: float = 0.0
    recall_ratio: float = 1.2
    recall_nearest: int = 3
    prune_distance: float = 0.0
    prune_ratio: float = 0.0
    prune_nearest: int = 3
    late_pair_distance: float = 0.0

    def validate(self) -> None:
        """Raise ValueError for settings hdbscan would reject."""
        if self.min_cluster_size < 2:
            raise ValueError("min_cluster_size must be at least 2")
        if self.min_samples < 1:
            raise ValueError("min_samples must be at least 1")
        if self.cluster_selection_epsilon < 0:
            raise ValueError("cluster_selection_epsilon must be >= 0")
        if self.cluster_selection_method not in ("eom", "leaf"):
            raise ValueError("cluster_selection_method must be 'eom' or 'leaf'")
        if self.k < 1:
            raise ValueError("k must be at least 1")
        if self.max_spread < 0:
            raise ValueError("max_spread must be >= 0")
        if self.knn_method not in ("auto", "exact", "approximate"):
            raise ValueError("knn_method must be 'auto', 'exact' or 'approximate'")
        if min(self.recall_join_distance, self.recall_join_spread, self.recall_attach_distance) < 0:
            raise ValueError("the recall pass's distances must be >= 0")
        if self.recall_ratio < 1:
            raise ValueError("recall_ratio must be at least 1")
        if self.recall_nearest < 1:
            raise ValueError("recall_nearest must be at least 1")
        if self.prune_distance < 0 or self.prune_ratio < 0:
            raise ValueError("the precision pass's distance and ratio must be >= 0")
        if self.prune_nearest < 1:
            raise ValueError("prune_nearest must be at least 1")
        if self.late_pair_distance < 0:
            raise ValueError("late_pair_distance must be >= 0")


def default_params(n_faces: int, sensitivity: float = 0.5) -> ClusterParams:
    """Settings for a library of ``n_faces`` faces.

    Larger libraries hold more strangers seen once or twice, so the smallest group that becomes a person
    grows with the library (2 faces below 2,000, 3 below 50,000, 4 below 200,000, then 5), which keeps the
    People view from filling with pairs of strangers; ``min_samples`` is 1 below 2,000 faces, else 2 (with 2,
    a small library of mostly strangers sometimes collapsed into one giant group: 1 of 3 random samples of
    300 LFW photos, exact HDBSCAN alike). A library that is essentially one person needs
    ``allow_single_cluster``, as in any HDBSCAN.

    ``sensitivity`` (0..1, default 0.5) is the single user-facing knob, "how readily faces are grouped":
    higher sorts more faces into groups (fewer left unsorted, more and smaller groups, more mistakes);
    lower keeps only surer groups (fewer groups, purer, more faces left unsorted). It moves
    ``min_samples`` by one (-1 above 0.75, +1 below 0.25); on LFW min_samples 1 / 2 / 3 gave 1146 / 852 /
    549 groups with 4920 / 5954 / 7030 faces unsorted. It deliberately leaves the merge distance
    (cluster_selection_epsilon) at 0, since a distance depends on the embedder's scale.

    Measured on this project's embeddings of all LFW photos (15,918 faces, central face of each photo
    scored): min_cluster_size 3 with min_samples 1 / 2 / 3 gives BCubed F 0.918 / 0.918 / 0.893 and
    precision 0.926 / 0.961 / 0.971 (pairwise F 0.977 at 2; published best on LFW 0.87). Giving unsorted
    faces a second chance (``stray_distance`` 0.30, and pairs within 0.33 when groups of two are allowed)
    raises it: min_cluster_size 3, min_samples 2 gives BCubed F 0.935 (P 0.942, R 0.928), pairwise F
    0.976. On a family-album-like sample (the 12 LFW people with the most photos, 52-530 each, plus 300
    strangers seen once) these settings keep every one of the 12 in a single group. Groups of two with
    ``min_samples`` 2 are not used: on a hard library (158 LFW people, faces 25-40 px, JPEG q25-50, half
    grey; 3,291 faces) they collapsed into one group of 2,934 faces (BCubed F 0.17), while 3 / 2 gives
    108 groups (BCubed F 0.46). With the precision pass, the recall pass and late pairs behind HDBSCAN (from
    2,000 faces; thresholds and figures in this module's comments), all LFW with mirror-averaged vectors gives
    BCubed F 0.957 (P 0.974, R 0.941) and that degraded library 0.492 (P 0.953, R 0.332).
    """
    if not 0.0 <= sensitivity <= 1.0:
        raise ValueError("sensitivity must be between 0 and 1")
    if n_faces < 2_000:
        min_cluster_size, min_samples = 2, 1
    elif n_faces < 50_000:
        min_cluster_size, min_samples = 3, 2
    elif n_faces < 200_000:
        min_cluster_size, min_samples = 4, 2
    else:
        min_cluster_size, min_samples = 5, 2
    if sensitivity < 0.25:
        min_samples += 1
    elif sensitivity > 0.75:
        min_samples = max(1, min_samples - 1)
    return ClusterParams(min_cluster_size=min_cluster_size, min_samples=min_samples, stray_distance=0.30,
                         pair_distance=0.33, recall_pass=True, recall_join_distance=RECALL_JOIN_DISTANCE,
                         recall_join_spread=RECALL_JOIN_SPREAD, recall_attach_distance=RECALL_ATTACH_DISTANCE,
                         recall_ratio=RECALL_RATIO, recall_nearest=RECALL_NEAREST,
                         prune_distance=PRUNE_DISTANCE if n_faces >= PRUNE_FROM else 0.0,
                         prune_ratio=PRUNE_RATIO if n_faces >= PRUNE_FROM else 0.0, prune_nearest=PRUNE_NEAREST,
                         late_pair_distance=LATE_PAIR_DISTANCE if n_faces >= PRUNE_FROM else 0.0)
