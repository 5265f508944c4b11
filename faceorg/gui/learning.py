"""Learning as the user works (the app's side of :mod:`faceorg.jobs.learning`), and going back to the
previous model.

After every change the window publishes, a short timer asks whether enough new corrections have come
(one count query); when they have and no other job runs, the quick depth starts as an ordinary job (progress
and Cancel in the status bar) that runs it in a child process, so the window stays usable. The status bar
keeps one line saying when it last ran and what it changed. A new model never moves the faces already seen, so
after one is installed, while faces are left unsorted, a "Group Faces with It" button offers the regrouping
(unsorted faces grouped again and matched to your people as suggestions with what it learned).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QPushButton

from faceorg.gui.dialogs import confirm_then

if TYPE_CHECKING:
    from faceorg.gui.context import AppContext
    from faceorg.jobs.learning import LearningDue

LEARNING_TITLE = "Learning from your corrections"
GO_BACK_TITLE = "Going back to the previous model"
MIRROR_TITLE = "Updating face matching"
CHECK_DELAY_MS = 1500  # after the last change: a burst of corrections starts one check


def learning_job(library: Any, progress: Any) -> dict[str, Any]:
    from faceorg.jobs.learning import learn_in_child

    return learn_in_child(library.path, progress)


def go_back_job(library: Any, progress: Any) -> Any:
    from faceorg.retrain.install import go_back

    return go_back(library, progress)


def mirror_job(library: Any, progress: Any) -> Any:
    from faceorg.retrain.install import use_mirror_average

    return use_mirror_average(library, progress)


class BackgroundLearning(QObject):
    """Starts learning when it is due (see the module docstring); ``status`` shows the last run."""

    def __init__(self, window: QMainWindow, ctx: AppContext, on_learned: Any,
                 regroup: Callable[[], None] | None = None) -> None:
        super().__init__(window)
        self.window, self.ctx, self.on_learned, self.regroup = window, ctx, on_learned, regroup
        self.status = QLabel()
        self.status.setObjectName("learningStatus")
        self.regroup_button = QPushButton("Group Faces with It")
        self.regroup_button.setObjectName("regroupAfterLearning")
        self.regroup_button.setToolTip("Group the unsorted faces again with the new model and suggest which of your "
                                       "people they are (what you decided stays)")
        self.regroup_button.clicked.connect(self._regroup_clicked)
        self.regroup_button.hide()
        self.runs = 0
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(CHECK_DELAY_MS)
        self.timer.timeout.connect(self.check)
        ctx.changed.connect(lambda _changes: self.timer.start())
        ctx.jobs.ended.connect(self._job_ended)
        from faceorg.jobs.learning import start_counting

        start_counting(ctx.library)
        window.statusBar().messageChanged.connect(self._message_changed)
        self.show_last()

    def _message_changed(self, message: str) -> None:
        if not message:  # the status bar's message is gone: the line comes back beside the counts
            self.status.setVisible(bool(self.status.toolTip()))

    def show_last(self) -> None:
        from faceorg.jobs.learning import last_learning

        line = last_learning(self.ctx.library)
        self.status.setText(line[:90] + ("…" if len(line) > 90 else ""))
        self.status.setToolTip(line)
        self.status.setVisible(bool(line))

    def _job_ended(self, title: str, _outcome: str) -> None:
        if title != LEARNING_TITLE:
            self.timer.start()  # corrections may have come while another job ran

    def check(self) -> None:
        """Start learning if it is due and nothing else runs. Whether it is due is counted on a worker (the
        counts grow with the library, and this runs after every change)."""
        from faceorg.jobs.learning import learning_due

        if not self.ctx.jobs.running:
            self.ctx.query(learning_due, owner=self, on_done=self._start_if_due)

    def _start_if_due(self, due: LearningDue) -> None:
        if self.ctx.jobs.running or not due.due:
            return
        library = self.ctx.library
        self.runs += 1
        self.ctx.jobs.start(LEARNING_TITLE, lambda progress: learning_job(library, progress), on_done=self._done)

    def _done(self, report: dict[str, Any]) -> None:
        self.show_last()
        line = self.status.toolTip()
        if line:  # said in full for a while (the label beside the counts, cut short, waits meanwhile)
            self.status.hide()
            self.window.statusBar().showMessage(line, 15000)
        if report.get("accepted") and not report.get("dry_run"):
            self.on_learned()  # every face was re-embedded: reload what the views show
            if self.regroup is not None:
                from faceorg.people.queries import ungrouped_face_count

                self.ctx.query(ungrouped_face_count, owner=self,
                               on_done=lambda n: self.regroup_button.setVisible(n > 0))

    def _regroup_clicked(self) -> None:
        self.regroup_button.hide()
        if self.regroup is not None:
            self.regroup()


def confirm_go_back(window: QMainWindow, previous: str, current: str, go: Any) -> QMessageBox:
    """Asks before going back (non-blocking); ``go()`` runs when the user says Go Back."""
    return confirm_then(window, "Go Back to the Previous Model",
                        f"Recognise faces with the previous model ({previous}) instead of {current}?\n\n"
                        "Every face is embedded again and stays where it is; only faces not grouped yet are "
                        "placed. The names, the faces you placed and everything else you decided stay as they are.",
                        "Go Back", go, "goBackBox")


def confirm_mirror(window: QMainWindow, go: Any) -> QMessageBox:
    """Asks before moving the library to the mirror-averaging recipe (non-blocking); ``go()`` runs on Update."""
    return confirm_then(window, "Update Face Matching",
                        "This library was made before faceorg averaged each face with its mirror image, which "
                        "groups faces better.\n\nEvery face is embedded again (a few milliseconds a face) and "
                        "stays where it is: the names, the faces you placed, the groups and the unsorted faces. "
                        "Group Faces then regroups the unsorted faces and unnamed groups with the new matching. "
                        "Go Back to the Previous Model undoes it.",
                        "Update", go, "mirrorBox")
