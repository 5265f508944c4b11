"""Keeping Python's garbage collector from freezing the GUI thread while a worker thread works.

A full collection holds the GIL while it walks every tracked object; with tens of thousands of young
long-lived objects that takes 50-150 ms, and the GUI thread (which needs the GIL to paint) stalls
for as long. The grouping and the scan read their rows as plain values to avoid making such objects;
what cannot be avoided is a heavy library's import, which this module handles.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def settled_import() -> Iterator[None]:
    """Import heavy modules without a collection over the objects they make, then freeze those.

    Modules live as long as the process, so ``gc.freeze`` takes them out of every later collection
    (the GUI does the same with what exists after its start-up). Nothing is frozen when no module was
    imported (already loaded) or the import failed.
    """
    before = len(sys.modules)
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
    if len(sys.modules) > before:
        gc.freeze()
