"""Heavy imports on a worker thread: no full garbage collection over them, and frozen afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = """
import gc, json
full = []
gc.callbacks.append(lambda phase, info: phase == "start" and info["generation"] == 2 and full.append(1))
import faceorg.cluster.hdbscan_adapter
print(json.dumps({"full_collections": len(full), "frozen": gc.get_freeze_count(), "enabled": gc.isenabled()}))
"""


def test_importing_hdbscan_runs_no_full_collection_and_freezes_it() -> None:
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True,
                         timeout=120)
    result = json.loads(out.stdout)
    assert result["full_collections"] == 0  # each would walk the ~70k new objects holding the GIL
    assert result["frozen"] > 20_000  # scikit-learn's and SciPy's objects: out of every later collection
    assert result["enabled"]


def test_settled_import_freezes_nothing_when_nothing_was_imported() -> None:
    import gc

    from faceorg.memory import settled_import

    frozen = gc.get_freeze_count()
    with settled_import():
        import json as again  # noqa: F401  (loaded already)
    assert gc.get_freeze_count() == frozen and gc.isenabled()
