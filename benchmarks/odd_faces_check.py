"""How often the odd-faces question ("N of the faces of Ann do not look like the others: take them out?") is
right, on the effort benchmark's cached libraries after the app's grouping.

    python benchmarks/odd_faces_check.py --cache /tmp/effortbase/cache --work /tmp/me/odd --json
    python benchmarks/odd_faces_check.py ... --dump /tmp/me/odd/groups.pkl   # per-group data for tuning

Each library (``<scan>-mirror.sqlite`` under ``--cache``, with its ``.models`` folder) is copied under
``--work`` (the cache is only read), its people reset and grouped as the effort benchmark groups it
(``Features.now()``), once: a grouped copy already under ``--work`` is reused. Then the app's odd-face
questions are listed (``faceorg.people.prompts.odd_face_questions``) and each is judged by the benchmark's
truth (``benchmarks/effort/truth.py``): a group's person is the identity most of its faces have; a question
is **right** when none of its odd faces is that person, **wrong** when at least one is. ``--json`` prints one
object: per library the questions, right, wrong, precision, and the odd faces that were the group's own
person (ids) for a look at their chips.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from sqlalchemy import select

from effort.oracle import Features, grouping
from effort.truth import face_truth
from faceorg.eval.cluster_eval import _reset_people
from faceorg.people import prompts
from faceorg.store import open_library
from faceorg.store.backups import copy_database
from faceorg.store.models import Face

LIBRARIES = ("lfw", "degraded", "family")


def cached(cache: Path, key: str) -> Path:
    """The library's mirror-recipe copy in the effort benchmark's cache."""
    found = sorted(cache.glob(f"{key}*-mirror.sqlite"))
    if not found:
        raise SystemExit(f"odd_faces_check: error: no {key}*-mirror.sqlite under {cache}")
    return found[0]


def grouped_copy(cache: Path, work: Path, key: str, features: Features | None = None, name: str = "grouped") -> Path:
    """A copy of the library grouped as the effort benchmark groups it (made once), with ``features``
    (``Features.now()`` by default), under ``work/<key>-<name>.sqlite``."""
    target = work / f"{key}-{name}.sqlite"
    if target.exists():
        return target
    source = cached(cache, key)
    work.mkdir(parents=True, exist_ok=True)
    partial = work / f"{key}-partial.sqlite"
    copy_database(source, partial)
    models = source.with_name(source.name + ".models")
    shutil.rmtree(partial.with_name(partial.name + ".models"), ignore_errors=True)
    if models.is_dir():
        shutil.copytree(models, partial.with_name(partial.name + ".models"))
    with open_library(partial) as library:
        _reset_people(library)
        grouping(features or Features.now())(library)
    shutil.rmtree(target.with_name(target.name + ".models"), ignore_errors=True)
    partial.with_name(partial.name + ".models").rename(target.with_name(target.name + ".models"))
    partial.rename(target)
    return target


def judge(db: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The odd-face questions of one grouped library, judged by the truth; and per-group data for tuning."""
    with open_library(db) as library:
        truth = face_truth(library)
        questions = prompts.list_questions(library, ("odd_faces",))
        lib = prompts._read(library)
        assert lib is not None
        groups = prompts._groups(lib)
        splits = prompts.split_candidates(lib)
        with library.session() as session:
            boxes = {f: (p, x, y, w, h, sc, b, q) for f, p, x, y, w, h, sc, b, q in session.execute(
                select(Face.id, Face.photo_id, Face.x, Face.y, Face.w, Face.h, Face.score, Face.blur, Face.quality))}
    d = lib.data
    owner = {}
    for person, rows in groups.items():
        ids = Counter(truth.get(int(f)) for f in d.face_ids[rows])
        ids.pop(None, None)
        owner[person] = min(ids, key=lambda n: (-ids[n], n)) if ids else None
    right = wrong = 0
    own_faces: list[int] = []
    for q in questions:
        mine = [f for f in q.face_ids if owner[q.person_ids[0]] is not None and truth.get(f) == owner[q.person_ids[0]]]
        if mine:
            wrong += 1
            own_faces += mine
        else:
            right += 1
    n = right + wrong
    summary = {"questions": n, "right": right, "wrong": wrong,
               "precision": round(right / n, 3) if n else None,
               "odd_faces": sum(len(q.face_ids) for q in questions), "own_faces": own_faces}
    dump = {"scale": lib.scale, "face_ids": d.face_ids, "vectors": d.vectors, "photo_ids": d.photo_ids,
            "groups": groups, "splits": set(splits), "owner": owner,
            "truth": np.array([truth.get(int(f)) or "" for f in d.face_ids], object), "boxes": boxes}
    return summary, dump


def library_parser(description: str) -> argparse.ArgumentParser:
    """The options of every check run on the effort benchmark's cached libraries."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--cache", type=Path, required=True, help="the effort benchmark's cache (only read)")
    parser.add_argument("--work", type=Path, required=True, help="folder for the grouped copies")
    parser.add_argument("--libraries", default=",".join(LIBRARIES))
    parser.add_argument("--json", action="store_true")
    return parser


def each_library(check: str, keys: list[str], measure: Callable[[str], Any]) -> dict[str, Any]:
    """``measure(key)`` of each library, with the load average before and after (progress on stderr)."""
    out: dict[str, Any] = {"load_start": list(os.getloadavg())}
    for key in keys:
        print(f"{check}: {key}", file=sys.stderr, flush=True)
        out[key] = measure(key)
    out["load_end"] = list(os.getloadavg())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = library_parser(__doc__.splitlines()[0])
    parser.add_argument("--dump", type=Path, help="write per-group data (pickle) for tuning")
    args = parser.parse_args(argv)
    dumps = {}

    def measure(key: str) -> dict[str, Any]:
        result, dumps[key] = judge(grouped_copy(args.cache, args.work, key))
        return result

    out = each_library("odd_faces_check", args.libraries.split(","), measure)
    if args.dump:
        with open(args.dump, "wb") as fh:
            pickle.dump(dumps, fh)
    if args.json:
        print(json.dumps(out))
    else:
        for key in args.libraries.split(","):
            s = out[key]
            print(f"{key:9s} questions {s['questions']:4d}  right {s['right']:4d}  wrong {s['wrong']:4d}  "
                  f"precision {s['precision']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
