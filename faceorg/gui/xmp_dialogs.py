"""File → Import Face Names from XMP… / Write Face Names to XMP…: the choices before the job and its summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from faceorg.filenames import display_path
from faceorg.gui.dialogs import start_cancel_buttons

if TYPE_CHECKING:
    from faceorg.jobs.xmp_job import XmpExportReport, XmpImportReport

IMPORT_INTRO = ("faceorg reads the face names other photo tools (digiKam, Lightroom, Windows Photo Gallery, "
                "Mylio, exiftool…) stored in XMP: in sidecar files (photo.jpg.xmp, photo.xmp) and in the photos. "
                "Each name goes to the face it marks, as your own decision. A name that disagrees with what you "
                "decided in faceorg is listed as a conflict and not applied. Import can be undone.")
EXPORT_INTRO = ("faceorg writes the names of the faces you confirmed into XMP sidecar files next to your photos, "
                "for your other photo tools. Photos are never changed; an existing sidecar keeps everything "
                "else it holds, and the previous version is kept as a .bak file.")


def _label(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


class XmpImportDialog(QDialog):
    """Asks whether to import or only preview; the caller runs the job."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("xmpImportDialog")
        self.setWindowTitle("Import Face Names from XMP")
        self.preview = QCheckBox("Only show what would be imported (change nothing)")
        self.preview.setObjectName("xmpPreview")
        buttons, self.start_button = start_cancel_buttons(self, "Import")
        layout = QVBoxLayout(self)
        for w in (_label(IMPORT_INTRO), self.preview, buttons):
            layout.addWidget(w)
        self.setMinimumWidth(480)


class XmpExportDialog(QDialog):
    """Asks which people, which sidecar naming, and whether to only preview; the caller runs the job."""

    def __init__(self, people: list[tuple[int, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("xmpExportDialog")
        self.setWindowTitle("Write Face Names to XMP")
        self.people = QListWidget()
        self.people.setObjectName("xmpPeople")
        for pid, name in people:
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, pid)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.people.addItem(item)
        self.people.setMinimumHeight(140)
        self.jpg_xmp = QRadioButton("photo.jpg.xmp (digiKam, darktable, Immich)")
        self.plain_xmp = QRadioButton("photo.xmp (Lightroom)")
        self.jpg_xmp.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.jpg_xmp)
        group.addButton(self.plain_xmp)
        self.unconfirmed = QCheckBox("Also write faces grouped with a person automatically (not yet confirmed)")
        self.preview = QCheckBox("Only show what would change (write nothing)")
        self.preview.setObjectName("xmpPreview")
        buttons, self.start_button = start_cancel_buttons(self, "Write")
        self.start_button.setEnabled(bool(people))
        self.people.itemChanged.connect(lambda _item: self.start_button.setEnabled(bool(self.person_ids)))
        layout = QVBoxLayout(self)
        layout.addWidget(_label(EXPORT_INTRO))
        layout.addWidget(_label("People to write:" if people else "No named people yet: name some people first."))
        layout.addWidget(self.people)
        layout.addWidget(_label("Sidecar file name:"))
        for w in (self.jpg_xmp, self.plain_xmp, self.unconfirmed, self.preview, buttons):
            layout.addWidget(w)
        self.setMinimumWidth(500)

    @property
    def person_ids(self) -> list[int]:
        return [int(self.people.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.people.count())
                if self.people.item(i).checkState() == Qt.CheckState.Checked]

    @property
    def naming(self) -> str:
        return "xmp" if self.plain_xmp.isChecked() else "jpg.xmp"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def import_summary(report: XmpImportReport) -> tuple[str, str]:
    """The summary's text and its details (conflicts, names to review, problems)."""
    c, r = report.counts(), report.result
    lead = ("Preview: nothing was changed." if r.dry_run else
            "Cancelled: nothing was changed." if report.cancelled else "Face names imported.")
    text = "\n".join([lead, "",
                      f"Photos with names: {c['photos_with_names']} (of {c['photos_read']} read)",
                      f"Imported: {c['imported']}", f"Already matched: {c['matched']}",
                      f"New faces: {c['new_faces']}", f"Conflicts (not applied): {c['conflicts']}"]
                     + ([f"Names without a face box, to review: {c['hints']}"] if c["hints"] else [])
                     + ([f"Problems: {c['problems']}"] if c["problems"] else []))
    details = ([f"Conflict: {display_path(f.photo_path)}: {f.name} — {f.reason}" for f in r.conflicts]
               + [f"To review: {display_path(f.photo_path)}: {f.name}" for f in r.hints]
               + [f"New face: {display_path(f.photo_path)}: {f.name}" for f in r.new_faces]
               + [f"Problem: {display_path(p)}" for p in r.problems])
    return text, "\n".join(details)


def export_summary(report: XmpExportReport) -> tuple[str, str]:
    c, r = report.counts(), report.result
    lead = ("Preview: nothing was written." if r.dry_run else
            "Cancelled: the sidecars written so far are kept." if report.cancelled else "Face names written.")
    text = "\n".join([lead, "", f"Photos: {c['photos']} ({_plural(c['faces'], 'face')})",
                      f"Sidecars written: {c['written']} ({c['created']} new, {c['updated']} updated)",
                      f"Unchanged: {c['unchanged']}"] + ([f"Problems: {c['problems']}"] if c["problems"] else []))
    details = ([f"{s.action.capitalize()}: {display_path(s.sidecar)}" for s in r.sidecars if s.action != "unchanged"]
               + [f"Problem: {display_path(p)}" for p in r.problems])
    return text, "\n".join(details)


def show_summary(parent: QWidget, title: str, text: str, details: str) -> QMessageBox:
    """The summary, non-blocking."""
    box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("xmpSummary")
    if details:
        box.setDetailedText(details)
    box.open()
    return box
