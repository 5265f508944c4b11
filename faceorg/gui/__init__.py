"""The desktop app (PySide6): the only package that imports Qt. Start it with :func:`faceorg.gui.app.run_app`."""

from faceorg.gui.compat import guard_singleton_refcounts

guard_singleton_refcounts()  # before any other Qt call: see faceorg.gui.compat
