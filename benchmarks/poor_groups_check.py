"""Which groups of the app's grouping are groups of poor faces (``faceorg.cluster.poor_groups``), and whom
they hold, on the effort benchmark's cached libraries.

    python benchmarks/poor_groups_check.py --cache /tmp/effortbase/cache --work /tmp/me/poor [--json]

Each library is copied and grouped as the effort benchmark groups it (``Features.now()``), with the rule that
leaves poor groups unsorted turned off, so that every group it would take is there to judge (a grouped copy
already under ``--work`` is reused). For each margin: the library's median face quality, and the groups whose
median quality is more than the margin below it: how many, their faces, how many are mostly one person (half
their faces or more, by the benchmark's truth, ``benchmarks/effort/truth.py``), and how many of their faces
belong to a person with two or more faces (people the user would want grouped).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from sqlalchemy import select

from effort.oracle import Features
from effort.truth import face_truth, people_to_sort
from faceorg.cluster.poor_groups import POOR_GROUP_MARGIN, poor_groups
from faceorg.store import open_library
from faceorg.store.models import Assignment, Face
from odd_faces_check import each_library, grouped_copy, library_parser

LIBRARIES = ("lfw", "degraded", "family")
MARGINS = (0.2, POOR_GROUP_MARGIN, 0.3)


def grouped_without_the_rule(cache: Path, work: Path, key: str) -> Path:
    """A copy of the library grouped as the effort benchmark groups it, poor groups kept (made once)."""
    return grouped_copy(cache, work, key, Features.now().without("poor_groups"), name="grouped-all")


def judge(db: Path) -> dict[str, Any]:
    """The poor groups at each margin and whom they hold (see the module docstring)."""
    with open_library(db) as library:
        truth = face_truth(library)
        with library.session() as s:
            faces = s.execute(select(Face.id, Face.quality)).all()
            owner = dict(s.execute(select(Assignment.face_id, Assignment.person_id)).all())
    to_sort = people_to_sort(truth)
    ids = np.array([f for f, _ in faces])
    quality = np.array([q for _, q in faces], np.float64)
    labels = np.array([owner.get(int(f), -1) for f in ids])
    out: dict[str, Any] = {"faces": len(ids), "median_quality": round(float(np.median(quality)), 3)}
    for margin in MARGINS:
        taken = poor_groups(labels, quality, np.zeros(len(ids), bool), margin)
        groups = faces_in = of_one = of_people = 0
        for label in taken:
            members = [int(f) for f in ids[labels == label]]
            top, n = Counter(truth.get(f) for f in members).most_common(1)[0]
            groups += 1
            faces_in += len(members)
            of_one += int(top is not None and 2 * n >= len(members))
            of_people += sum(1 for f in members if truth.get(f) in to_sort)
        out[f"margin_{margin}"] = {"groups": groups, "faces": faces_in, "groups_mostly_one_person": of_one,
                                   "faces_of_people_to_sort": of_people}
    return out


def main(argv: list[str] | None = None) -> int:
    args = library_parser(__doc__.splitlines()[0]).parse_args(argv)
    keys = args.libraries.split(",")
    out = each_library("poor_groups_check", keys,
                       lambda key: judge(grouped_without_the_rule(args.cache, args.work, key)))
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"{'library':9s} {'median quality':>14s} {'margin':>6s} {'poor groups':>11s} {'their faces':>11s} "
          f"{'of one person':>13s} {'faces of people to sort':>23s}")
    for key in keys:
        r = out[key]
        for margin in MARGINS:
            m = r[f"margin_{margin}"]
            print(f"{key:9s} {r['median_quality']:>14} {margin:>6} {m['groups']:>11} {m['faces']:>11} "
                  f"{m['groups_mostly_one_person']:>13} {m['faces_of_people_to_sort']:>23}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
