"""How near Look-Alikes First brings a person's other unsorted faces, against the usual order of the Unknown
faces list, on the effort benchmark's cached libraries after the app's grouping.

    python benchmarks/look_alikes_check.py --cache /tmp/effortbase/cache --work /tmp/me/alike [--json]

Each library is copied and grouped as ``odd_faces_check.py`` does (``Features.now()``; a grouped copy already
under ``--work`` is reused). Its unsorted faces are listed as the Unknown faces list shows them
(``faces_by_status``: best quality first). For every unsorted face of a person to sort (the benchmark's truth,
``benchmarks/effort/truth.py``) with another unsorted face: where that person's nearest-placed other face
lands, (a) in the usual order, (b) after Look-Alikes First on that one face
(``faceorg.people.nearest.order_by_likeness``): its place among the other faces, 1 = right after the chosen
face. The table gives how often it is within the first 1, 5, 10 and 50, the median place, and the seconds
one Look-Alikes First took (median over the faces).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np

from effort.truth import face_truth, people_to_sort
from faceorg.people.nearest import order_by_likeness
from faceorg.people.queries import faces_by_status
from faceorg.store import open_library
from odd_faces_check import each_library, grouped_copy, library_parser

LIBRARIES = ("lfw", "degraded", "family")
WITHIN = (1, 5, 10, 50)


def places(db: Path) -> dict[str, Any]:
    """Usual and look-alike places of each unsorted face's nearest-placed partner (see the module docstring)."""
    with open_library(db) as library:
        truth = face_truth(library)
        to_sort = people_to_sort(truth)
        unsorted = [f.id for f in faces_by_status(library, None) if f.id in truth]
        who = {f: truth[f] for f in unsorted}
        chosen = [f for f in unsorted if who[f] in to_sort
                  and any(g != f and who[g] == who[f] for g in unsorted)]
        usual, alike, seconds = [], [], []
        for f in chosen:
            rest = [g for g in unsorted if g != f]
            usual.append(1 + min(k for k, g in enumerate(rest) if who[g] == who[f]))
            start = time.perf_counter()
            ranked = order_by_likeness(library, [f], unsorted)
            seconds.append(time.perf_counter() - start)
            alike.append(1 + min(k for k, (g, _d) in enumerate(ranked) if who[g] == who[f]))
    return {"unsorted_faces": len(unsorted), "faces_with_a_partner": len(chosen),
            "usual": summary(usual), "look_alikes_first": summary(alike),
            "seconds_per_look": round(float(np.median(seconds)), 3) if seconds else None}


def summary(found: list[int]) -> dict[str, Any]:
    a = np.array(found)
    out: dict[str, Any] = {f"within_{k}": round(float((a <= k).mean()), 3) if len(a) else None for k in WITHIN}
    out["median_place"] = float(np.median(a)) if len(a) else None
    return out


def main(argv: list[str] | None = None) -> int:
    args = library_parser(__doc__.splitlines()[0]).parse_args(argv)
    keys = args.libraries.split(",")
    out = each_library("look_alikes_check", keys, lambda key: places(grouped_copy(args.cache, args.work, key)))
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"{'library':9s} {'order':18s} " + " ".join(f"{'within ' + str(k):>10s}" for k in WITHIN)
          + f" {'median':>7s}  unsorted  with a partner  s per look")
    for key in keys:
        r = out[key]
        for label, part in (("usual", "usual"), ("look-alikes first", "look_alikes_first")):
            s = r[part]
            print(f"{key:9s} {label:18s} " + " ".join(f"{s[f'within_{k}']:>10}" for k in WITHIN)
                  + f" {s['median_place']:>7}  {r['unsorted_faces']:8d}  {r['faces_with_a_partner']:14d}"
                  + f"  {r['seconds_per_look']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
