"""The remove-a-library-folder job."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceorg.filenames import display_path
from faceorg.jobs.report import JobReport
from faceorg.people.changes import ChangeSet
from faceorg.progress import Progress
from faceorg.store import folders
from faceorg.store.db import Library
from faceorg.store.folders import FolderInfo


@dataclass(kw_only=True)
class FolderRemovalReport(JobReport):
    """A removed library folder and the photo records, faces and groups that went with it."""

    folder: FolderInfo

    def one_line(self) -> str:
        records = self.folder.photos + self.folder.missing
        return (f"Removed {display_path(self.folder.path)} and its {records} photo records "
                "(no file was touched)")

    def as_dict(self) -> dict[str, Any]:
        return {"folder": vars(self.folder), **super().as_dict()}


def remove_folder(library: Library, path: str | Path, progress: Progress | None = None) -> FolderRemovalReport:
    """Remove a library folder with its photo records (the files stay on disk); one transaction."""
    progress = progress or Progress()
    progress.start("Removing the folder")
    removed = folders.remove_folder(library, path)
    changes = ChangeSet(label="Remove folder", photos_changed=set(removed.photo_ids),
                        faces_changed=set(removed.face_ids), people_changed=set(removed.people_changed),
                        people_removed=set(removed.people_removed))
    return FolderRemovalReport(folder=removed.info, changes=changes)
