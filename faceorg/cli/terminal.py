"""Text that is safe to print on a terminal: names and paths come from the database and the disk, and
may hold characters a terminal acts on (ESC sequences retitle the window, move the cursor, hide text)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

# C0 controls but tab and line feed, DEL, C1 controls (U+009B is a CSI on some terminals), text-direction
# overrides and isolates, unpaired surrogates (undecodable bytes in file names).
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on written as an escape (``\\x1b``, ``\\u202e``)."""
    return _UNPRINTABLE.sub(_escape, text)


class PrintableStream:
    """A text stream that writes through :func:`printable`."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        self.inner.write(printable(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding...
        return getattr(self.inner, name)


@contextmanager
def printable_stdout() -> Iterator[None]:
    """While it lasts, nothing printed to stdout can act on the terminal. (JSON escapes such characters
    itself, so a ``--json`` document passes unchanged.)"""
    saved = sys.stdout
    sys.stdout = PrintableStream(saved)
    try:
        yield
    finally:
        sys.stdout = saved
