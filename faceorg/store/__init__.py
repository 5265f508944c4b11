"""The library store: typed SQLAlchemy models in one SQLite file, migrated on open."""

from faceorg.store.db import Library, open_library

__all__ = ["Library", "open_library"]
