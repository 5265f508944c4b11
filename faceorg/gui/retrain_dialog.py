""""Improve Recognition from My Corrections": choose how deep, run it as a job, show before and after."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QLabel,
    QMessageBox,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from faceorg.capabilities import training_unavailable
from faceorg.gui.dialogs import start_cancel_buttons

if TYPE_CHECKING:  # the retraining code loads only when it runs
    from faceorg.retrain.retrain import RetrainReport

INTRO = ("faceorg can learn from the names you gave, the faces you moved and the faces you said are "
         "“not this person”, so that it tells your people apart better next time. The new model is "
         "checked on people it did not learn from, and it is only used if it does better; you can "
         "always go back to the previous one.")


THOROUGH_UNAVAILABLE = "Needs PyTorch, which this copy of faceorg does not include."


class RetrainDialog(QDialog):
    """Asks for the depth (and whether to only check); the caller runs the job. Without PyTorch (the
    packaged app) the quick depth runs all the same; the thorough one is greyed, with the reason."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("retrainDialog")
        self.setWindowTitle("Improve Recognition")
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        self.quick = QRadioButton("Quick — seconds: adjusts the last step of recognition")
        self.thorough = QRadioButton("Thorough — minutes: also retrains deeper layers on your face images")
        self.quick.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.quick)
        group.addButton(self.thorough)
        self.thorough_reason = QLabel(THOROUGH_UNAVAILABLE)
        self.thorough_reason.setObjectName("thoroughUnavailable")
        self.thorough_reason.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.thorough_reason.setIndent(24)  # under the option's text, beside its (greyed) round button
        missing = training_unavailable("thorough")
        self.thorough.setEnabled(missing is None)
        self.thorough_reason.setVisible(missing is not None)
        if missing is not None:
            self.thorough.setToolTip(missing)
            self.thorough_reason.setToolTip(missing)
        self.check_only = QCheckBox("Only check how much it would help (change nothing)")
        buttons, self.start_button = start_cancel_buttons(self, "Start")
        layout = QVBoxLayout(self)
        for w in (intro, self.quick, self.thorough, self.thorough_reason, self.check_only, buttons):
            layout.addWidget(w)
        self.setMinimumWidth(460)

    @property
    def chosen_depth(self) -> str:
        return "thorough" if self.thorough.isChecked() else "quick"

    @property
    def dry_run(self) -> bool:
        return self.check_only.isChecked()


def show_report(parent: QWidget, report: RetrainReport) -> QMessageBox:
    """The before/after comparison in plain words (non-blocking)."""
    if report.dry_run:
        title = "Check finished"
    elif report.accepted:
        title = "Recognition improved"
    else:
        title = "Current model kept"
    box = QMessageBox(QMessageBox.Icon.Information if report.accepted or report.dry_run else QMessageBox.Icon.Warning,
                      title, "\n\n".join(report.summary), QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("retrainReport")
    from faceorg.retrain.wording import learned_from

    box.setDetailedText(learned_from(report.training, report.depth, report.seconds, report.stop_reason))
    box.open()
    return box
