"""The Settings dialog: library folders, GPU use (and what is really in use), grouping, smallest faces, a Ray
cluster to analyse faces on."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from faceorg.gui.sidebar import FoldersPanel
from faceorg.settings import SENSITIVITIES, Settings

# When a setting takes effect; the dialog and the message after saving say it in these words.
GROUPING_APPLIES = "applies the next time faces are grouped (after a scan finds new faces, or Group Faces)"
ANALYSIS_APPLIES = "applies to photos scanned from now on (new or changed ones)"

SENSITIVITY_TEXT = {
    "fewer": "Only sure groups (fewer mistakes, more faces left unsorted)",
    "balanced": "Balanced (recommended)",
    "more": "Sort more faces (more groups, more look-alikes mixed up)",
}


def describe_providers(use_gpu: bool) -> tuple[str, str]:
    """Which processor runs the face models: a plain sentence, and onnxruntime's own details (for a
    tooltip). Worker thread: imports onnxruntime."""
    try:
        from faceorg.embed.runtime import GPU_PROVIDERS, provider_summary
    except Exception as exc:  # onnxruntime missing or broken
        return "The face models cannot run on this computer (their runtime is missing or broken).", str(exc)
    summary = provider_summary()
    gpu_here = [p for p in summary.available if p in GPU_PROVIDERS]
    details = [f"onnxruntime {summary.onnxruntime_version}",
               "available: " + (", ".join(summary.available) or "none")]
    if summary.active:
        providers = {provider for provider, _reason in summary.active.values()}
        reasons = sorted({reason for _provider, reason in summary.active.values() if reason})
        details.append("in use: " + ", ".join(f"{model}: {provider}" for model, (provider, _r)
                                               in sorted(summary.active.items())))
        details += reasons
        if all(p in GPU_PROVIDERS for p in providers):
            text = "Face analysis runs on the graphics card."
        elif reasons and use_gpu:
            text = "Face analysis runs on the processor: the graphics card could not be used (details in the tooltip)."
        else:
            text = "Face analysis runs on the processor."
    elif use_gpu and gpu_here:
        text = "Face analysis will use the graphics card if it works, and the processor otherwise."
    elif gpu_here:
        text = "Face analysis will use the processor; tick the box above to try the graphics card."
    else:
        text = "Face analysis will use the processor: no graphics card it can use was found."
    return text, "\n".join(details)


def saved_message(before: Settings, after: Settings) -> str:
    """What saving changes, and when each change takes effect (said the same way as in the dialog)."""
    when = []
    if after.cluster_sensitivity != before.cluster_sensitivity:
        when.append(f"grouping {GROUPING_APPLIES}")
    if (after.min_face_size != before.min_face_size or after.use_gpu != before.use_gpu
            or after.ray_address != before.ray_address):
        when.append(f"face analysis {ANALYSIS_APPLIES}")
    if after.import_xmp_on_scan != before.import_xmp_on_scan:
        when.append("face names are read from XMP " + ("from the next scan on" if after.import_xmp_on_scan
                                                       else "no more during scans"))
    return "Settings saved" + (": " + "; ".join(when) if when else "") + "."


class WrappedLabel(QLabel):
    """A word-wrapped label in the form (help under a field). Its preferred height is one line: the form gives
    it the height its text needs at the field's width (height for width), where a plain wrapped label asked for
    the height of its text wrapped at a guessed narrower width, and the form left that much empty space."""

    def __init__(self, text: str, name: str = "help") -> None:
        super().__init__(text)
        self.setWordWrap(True)
        self.setObjectName(name)

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.minimumSizeHint().height())


class SettingsDialog(QDialog):
    """Edits :class:`Settings`; library folders are changed at once through ``folders``' signals."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.original = settings
        self.folders = FoldersPanel(title="Folders in the library")
        self.folders.setMinimumHeight(160)

        self.use_gpu = QCheckBox("Use the graphics card (GPU) for face analysis when one is usable")
        self.use_gpu.setObjectName("useGpu")
        self.use_gpu.setChecked(settings.use_gpu)
        self.provider = WrappedLabel("Checking which processor runs the face models…", "providerLabel")
        self.provider.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.sensitivity = QComboBox()
        self.sensitivity.setObjectName("sensitivity")
        for key in SENSITIVITIES:
            self.sensitivity.addItem(SENSITIVITY_TEXT[key], key)
        self.sensitivity.setCurrentIndex(max(0, SENSITIVITIES.index(settings.cluster_sensitivity)
                                             if settings.cluster_sensitivity in SENSITIVITIES else 1))
        sens_help = WrappedLabel(f"How readily faces are grouped as one person. The setting {GROUPING_APPLIES}.")

        self.min_face = QSpinBox()
        self.min_face.setObjectName("minFaceSize")
        self.min_face.setRange(8, 1000)
        self.min_face.setSuffix(" pixels")
        self.min_face.setValue(settings.min_face_size)
        face_help = WrappedLabel("Faces narrower than this in a photo are skipped. Lower finds small faces in group "
                           f"photos, but also more things that are not faces. The setting {ANALYSIS_APPLIES}.")

        self.learn = QCheckBox("Learn from my corrections as I work (used only when it recognises better)")
        self.learn.setObjectName("learnAsYouGo")
        self.learn.setChecked(settings.learn_as_you_go)
        self.learn_after = QSpinBox()
        self.learn_after.setObjectName("learnAfterCorrections")
        self.learn_after.setRange(1, 100_000)
        self.learn_after.setSuffix(" new corrections")
        self.learn_after.setValue(settings.learn_after_corrections)
        self.learn.toggled.connect(self.learn_after.setEnabled)
        self.learn_after.setEnabled(settings.learn_as_you_go)
        self.ray_address = QLineEdit(settings.ray_address)
        self.ray_address.setObjectName("rayAddress")
        self.ray_address.setPlaceholderText("address, e.g. 192.168.1.20:6379 (empty: off)")
        self.ray_address.setToolTip("Analyse faces on a Ray cluster: its address, or auto for a Ray on this computer")
        self.ray_address.setClearButtonEnabled(True)
        ray_help = WrappedLabel("Scans send face analysis to the cluster's workers (auto: a Ray on this computer). "
                          "They must see the photos at the same paths and have faceorg[ray] installed. "
                          f"A setting of this computer; it {ANALYSIS_APPLIES}.")

        analysis = QGroupBox("Face analysis")
        form = QFormLayout(analysis)
        form.addRow(self.use_gpu)
        form.addRow(self.provider)
        form.addRow("Grouping:", self.sensitivity)
        form.addRow("", sens_help)
        form.addRow("Smallest face:", self.min_face)
        form.addRow("", face_help)
        form.addRow(self.learn)
        form.addRow("Learn after:", self.learn_after)
        form.addRow("Analyse faces on a\nRay cluster: address", self.ray_address)
        form.addRow("", ray_help)
        self.xmp_on_scan = QCheckBox("Read face names from XMP (sidecars and photos) when scanning new or "
                                     "changed photos")
        self.xmp_on_scan.setObjectName("xmpOnScan")
        self.xmp_on_scan.setChecked(settings.import_xmp_on_scan)
        self.xmp_on_scan.setToolTip("Names that digiKam, Lightroom and other tools stored become your decisions; "
                                    "File → Import Face Names from XMP… reads them for the whole library")
        library = QGroupBox("Library")
        lib_layout = QVBoxLayout(library)
        lib_layout.addWidget(self.folders)
        lib_layout.addWidget(self.xmp_on_scan)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        content = QWidget()
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        content_layout.addWidget(library)
        content_layout.addWidget(analysis)
        self.form_scroll = QScrollArea()
        self.form_scroll.setObjectName("settingsScroll")
        self.form_scroll.setWidgetResizable(True)
        self.form_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.form_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.form_scroll.setWidget(content)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form_scroll)
        layout.addWidget(buttons)
        self._fit_to_screen(layout, content, buttons, width=600)

    def _fit_to_screen(self, layout: QVBoxLayout, content: QWidget, buttons: QWidget, *, width: int) -> None:
        """At least ``width`` and as wide as the form's unwrappable lines (long check boxes) need, as tall as the
        form needs at that width (its wrapped help lines in full); at most the screen's free area, where the
        form scrolls instead of squeezing its lines or cutting them off."""
        screen = (self.parentWidget() or self).screen().availableGeometry()
        margins = layout.contentsMargins()
        bar = self.form_scroll.verticalScrollBar().sizeHint().width()  # room for it whenever the form scrolls
        needed = content.minimumSizeHint().width() + bar + margins.left() + margins.right()
        width = min(max(width, needed), screen.width() - 40)
        if width < needed:  # a screen narrower than the form: scroll sideways rather than cut its right off
            self.form_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        inner = width - margins.left() - margins.right() - bar
        wanted = (content.heightForWidth(inner) if content.hasHeightForWidth() else content.sizeHint().height())
        wanted += buttons.sizeHint().height() + layout.spacing() + margins.top() + margins.bottom()
        frame = 60  # title bar and borders, which the window manager adds
        self.resize(width, max(320, min(wanted, screen.height() - frame)))

    def set_provider_text(self, described: tuple[str, str] | str) -> None:
        """The sentence from :func:`describe_providers`; onnxruntime's own words go in the tooltip."""
        text, details = (described, "") if isinstance(described, str) else described
        self.provider.setText(text)
        self.provider.setToolTip(details)

    def result_settings(self) -> Settings:
        """The settings as edited."""
        return replace(self.original, use_gpu=self.use_gpu.isChecked(),
                       cluster_sensitivity=str(self.sensitivity.currentData()), min_face_size=self.min_face.value(),
                       learn_as_you_go=self.learn.isChecked(), learn_after_corrections=self.learn_after.value(),
                       import_xmp_on_scan=self.xmp_on_scan.isChecked(),
                       ray_address=self.ray_address.text().strip())
