"""Clustering benchmark: speed, peak memory and quality of ``cluster_embeddings`` against exact HDBSCAN.

For each library size, synthetic faces (``faceorg.cluster.synthetic``, seeded, ``--profile``) are written to
a temporary .npy file and clustered in a fresh subprocess. Recorded per run: wall time of the clustering
call, its CPU seconds (all threads), the child's peak resident memory (``VmHWM``, which includes the
interpreter, libraries and loaded vectors; ``baseline_mb`` is the resident size just before clustering),
and the 1-minute load average - the machine is shared, so wall time alone says little. Where affordable
(default up to 20k faces), exact HDBSCAN (``hdbscan.HDBSCAN`` on the dense vectors, default algorithm) runs
in another subprocess with the same parameters. Quality is BCubed precision/recall/F against the synthetic
identities, unclustered faces counting as singletons.

    python benchmarks/cluster_bench.py                  # 5k, 20k, 50k, 100k; exact at 5k and 20k
    python benchmarks/cluster_bench.py --sizes 5000 --json
    python benchmarks/cluster_bench.py --no-exact
    python benchmarks/cluster_bench.py --match 20000     # match_to_people: centres vs nearest face

    python benchmarks/cluster_bench.py --sizes 1000000 --json   # the 1M target: <= 120 s, peak < 4 GiB

With ``--json`` the script prints one JSON object (``seconds_100k``, ``peak_mb_100k``, ``seconds_1m``,
``peak_mb_1m`` (null unless that size ran), ``bcubed_f_gap_20k`` = exact F minus ours in points, and
``sizes``: one entry per size).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from faceorg.cluster.metrics import score_clustering  # noqa: E402
from faceorg.cluster.params import ClusterParams, default_params  # noqa: E402
from faceorg.cluster.synthetic import PROFILES, make_faces  # noqa: E402

DEFAULT_SIZES = (5_000, 20_000, 50_000, 100_000)


def _memory_mb(field: str) -> float | None:
    """``VmHWM`` (peak) or ``VmRSS`` (now) of this process in MB, from /proc (Linux); None elsewhere.

    Used instead of ``ru_maxrss``: Linux folds the parent's peak into a child's ``ru_maxrss`` when the
    child execs (fork or vfork), so a child started from a large parent reports the parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def _worker(mode: str, vectors_path: str, params_json: str, out_path: str) -> None:
    """Child process: cluster the saved vectors with ``mode`` ("ours" or "exact"), save labels, seconds,
    and memory (resident before clustering, peak at the end)."""
    if mode == "ours":
        import faceorg.cluster.engine  # noqa: F401  (imports count in the baseline, not the peak's growth)
    else:
        import hdbscan  # noqa: F401
    vectors = np.load(vectors_path)
    baseline_mb = _memory_mb("VmRSS")
    params = ClusterParams(**json.loads(params_json))
    extra: dict[str, Any] = {}
    start = time.perf_counter()
    cpu_start = time.process_time()
    if mode == "ours":
        from faceorg.cluster.engine import cluster_embeddings

        result = cluster_embeddings(vectors, params)
        labels = result.labels
        extra = {"timings": result.timings, "cpu_timings": result.cpu_timings,
                 "graph_components": result.graph_components, "knn_method": result.knn_method}
    else:
        import hdbscan

        labels = hdbscan.HDBSCAN(
            min_cluster_size=params.min_cluster_size,
            min_samples=params.min_samples,
            cluster_selection_epsilon=params.cluster_selection_epsilon,
            cluster_selection_method=params.cluster_selection_method,
            allow_single_cluster=params.allow_single_cluster,
        ).fit(vectors).labels_
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    np.save(out_path, labels)
    Path(out_path + ".json").write_text(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds,
                                                    "load_avg_1m": os.getloadavg()[0], "baseline_mb": baseline_mb,
                                                    "peak_hwm_mb": _memory_mb("VmHWM"), **extra}))


def _run_child(mode: str, vectors_path: Path, params: ClusterParams, work: Path) -> dict[str, Any]:
    """Run one clustering in a subprocess; returns its labels, seconds and peak RSS in MB."""
    out = work / f"{mode}_labels.npy"
    command = [sys.executable, __file__, "--worker", mode, str(vectors_path), json.dumps(params.__dict__), str(out)]
    child = subprocess.Popen(command, cwd=REPO)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{mode} worker failed with exit code {child.returncode}")
    info = json.loads(Path(str(out) + ".json").read_text())
    info["labels"] = np.load(out)
    # Peak resident memory of the child: VmHWM where /proc exists, else ru_maxrss (KiB on Linux, bytes on macOS).
    info["peak_mb"] = info["peak_hwm_mb"] if info.get("peak_hwm_mb") is not None else usage.ru_maxrss / 1024.0
    info["cpu_seconds_process"] = usage.ru_utime + usage.ru_stime  # whole child, including imports and loading
    return info


def bench_size(n: int, seed: int, exact: bool, work: Path, profile: str = "lfw", knn: str = "auto",
               recall_pass: bool = True) -> dict[str, Any]:
    """Benchmark one library size; returns a JSON-friendly dict."""
    faces = make_faces(n, seed=seed, profile=profile)
    vectors_path = work / f"vectors_{n}.npy"
    np.save(vectors_path, faces.vectors)
    params = replace(default_params(n), knn_method=knn, recall_pass=recall_pass)
    ours = _run_child("ours", vectors_path, params, work)
    scores = score_clustering(ours["labels"], faces.identities)
    entry: dict[str, Any] = {
        "n_faces": n,
        "n_identities": int(len(np.unique(faces.identities))),
        "params": params.__dict__,
        "seconds": round(ours["seconds"], 2),
        "cpu_seconds": round(ours["cpu_seconds"], 2),
        "load_avg_1m": round(ours["load_avg_1m"], 2),
        "peak_mb": round(ours["peak_mb"], 1),
        "baseline_mb": round(ours["baseline_mb"], 1) if ours.get("baseline_mb") is not None else None,
        "timings": {k: round(v, 2) for k, v in ours["timings"].items()},
        "cpu_timings": {k: round(v, 2) for k, v in ours["cpu_timings"].items()},
        "cpu_seconds_process": round(ours["cpu_seconds_process"], 2),
        "graph_components": ours["graph_components"],
        "knn": ours["knn_method"],
        "bcubed": scores.bcubed.__dict__,
        "pairwise": scores.pairwise.__dict__,
        "nmi": scores.nmi,
        "n_clusters": scores.n_clusters,
        "n_noise": scores.n_noise,
    }
    if exact:
        reference = _run_child("exact", vectors_path, params, work)
        exact_scores = score_clustering(reference["labels"], faces.identities)
        entry["exact"] = {
            "seconds": round(reference["seconds"], 2),
            "cpu_seconds": round(reference["cpu_seconds"], 2),
            "peak_mb": round(reference["peak_mb"], 1),
            "bcubed": exact_scores.bcubed.__dict__,
            "n_clusters": exact_scores.n_clusters,
        }
        entry["bcubed_f_gap_points"] = round(100.0 * (exact_scores.bcubed.f - scores.bcubed.f), 3)
    vectors_path.unlink()
    return entry


def bench_match(n: int, seed: int, profile: str) -> list[dict[str, Any]]:
    """``match_to_people`` methods on one synthetic library: people with 8+ faces are named from 3 or 10
    confirmed faces; at the distance that accepts 1% of strangers, the share of their other faces found."""
    from faceorg.cluster.match import build_person_index, match_to_people

    faces = make_faces(n, seed=seed, profile=profile)
    ids = faces.identities
    people, counts = np.unique(ids, return_counts=True)
    named = people[counts >= 8]
    strangers = np.flatnonzero(~np.isin(ids, named))
    rng = np.random.default_rng(seed)
    shuffled = {int(p): rng.permutation(np.flatnonzero(ids == p)) for p in named}
    rows: list[dict[str, Any]] = []
    for n_confirmed in (3, 10):
        confirmed = np.concatenate([f[:min(n_confirmed, len(f) // 2)] for f in shuffled.values()])
        queries = np.concatenate([f[min(n_confirmed, len(f) // 2):] for f in shuffled.values()])
        for method in ("centres", "nearest_face"):
            index = build_person_index(faces.vectors[confirmed], ids[confirmed], method=method)
            found = match_to_people(faces.vectors[queries], index, margin=0.0, max_distance=np.inf)
            threshold = float(np.quantile(match_to_people(faces.vectors[strangers], index, margin=0.0,
                                                          max_distance=np.inf).distances, 0.01))
            accepted = found.distances <= threshold
            rows.append({"confirmed_per_person": n_confirmed, "method": method, "threshold": round(threshold, 4),
                         "found": float(np.mean(accepted & (found.labels == ids[queries]))),
                         "wrong_person": float(np.mean(accepted & (found.labels != ids[queries])))})
    return rows


def _row(entry: dict[str, Any]) -> str:
    b = entry["bcubed"]
    exact = entry.get("exact")
    exact_cols = (f"{exact['seconds']:>9.1f} {exact['bcubed']['f']:>8.4f} {entry['bcubed_f_gap_points']:>+7.2f}"
                  if exact else f"{'-':>9} {'-':>8} {'-':>7}")
    return (f"{entry['n_faces']:>7} {entry['seconds']:>8.1f} {entry['cpu_seconds']:>7.1f} {entry['peak_mb']:>8.0f} "
            f"{b['precision']:>7.4f} {b['recall']:>7.4f} {b['f']:>7.4f} {exact_cols} "
            f"{entry['n_clusters']:>7} {entry['n_noise']:>7} {entry['load_avg_1m']:>5.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES),
                        help="comma-separated library sizes (default %(default)s)")
    parser.add_argument("--no-exact", action="store_true", help="skip exact HDBSCAN")
    parser.add_argument("--exact-max", type=int, default=20_000, help="largest size run exactly (default %(default)s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--knn", default="auto", choices=["auto", "exact", "approximate"],
                        help="neighbour search of our engine (default %(default)s: approximate from 40k faces)")
    parser.add_argument("--profile", default="lfw", choices=sorted(PROFILES),
                        help="distance scale of the synthetic faces (default %(default)s, see synthetic.py)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--no-recall-pass", action="store_true",
                        help="group without the recall pass after grouping (faceorg/cluster/recall_pass.py)")
    parser.add_argument("--match", type=int, metavar="N", default=0,
                        help="instead: compare match_to_people methods on N synthetic faces")
    args = parser.parse_args(argv)
    if args.match:
        rows = bench_match(args.match, args.seed, args.profile)
        if args.json:
            print(json.dumps({"match": rows, "profile": args.profile, "n_faces": args.match}))
        for row in rows if not args.json else []:
            print(f"{row['confirmed_per_person']:>2} confirmed  {row['method']:<13} at 1% strangers accepted "
                  f"(distance {row['threshold']:.3f}): found {row['found']:.3f}, "
                  f"wrong person {row['wrong_person']:.4f}")
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    entries: list[dict[str, Any]] = []
    if not args.json:
        print(f"synthetic faces, profile {args.profile!r}, seed {args.seed}; default_params(n) per size, "
              f"knn {args.knn!r}")
        print(f"{'faces':>7} {'seconds':>8} {'cpu s':>7} {'peak MB':>8} {'B3 P':>7} {'B3 R':>7} {'B3 F':>7} "
              f"{'exact s':>9} {'exact F':>8} {'gap pt':>7} {'people':>7} {'noise':>7} {'load':>5}", flush=True)
    with tempfile.TemporaryDirectory(prefix="cluster_bench_") as tmp:
        for n in sizes:
            entry = bench_size(n, args.seed, exact=not args.no_exact and n <= args.exact_max, work=Path(tmp),
                               profile=args.profile, knn=args.knn, recall_pass=not args.no_recall_pass)
            entries.append(entry)
            if not args.json:
                print(_row(entry), flush=True)

    by_size = {str(e["n_faces"]): e for e in entries}
    summary: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_1m": os.getloadavg()[0]},
        "profile": args.profile,
        "seed": args.seed,
        "seconds_100k": by_size.get("100000", {}).get("seconds"),
        "cpu_seconds_100k": by_size.get("100000", {}).get("cpu_seconds"),
        "peak_mb_100k": by_size.get("100000", {}).get("peak_mb"),
        "seconds_1m": by_size.get("1000000", {}).get("seconds"),
        "cpu_seconds_1m": by_size.get("1000000", {}).get("cpu_seconds"),
        "peak_mb_1m": by_size.get("1000000", {}).get("peak_mb"),
        "bcubed_f_gap_20k": by_size.get("20000", {}).get("bcubed_f_gap_points"),
        "bcubed_f_gap_5k": by_size.get("5000", {}).get("bcubed_f_gap_points"),
        "sizes": by_size,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"load average (1 min) at the end: {summary['machine']['load_avg_1m']:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(*sys.argv[2:6])
    else:
        sys.exit(main())
