"""The Settings dialog: library folders, GPU use (and what is really in use), grouping, smallest faces."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from faceorg.gui.sidebar import FoldersPanel
from faceorg.settings import SENSITIVITIES, Settings

SENSITIVITY_TEXT = {
    "fewer": "Only sure groups (fewer mistakes, more faces left unsorted)",
    "balanced": "Balanced (recommended)",
    "more": "Sort more faces (more groups, more look-alikes mixed up)",
}


def describe_providers(use_gpu: bool) -> str:
    """Which processor runs the face models, in words (worker thread: imports onnxruntime)."""
    try:
        from faceorg.embed.runtime import GPU_PROVIDERS, provider_summary
    except Exception as exc:  # onnxruntime missing or broken
        return f"The face models cannot run: {exc}"
    summary = provider_summary()
    gpu_here = [p.replace("ExecutionProvider", "") for p in summary.available if p in GPU_PROVIDERS]
    if summary.active:
        providers = {provider for provider, _reason in summary.active.values()}
        reasons = sorted({reason for _provider, reason in summary.active.values() if reason})
        names = ", ".join(sorted(p.replace("ExecutionProvider", "") for p in providers))
        on_gpu = all(p in GPU_PROVIDERS for p in providers)
        text = f"In use now: {'the graphics card' if on_gpu else 'the processor'} ({names})."
        if reasons:
            text += " The graphics card is not used: " + "; ".join(reasons)
        return text
    if use_gpu and gpu_here:
        return f"Will use the graphics card ({gpu_here[0]}), falling back to the processor if it fails."
    if gpu_here:
        return f"Will use the processor (CPU); a graphics card ({gpu_here[0]}) is available."
    return f"Will use the processor (CPU): no usable graphics card found (onnxruntime {summary.onnxruntime_version})."


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
        self.provider = QLabel("Checking which processor runs the face models…")
        self.provider.setObjectName("providerLabel")
        self.provider.setWordWrap(True)
        self.provider.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.sensitivity = QComboBox()
        self.sensitivity.setObjectName("sensitivity")
        for key in SENSITIVITIES:
            self.sensitivity.addItem(SENSITIVITY_TEXT[key], key)
        self.sensitivity.setCurrentIndex(max(0, SENSITIVITIES.index(settings.cluster_sensitivity)
                                             if settings.cluster_sensitivity in SENSITIVITIES else 1))
        sens_help = QLabel("How readily faces are grouped as one person. Applies the next time faces are grouped.")
        sens_help.setWordWrap(True)
        sens_help.setObjectName("help")

        self.min_face = QSpinBox()
        self.min_face.setObjectName("minFaceSize")
        self.min_face.setRange(8, 1000)
        self.min_face.setSuffix(" pixels")
        self.min_face.setValue(settings.min_face_size)
        face_help = QLabel("Faces narrower than this in a photo are skipped. Lower finds small faces in group "
                           "photos, but also more things that are not faces. Applies to the next scan.")
        face_help.setWordWrap(True)
        face_help.setObjectName("help")

        analysis = QGroupBox("Face analysis")
        form = QFormLayout(analysis)
        form.addRow(self.use_gpu)
        form.addRow(self.provider)
        form.addRow("Grouping:", self.sensitivity)
        form.addRow("", sens_help)
        form.addRow("Smallest face:", self.min_face)
        form.addRow("", face_help)
        library = QGroupBox("Library")
        lib_layout = QVBoxLayout(library)
        lib_layout.addWidget(self.folders)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(library)
        layout.addWidget(analysis)
        layout.addWidget(buttons)
        self.resize(560, 600)

    def set_provider_text(self, text: str) -> None:
        self.provider.setText(text)

    def result_settings(self) -> Settings:
        """The settings as edited."""
        return replace(self.original, use_gpu=self.use_gpu.isChecked(),
                       cluster_sensitivity=str(self.sensitivity.currentData()), min_face_size=self.min_face.value())
