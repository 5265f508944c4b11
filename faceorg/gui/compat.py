"""Guards against known bugs of the Qt bindings.

PySide6 6.12.0 drops one reference to ``None`` or ``True`` whenever it hands one back to Python
without taking a reference first: every Qt call that returns ``None`` (``setObjectName()``, a null
pointer such as ``focusWidget()``, an invalid QVariant such as ``index.data(role)``) and every
``Signal.emit()`` (which returns ``True``). On CPython 3.11, where these are ordinary
reference-counted objects, a few seconds of scrolling a grid deallocate one of them and the process
aborts ("Fatal Python error: none_dealloc" or "bool_dealloc"). PySide6 6.11.3, and CPython 3.12+ (where
these objects are immortal), are not affected.

When a probe shows the bug, ``None``, ``True`` and ``False`` get a large reserve of references, which
makes them as good as immortal for the life of the process (what CPython 3.12 does by design).
"""

from __future__ import annotations

import ctypes
import logging
import platform
import sys

log = logging.getLogger(__name__)

RESERVE = 1 << 40  # far more references than a process can ever drop
SINGLETONS = (None, True, False)


def bindings_drop_references() -> bool:
    """True when Qt calls drop references to None or True (the PySide6 6.12.0 bug)."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        fired = Signal()

    probe = _Probe()
    before = [sys.getrefcount(x) for x in SINGLETONS]
    for _ in range(4):
        probe.parent()  # returns None (no parent)
        probe.fired.emit()  # returns True
    after = [sys.getrefcount(x) for x in SINGLETONS]
    return any(a < b for a, b in zip(after, before))


def guard_singleton_refcounts() -> bool:
    """Protect None, True and False from the bindings' dropped references; True when a guard was needed."""
    if sys.version_info >= (3, 12) or platform.python_implementation() != "CPython":
        return False  # they are immortal there
    if not bindings_drop_references():
        return False
    for obj in SINGLETONS:
        # ob_refcnt is the first field of every CPython object (a Py_ssize_t).
        ctypes.c_ssize_t.from_address(id(obj)).value += RESERVE
    from PySide6 import __version__ as pyside_version

    log.info("PySide6 %s drops references to None and True; guarded (see faceorg.gui.compat)", pyside_version)
    return True
