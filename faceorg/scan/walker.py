"""Walk library folders for photo files, honouring an ignore list and never looping on symlinks.

A symbolic link is followed only when its target lies inside a library folder (``inside``), unless
following links that lead elsewhere is allowed: a link must not make the scanner read and hash a file
the user never put in the library (such as ``/etc/passwd`` named ``x.jpg``). Links not followed are
reported as skipped; links whose target does not exist are reported as errors.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from faceorg.imaging.raw import RAW_EXTENSIONS

log = logging.getLogger(__name__)

PHOTO_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".heic", ".heif",
}) | RAW_EXTENSIONS  # camera RAW files: CR2, CR3, NEF, ARW, DNG, RAF, ORF, RW2, PEF, SRW

# Folders no photo library wants scanned: thumbnail caches, NAS metadata, trash, version control.
IGNORED_FOLDER_NAMES = frozenset({
    "@eaDir", "#recycle", "$RECYCLE.BIN", "System Volume Information", "lost+found", "__MACOSX",
    ".thumbnails", ".thumbs", ".picasaoriginals", ".dtrash", ".git", ".svn", "node_modules",
    "Thumbs", ".Trash", ".Trashes",
})


@dataclass(frozen=True)
class IgnoreRules:
    """What the walker skips: hidden entries, named folders, and extra glob-free names."""

    skip_hidden: bool = True
    folder_names: frozenset[str] = IGNORED_FOLDER_NAMES
    extensions: frozenset[str] = PHOTO_EXTENSIONS

    def skips_folder(self, name: str) -> bool:
        return (self.skip_hidden and name.startswith(".")) or name in self.folder_names

    def wants_file(self, name: str) -> bool:
        if self.skip_hidden and name.startswith("."):
            return False
        return os.path.splitext(name)[1].lower() in self.extensions


@dataclass(frozen=True)
class FoundFile:
    """A photo file seen on disk with the stat values that decide whether it must be re-read."""

    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class WalkError:
    """A folder or file the walker could not read."""

    path: str
    message: str
    kind: str = "file"  # file | folder | link | outside_link


@dataclass(frozen=True)
class SkippedLink(WalkError):
    """A symbolic link not followed because its target lies outside the library folders."""

    kind: str = "outside_link"


@dataclass
class WalkResult:
    files: list[FoundFile] = field(default_factory=list)
    errors: list[WalkError] = field(default_factory=list)
    skipped: list[SkippedLink] = field(default_factory=list)


def _within(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _link_problem(entry: os.DirEntry[str], rules: IgnoreRules, inside: tuple[str, ...] | None) -> WalkError | None:
    """Why the symbolic link ``entry`` must not be followed (None: follow it)."""
    target = os.path.realpath(entry.path)
    if not os.path.exists(target):
        name = entry.name
        if rules.skips_folder(name) or not (rules.wants_file(name) or not os.path.splitext(name)[1]):
            return None  # a broken link nobody would take for a photo or a folder of photos
        return WalkError(entry.path, f"dangling link: its target {os.readlink(entry.path)} does not exist", "link")
    if inside is not None and not _within(target, inside):
        return SkippedLink(entry.path, f"link to {target}, outside the library folders: not followed")
    return None


def walk_photos(root: Path, rules: IgnoreRules = IgnoreRules(), *,
                inside: tuple[str, ...] | None = None) -> Iterator[FoundFile | WalkError]:
    """Yield every photo file under ``root`` (following symlinks once) and every unreadable entry.

    ``inside``: the resolved library folders; a link whose target lies outside all of them is yielded
    as a :class:`SkippedLink` instead of being followed (None: follow every link).
    """
    seen_dirs: set[tuple[int, int]] = set()
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
        except OSError as exc:
            yield WalkError(folder, f"cannot read folder: {exc.strerror or exc}", "folder")
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:  # a symlink loop or a second link to a folder already walked
            log.debug("skipping already walked folder %s", folder)
            continue
        seen_dirs.add(key)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield WalkError(folder, f"cannot read folder: {exc.strerror or exc}", "folder")
            continue
        subfolders: list[str] = []
        for entry in entries:
            if entry.is_symlink():
                try:
                    problem = _link_problem(entry, rules, inside)
                except OSError as exc:
                    problem = WalkError(entry.path, f"cannot read link: {exc.strerror or exc}", "link")
                if problem is not None:
                    yield problem
                    continue
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                is_dir = False
            if is_dir:
                if not rules.skips_folder(entry.name):
                    subfolders.append(entry.path)
                continue
            if not rules.wants_file(entry.name):
                continue
            try:
                fst = entry.stat(follow_symlinks=True)
            except OSError as exc:
                yield WalkError(entry.path, f"cannot read file: {exc.strerror or exc}")
                continue
            if not stat.S_ISREG(fst.st_mode):
                continue
            yield FoundFile(os.path.abspath(entry.path), fst.st_size, fst.st_mtime_ns)
        stack.extend(reversed(subfolders))


def collect_photos(root: Path, rules: IgnoreRules = IgnoreRules(), *,
                   inside: tuple[str, ...] | None = None) -> WalkResult:
    """Walk ``root`` completely and return its photo files, errors and links not followed."""
    result = WalkResult()
    for item in walk_photos(root, rules, inside=inside):
        if isinstance(item, FoundFile):
            result.files.append(item)
        elif isinstance(item, SkippedLink):
            result.skipped.append(item)
        else:
            result.errors.append(item)
    return result
