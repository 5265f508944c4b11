"""The tuning scripts' output: one JSON line per try as each is scored, or (``--json``) one JSON document of
all of them at the end."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping


def print_rows(rows: Iterable[Mapping[str, object]], as_json: bool) -> int:
    """Print ``rows`` as they come (or all at once with ``as_json``); the exit status."""
    results = []
    for row in rows:
        results.append(row)
        if not as_json:
            print(json.dumps(row), flush=True)
    if as_json:
        print(json.dumps(results))
    return 0
