"""Errors meant for the user: the CLI prints their message as one line, the GUI in a dialog."""


class FaceorgError(Exception):
    """An error the user can understand and act on; never shown with a traceback."""


class ModelsMissingError(FaceorgError):
    """The face models are not installed yet."""

    def __init__(self, missing: str) -> None:
        super().__init__(
            f"face models are missing ({missing}); run `faceorg models fetch` once to install them"
        )


class CancelledError(FaceorgError):
    """A long operation was cancelled by the user."""

    def __init__(self) -> None:
        super().__init__("cancelled")


class ConflictError(FaceorgError):
    """Someone else using the same library changed what this change was about since it was last shown:
    nothing was changed; refresh and decide again."""
