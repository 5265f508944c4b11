"""The status bar after learning as you work ran: the line said once, in full, then kept beside the counts."""

from __future__ import annotations

from faceorg.jobs.learning import _record


def test_the_learning_line_is_said_once_at_a_time(window, library) -> None:  # type: ignore[no-untyped-def]
    """The full line went to the status bar's message while the same line, cut at 90 characters, sat beside
    the counts: said twice, and the message squeezed and cut off by the label."""
    line = ("Checked what your corrections teach at 21:25: current model kept: confirm the faces of more people "
            "(name them, then accept their waiting faces), then try again.")
    _record(library, 0, line)
    bar, status = window.statusBar(), window.learning.status
    window.learning._done({"accepted": False})
    assert bar.currentMessage() == line
    assert not status.isVisible()  # the message says it in full meanwhile
    bar.clearMessage()
    assert status.isVisible() and status.toolTip() == line and status.text().endswith("…")
