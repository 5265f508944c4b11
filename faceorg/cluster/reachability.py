"""Exact cheapest mutual-reachability edges that complete a k-NN graph for HDBSCAN.

The mutual-reachability distance of faces a and b is ``max(core[a], core[b], |a - b|)``. Two searches:
the nearest face in another piece of a disconnected graph (to join the pieces), and the cheapest edge
between nearby groups (to bridge one person's looks that the k-NN graph only links through strangers).
Both by blocked matrix products in similarity space.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from faceorg.cluster.knn import worker_count
from faceorg.cluster.knn_ivf import IvfIndex
from faceorg.vectors import distance_from_similarity, l2_normalize


def nearest_other_component(
    vectors: np.ndarray,
    component: np.ndarray,
    core: np.ndarray,
    rows: np.ndarray,
    max_elements: int = 1 << 22,
    threads: int | None = None,
    index: IvfIndex | None = None,
    probes: int = 16,
) -> tuple[np.ndarray, np.ndarray]:
    """For each face in ``rows``, the face in a *different* component at the smallest mutual-reachability
    distance ``max(core[a], core[b], |a - b|)``: returns (partner index, that distance) per row.

    With an ``index`` of the vectors (large libraries), each row looks only in its ``probes`` nearest cells
    (partner -1, distance inf where none held another component's face), and only the rows of components
    where no row found one are searched exactly: every component still gets its cheapest edge found among
    its faces' neighbourhoods, so Boruvka rounds still join all components, at a cost linear in the faces.

    Exact, by blocked matrix products against all faces, in similarity space: max(|a - b|, core[b]) is
    smallest where min(a.b, 1 - core[b]^2 / 2) is largest. Columns are ordered by component, so a block of
    rows from one component masks its own component as one slice."""
    if index is not None:
        return _nearest_other_component_ivf(index, component, core, rows, probes, max_elements, threads)
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x)
    col_order = np.argsort(component, kind="stable")
    x_cols = x[col_order]
    core_sims = (1.0 - core[col_order] ** 2 / 2.0).astype(np.float32)
    comp_sorted = component[col_order]
    row_order = np.argsort(component[rows], kind="stable")
    chunk = max(1, min(len(rows), max_elements // max(1, n)))
    jobs: list[np.ndarray] = []
    for _comp, start, count in zip(*np.unique(component[rows][row_order], return_index=True, return_counts=True)):
        for s in range(start, start + count, chunk):
            jobs.append(row_order[s:min(start + count, s + chunk)])

    partner = np.full(len(rows), -1, dtype=np.int64)
    best = np.full(len(rows), np.inf)

    def search(positions: np.ndarray) -> None:
        r = rows[positions]
        comp = component[r[0]]
        lo, hi = np.searchsorted(comp_sorted, comp), np.searchsorted(comp_sorted, comp, side="right")
        sims = x[r] @ x_cols.T
        np.minimum(sims, core_sims[None, :], out=sims)
        sims[:, lo:hi] = -np.inf
        j = np.argmax(sims, axis=1)
        s_best = sims[np.arange(len(r)), j].astype(np.float64)
        partner[positions] = col_order[j]
        best[positions] = np.maximum(distance_from_similarity(s_best), core[r])

    with ThreadPoolExecutor(max_workers=worker_count(threads)) as pool:
        list(pool.map(search, jobs))
    return partner, best


def _nearest_other_component_ivf(index: IvfIndex, component: np.ndarray, core: np.ndarray, rows: np.ndarray,
                                 probes: int, max_elements: int, threads: int | None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`nearest_other_component` in each row's nearest cells; exactly for components that found none."""
    rows = np.asarray(rows, dtype=np.int64)
    cap = (1.0 - core ** 2 / 2.0).astype(np.float32)
    ids, sims = index.search(rows, 1, probes, cap=cap, group=component)
    partner = ids[:, 0].copy()
    best = np.full(len(rows), np.inf)
    found = partner >= 0
    best[found] = np.maximum(distance_from_similarity(sims[found, 0].astype(np.float64)), core[rows[found]])
    lacking = np.setdiff1d(np.unique(component[rows]), np.unique(component[rows[found]]))
    retry = np.flatnonzero(np.isin(component[rows], lacking))
    if len(retry):
        partner[retry], best[retry] = nearest_other_component(index.x, component, core, rows[retry],
                                                              max_elements=max_elements, threads=threads)
    return partner, best


def _cheapest_to_each(
    x: np.ndarray, core: np.ndarray, a_faces: np.ndarray, partner_faces: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The cheapest mutual-reachability edge from ``a_faces`` to each partner's faces: (a ends, b ends)."""
    b_faces = np.concatenate(partner_faces)
    sims = x[a_faces] @ x[b_faces].T
    mr = distance_from_similarity(sims, dtype=np.float32)
    np.maximum(mr, core[a_faces, None], out=mr)
    np.maximum(mr, core[None, b_faces], out=mr)
    best_row = mr.argmin(axis=0)
    best = mr[best_row, np.arange(len(b_faces))]
    lengths = np.array([len(f) for f in partner_faces])
    seg_id = np.repeat(np.arange(len(partner_faces)), lengths)
    # Each segment's minimum: sort by (segment, value) and take each segment's first entry.
    first = np.lexsort((best, seg_id))[np.concatenate([[0], np.cumsum(lengths)[:-1]])]
    return a_faces[best_row[first]], b_faces[first]


def cheapest_edges_between_groups(
    vectors: np.ndarray,
    groups: np.ndarray,
    core: np.ndarray,
    partners_per_group: int = 8,
    max_elements: int = 1 << 22,
) -> tuple[np.ndarray, np.ndarray]:
    """For each group (label >= 0 in ``groups``) and each of its ``partners_per_group`` nearest other groups
    (by centroid), the exact cheapest mutual-reachability edge between the two groups.

    Returns edges (a, b) as two int64 arrays (faces, a in the first group). The k-NN graph misses these
    when both groups are larger than k (e.g. two photo "modes" of one person), which would otherwise
    split such people.
    """
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    member_order = np.flatnonzero(groups >= 0)
    if member_order.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    member_order = member_order[np.argsort(groups[member_order], kind="stable")]
    ids, starts, sizes = np.unique(groups[member_order], return_index=True, return_counts=True)
    m = len(ids)
    if m < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    sums = np.add.reduceat(x[member_order], starts, axis=0)
    centres = l2_normalize(sums)
    take = min(partners_per_group, m - 1)

    nearest = np.empty((m, take), dtype=np.int64)
    for r0 in range(0, m, 1024):
        sims = centres[r0:r0 + 1024] @ centres.T
        sims[np.arange(sims.shape[0]), np.arange(r0, r0 + sims.shape[0])] = -np.inf
        nearest[r0:r0 + 1024] = np.argpartition(-sims, take - 1, axis=1)[:, :take]

    pairs = np.unique(np.sort(np.column_stack([np.repeat(np.arange(m), take), nearest.ravel()]), axis=1), axis=0)
    firsts, first_at = np.unique(pairs[:, 0], return_index=True)
    first_end = np.append(first_at[1:], len(pairs))
    out_a = np.empty(len(pairs), dtype=np.int64)
    out_b = np.empty(len(pairs), dtype=np.int64)
    for g, lo, hi in zip(firsts, first_at, first_end):
        a_faces = member_order[starts[g]:starts[g] + sizes[g]]
        chunk_start = lo
        while chunk_start < hi:
            # As many partners as fit in one block of about max_elements similarities.
            budget = max(1, max_elements // len(a_faces))
            chunk_end = chunk_start + 1
            total = sizes[pairs[chunk_start, 1]]
            while chunk_end < hi and total + sizes[pairs[chunk_end, 1]] <= budget:
                total += sizes[pairs[chunk_end, 1]]
                chunk_end += 1
            partners = pairs[chunk_start:chunk_end, 1]
            out_a[chunk_start:chunk_end], out_b[chunk_start:chunk_end] = _cheapest_to_each(
                x, core, a_faces, [member_order[starts[p]:starts[p] + sizes[p]] for p in partners]
            )
            chunk_start = chunk_end
    return out_a, out_b
