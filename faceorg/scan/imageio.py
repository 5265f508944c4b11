"""Temporary alias of :mod:`faceorg.imaging.decode` for modules not yet moved over (removed once they are)."""

from faceorg.imaging.decode import PhotoReadError, load_working_image

__all__ = ["PhotoReadError", "load_working_image"]
