"""The desktop app (PySide6): the only package that imports Qt. Start it with :func:`faceorg.gui.app.run_app`."""
