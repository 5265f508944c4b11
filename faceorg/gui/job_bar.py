"""The status bar's job area: what runs, how far it is, and a Cancel button."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from faceorg.gui.icons import icon
from faceorg.gui.workers import JobRunner
from faceorg.progress import ProgressState

if TYPE_CHECKING:
    from faceorg.scan.scanner import ScanSummary


class JobBar(QWidget):
    """Shown while a job runs: "Scanning — Reading photos 120 of 900", a progress bar, Cancel."""

    def __init__(self, jobs: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.setObjectName("jobBar")
        self.label = QLabel()
        self.label.setObjectName("jobLabel")
        self.bar = QProgressBar()
        self.bar.setObjectName("jobProgress")
        self.bar.setFixedWidth(220)
        self.bar.setTextVisible(True)
        self.cancel_button = QPushButton(icon("cancel"), "Cancel")
        self.cancel_button.setObjectName("jobCancel")
        self.cancel_button.setToolTip("Stop after the current batch; the work done so far is kept")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.cancel_button.clicked.connect(self._cancel)
        jobs.started.connect(self._started)
        jobs.progressed.connect(self._progressed)
        jobs.ended.connect(self._ended)
        self.hide()

    def _started(self, title: str) -> None:
        self.label.setText(f"{title}…")
        self.bar.setRange(0, 0)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self.show()

    def _progressed(self, state: ProgressState) -> None:
        stage = state.stage or self.jobs.title
        if state.total:
            self.bar.setRange(0, state.total)
            self.bar.setValue(min(state.done, state.total))
            self.bar.setFormat(f"{state.done:,} of {state.total:,}")
        else:
            self.bar.setRange(0, 0)
        # A stage's own words (a Ray scan: "3/8 batches on 2 workers") follow its name.
        message = state.message if len(state.message) <= 80 else state.message[:79] + "…"
        head = self.jobs.title if stage.casefold() == self.jobs.title.casefold() else f"{self.jobs.title}: {stage}"
        self.label.setText(head + (f" ({message})" if message else ""))

    def _cancel(self) -> None:
        self.jobs.cancel()
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")

    def _ended(self, _title: str, _outcome: str) -> None:
        self.hide()


def scan_summary_text(summary: ScanSummary) -> str:
    """The last scan in a few words: what it found that the user may want to know (moved, missing...)."""
    counts = [(summary.new, "new"), (summary.changed, "changed"), (summary.moved, "moved"),
              (summary.missing, "missing"), (summary.failed, "could not be read")]
    parts = [f"{n:,} {what}" for n, what in counts if n]
    if summary.analyzed:
        parts.append(f"{summary.faces_found:,} face{'' if summary.faces_found == 1 else 's'} found")
    head = "Last scan (cancelled)" if summary.cancelled else "Last scan"
    return f"{head}: " + (", ".join(parts) if parts else "nothing new")


class ScanSummaryLabel(QLabel):
    """The last scan's summary, kept in the status bar until the next scan starts (the status bar's
    own messages are replaced by the next one, such as the grouping that follows a scan, within a second)."""

    def __init__(self, jobs: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scanSummary")
        self.setContentsMargins(0, 0, 14, 0)  # apart from the library counts beside it
        jobs.started.connect(self._job_started)
        self.hide()

    def show_summary(self, summary: ScanSummary) -> None:
        self.setText(scan_summary_text(summary))
        self.setToolTip(summary.one_line())
        self.show()

    def _job_started(self, title: str) -> None:
        if title.startswith("Scanning"):
            self.clear()
            self.hide()
