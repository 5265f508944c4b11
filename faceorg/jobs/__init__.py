"""Workflows a user starts, each one core function the GUI and the CLI only present.

A job takes a :class:`~faceorg.progress.Progress` (progress and Cancel), runs the core steps in order
and returns a :class:`~faceorg.jobs.report.JobReport`: one sentence, a JSON-ready dict and the change
record the views refresh from. Jobs sit above retrain, people, scan and eval and below gui and cli;
they import no Qt.
"""

from faceorg.jobs.folders import FolderRemovalReport, remove_folder
from faceorg.jobs.report import JobReport
from faceorg.jobs.scan_group import ScanReport, scan_and_group
from faceorg.scan.ray_backend import RayOptions

__all__ = ["FolderRemovalReport", "JobReport", "RayOptions", "ScanReport", "remove_folder", "scan_and_group"]
