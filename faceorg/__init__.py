"""faceorg: organize a personal photo library by the people in it, fully offline."""

__version__ = "0.1.0"
