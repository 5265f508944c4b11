"""Grouping settings against the user's effort: regroup a scanned library with changed cluster parameters (or
pair rules) and measure a cheap proxy of the effort benchmark's cost and BCubed, or run its real oracles.

    python benchmarks/effort_tune.py group --db LIB.sqlite --set pair_distance=0.36 --set prune_distance=0.36
    python benchmarks/effort_tune.py oracle --db LIB.sqlite --style careful --before app_steal --steal 1.2
    python benchmarks/effort_tune.py cli --before app_steal --steal 1.2 -- eval cluster --data LFW --library COPY --json

Nothing in faceorg changes: in this process ``faceorg.people.clustering.cluster_params`` is wrapped and its
result ``dataclasses.replace``-d with the ``--set`` values (absolute distances, after the model's scale), and
the pair rule (``faceorg.cluster.refine.pair_strays``, run before the recall pass) can be replaced
(``--before``) and one added after the recall pass (``--after``); see :func:`patch_pair_rule`. Without
options it is the app's grouping. The library given is never written: each command works on a copy under
``--work``.

``group`` regroups the copy (people reset first, as ``faceorg eval cluster`` does) and prints one JSON line:
BCubed F/P/R of the central faces (``faceorg.eval.cluster_eval``'s scoring: the same figures as ``faceorg
eval cluster``), the groups by kind (a person's pair, strangers only, a person with strangers, two people
...), the unsorted faces of people to sort, and ``proxy``: the careful oracle's groups pass
(``effort.oracle.plan_group``, strangers ignored at once at the end) plus picking the unsorted faces of
people nobody's group holds (faces + 1 per person) plus one answer per unsorted face of a grouped person,
per 100 faces (it ranks settings; the real oracle's sweeps cost more than it counts). ``oracle`` runs the
effort benchmark's ``run_oracle`` (features ``Features.now()``) and prints its result as one JSON line.
``cli`` runs the faceorg command line given after ``--`` with the same changes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter, defaultdict
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np

import faceorg.people.clustering as clustering
from effort.oracle import Features, grouping, plan_cost, plan_group
from effort.truth import face_truth, people_to_sort, snapshot
from faceorg.cluster.metrics import score_clustering
from faceorg.cluster.params import ClusterParams
from faceorg.eval.cluster_eval import _reset_people, central_face_labels
from faceorg.store import open_library
from faceorg.store.backups import copy_database

_ORIGINAL = clustering.cluster_params


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``name=value`` pairs for ClusterParams fields, typed as the field's default."""
    kinds = {f.name: type(getattr(ClusterParams(), f.name)) for f in fields(ClusterParams)}
    out: dict[str, Any] = {}
    for item in items:
        name, _, value = item.partition("=")
        if name not in kinds:
            raise SystemExit(f"effort_tune: error: unknown parameter {name!r}")
        kind = kinds[name]
        out[name] = (value.lower() in ("1", "true", "yes")) if kind is bool else kind(value)
    return out


def patch(overrides: dict[str, Any]) -> None:
    """Make the app group with ``overrides`` on top of its own settings (this process only)."""

    def cluster_params(*args: Any, **kwargs: Any) -> ClusterParams:
        return replace(_ORIGINAL(*args, **kwargs), **overrides)

    clustering.cluster_params = cluster_params


def pair_unsorted(labels: np.ndarray, graph: Any, pair_distance: float, steal: float = 0.0) -> np.ndarray:
    """A wider pair rule (``--pair-rule unsorted``): two unsorted faces that are each other's nearest
    *unsorted* face (grouped neighbours skipped), within ``pair_distance``, become a group of two.
    ``steal`` > 0 (``--pair-rule steal``): also an unsorted face and a grouped face that are each other's
    nearest face within ``pair_distance``, when the grouped face's own group is on average (its 3 nearest
    faces there) farther than ``steal`` x their distance: the grouped face leaves its group for the pair."""
    out = labels.copy()
    if pair_distance <= 0:
        return out
    idx, dist = graph.indices, graph.distances
    next_label = int(out.max(initial=-1)) + 1
    if steal > 0:
        out = steal_pairs(out, graph, pair_distance, steal)
        next_label = int(out.max(initial=-1)) + 1
    unsorted = out < 0

    def nearest_unsorted(i: int) -> tuple[int, float]:
        for n, d in zip(idx[i], dist[i]):
            if n >= 0 and n != i and unsorted[n]:
                return int(n), float(d)
        return -1, float("inf")

    near = {int(i): nearest_unsorted(int(i)) for i in np.flatnonzero(unsorted)}
    for i, (j, d) in near.items():
        if j > i and near.get(j, (-1, 0.0))[0] == i and d <= pair_distance and out[i] < 0 and out[j] < 0:
            out[i] = out[j] = next_label
            next_label += 1
    return out


def steal_pairs(labels: np.ndarray, graph: Any, pair_distance: float, steal: float) -> np.ndarray:
    """Only the steal part of :func:`pair_unsorted` (no pairs of two unsorted faces)."""
    out = labels.copy()
    if pair_distance <= 0:
        return out
    idx, dist = graph.indices, graph.distances
    next_label = int(out.max(initial=-1)) + 1
    sizes = np.bincount(out[out >= 0], minlength=next_label)
    for i in np.flatnonzero(labels < 0):
        j = int(idx[i, 0])
        if j < 0 or out[i] >= 0 or labels[j] < 0 or out[j] != labels[j] or idx[j, 0] != i or dist[i, 0] > pair_distance:
            continue
        own = [d for n, d in zip(idx[j], dist[j]) if n >= 0 and out[n] == out[j] and n != j][:3]
        if sizes[out[j]] <= 3 or (len(own) == 3 and np.mean(own) <= steal * dist[i, 0]):
            continue
        sizes[out[j]] -= 1
        out[i] = out[j] = next_label
        next_label += 1
    return out


RULES = ("none", "app", "unsorted", "steal", "steal_only", "app_steal")


def patch_pair_rule(before: str, after: str, steal: float) -> None:
    """Which pair rule runs before the recall pass (where the app runs its own, ``refine.pair_strays``) and
    which after it (the recall pass attaches unsorted faces to groups): none, app (mutual nearest faces),
    unsorted (mutual nearest unsorted faces), steal (unsorted, and a loosely held grouped face may leave its
    group for a pair, see :func:`pair_unsorted`), steal_only (only that), app_steal (steal_only, then app)."""
    import faceorg.cluster.engine as engine
    import faceorg.cluster.refine as refine

    original = refine.pair_strays

    def rule_fn(rule: str) -> Any:
        def apply(labels: np.ndarray, graph: Any, d: float) -> np.ndarray:
            if rule == "none":
                return labels
            if rule == "app":
                return original(labels, graph, d)
            if rule == "steal_only":
                return steal_pairs(labels, graph, d, steal)
            if rule == "app_steal":
                return original(steal_pairs(labels, graph, d, steal), graph, d)
            return pair_unsorted(labels, graph, d, steal if rule == "steal" else 0.0)
        return apply

    refine.pair_strays = rule_fn(before)
    if after == "none":
        return
    recall = engine._recall
    then = rule_fn(after)

    def recall_then_pairs(x: np.ndarray, labels: np.ndarray, strengths: np.ndarray, graph: Any,
                          params: ClusterParams, *rest: Any) -> Any:
        out, out_strengths, report = recall(x, labels, strengths, graph, params, *rest)
        paired = then(out, graph, params.pair_distance)
        new = (out < 0) & (paired >= 0)
        out_strengths = out_strengths.astype(np.float64).copy()
        out_strengths[new] = 0.5
        return paired, out_strengths, report

    engine._recall = recall_then_pairs  # type: ignore[assignment]


def work_copy(db: Path, work: Path, label: str) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    target = work / f"{label}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    copy_database(db, target)
    return target


def bcubed(library: Any) -> dict[str, float]:
    names, predicted, _ = central_face_labels(library)
    _, truth = np.unique(names, return_inverse=True)
    s = score_clustering(predicted, truth)
    return {"f": round(s.bcubed.f, 4), "p": round(s.bcubed.precision, 4), "r": round(s.bcubed.recall, 4)}


def group_kinds(library: Any) -> dict[str, Any]:
    """Groups by what they hold, unsorted faces of people to sort, and the careful-groups-pass proxy."""
    truth = face_truth(library)
    to_sort = people_to_sort(truth)
    state = snapshot(library)
    groups: dict[int, list[int]] = defaultdict(list)
    for s in state.values():
        if s.person_id is not None and s.status == "normal":
            groups[s.person_id].append(s.id)
    kinds: Counter[str] = Counter()
    grouped_people: set[str] = set()
    steps_cost = 0
    for gid, faces in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        ids = [truth.get(f) if truth.get(f) in to_sort else None for f in faces]
        people = Counter(i for i in ids if i is not None)
        strangers = ids.count(None)
        size = "pair" if len(faces) == 2 else "group"
        if not people:
            kinds[f"{size}_strangers"] += 1
        elif len(people) == 1 and not strangers:
            kinds[f"{size}_one_person"] += 1
        elif len(people) == 1:
            kinds[f"{size}_person_and_strangers"] += 1
        else:
            kinds[f"{size}_several_people"] += 1
        if people:
            grouped_people.add(min(people, key=lambda n: (-people[n], n)))
            steps_cost += plan_cost(plan_group(gid, sorted(faces), truth, to_sort, "careful", True))
    unsorted: Counter[str] = Counter()
    for f, t in truth.items():
        if t in to_sort and state[f].person_id is None and state[f].status == "normal":
            unsorted[t] += 1
    lone = {p: n for p, n in unsorted.items() if p not in grouped_people}
    proxy = steps_cost + 2 + sum(n + 1 for n in lone.values()) + sum(
        n for p, n in unsorted.items() if p in grouped_people)
    sizes = Counter(sum(1 for t in truth.values() if t == p) for p in to_sort)
    two_face = {p for p, n in Counter(t for t in truth.values() if t in to_sort).items() if n == 2}
    return {
        "faces": len(truth),
        "people_to_sort": len(to_sort),
        "people_sizes_2": sizes.get(2, 0),
        "groups": dict(sorted(kinds.items())),
        "unsorted_to_sort_faces": sum(unsorted.values()),
        "people_without_group": len(to_sort - grouped_people),
        "two_face_people_without_group": len(two_face - grouped_people),
        "groups_pass_cost": steps_cost,
        "proxy": proxy,
        "proxy_per_100": round(100.0 * proxy / len(truth), 3),
    }


def cmd_group(args: argparse.Namespace, overrides: dict[str, Any]) -> dict[str, Any]:
    target = work_copy(args.db, args.work, "group")
    with open_library(target) as library:
        _reset_people(library)
        start, cpu = time.perf_counter(), time.process_time()
        grouping(Features.now())(library)
        seconds = (round(time.perf_counter() - start, 1), round(time.process_time() - cpu, 1))
        out = {"bcubed": bcubed(library), **group_kinds(library), "group_wall_cpu_s": seconds}
    return out


def cmd_oracle(args: argparse.Namespace, overrides: dict[str, Any]) -> dict[str, Any]:
    import effort_bench

    target = work_copy(args.db, args.work, "oracle-src")
    result = effort_bench.run_oracle(target, args.work, "tune", args.style, Features.now())
    keep = ("actions", "actions_per_100_faces", "ideal_per_100_faces", "parts", "by_kind", "by_pass",
            "unfinished_faces", "faces", "people", "answers", "seconds", "group_seconds", "n_failures")
    return {k: result[k] for k in keep if k in result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("group", "oracle", "cli"))
    parser.add_argument("--db", type=Path, help="a scanned library (only read: copied first)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/effort_tune"), help="folder for the copies")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a ClusterParams field to override (repeatable)")
    parser.add_argument("--style", default="careful", choices=("careful", "hurried"))
    parser.add_argument("--before", default="app", choices=RULES,
                        help="the pair rule before the recall pass (default app: the app's; see patch_pair_rule)")
    parser.add_argument("--after", default="none", choices=RULES, help="the pair rule after the recall pass")
    parser.add_argument("--steal", type=float, default=1.0, help="the steal rule's ratio (default 1.0)")
    parser.add_argument("--label", default="", help="a name for this setting in the output")
    argv = list(sys.argv[1:] if argv is None else argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    cli_args = argv[cut + 1:]  # cli: the faceorg command line after "--"
    overrides = parse_sets(args.set)
    patch(overrides)
    patch_pair_rule(args.before, args.after, args.steal)
    if args.command == "cli":  # e.g. cli --before app_steal -- --db COPY eval cluster --library COPY --json
        from faceorg.cli.main import main as faceorg_main

        return int(faceorg_main(cli_args) or 0)
    if args.db is None:
        parser.error("--db is required")
    load = list(os.getloadavg())
    out = (cmd_group if args.command == "group" else cmd_oracle)(args, overrides)
    record = {"command": args.command, "db": str(args.db), "label": args.label, "set": overrides,
              "pairs": {"before": args.before, "after": args.after, "steal": args.steal},
              "style": args.style if args.command == "oracle" else None, "load_start": load,
              "load_end": list(os.getloadavg()), **out}
    print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
