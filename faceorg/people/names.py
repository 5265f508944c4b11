"""Person names: the one check every path that sets a name goes through (CLI, app, any other caller).

A name is cleaned (Unicode NFC; runs of whitespace, line breaks included, become one space; invisible
format characters at either end dropped) and refused, with a clear error, when it holds characters that
would act on a terminal or hide what it shows: control characters (ESC, BEL...), text-direction
overrides, broken text (unpaired surrogates), or nothing visible at all (only zero-width characters).
Zero-width joiners inside a name stay: some scripts and emoji need them.
"""

from __future__ import annotations

import unicodedata

from faceorg.errors import FaceorgError

MAX_NAME_LENGTH = 200
# Embedding, override and isolate controls: they reorder how the following text is shown.
DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_VISIBLE = ("L", "N", "P", "S")  # letters, numbers, punctuation, symbols


def clean_name(name: str) -> str:
    """``name`` ready to store, or :class:`FaceorgError` saying what is wrong with it."""
    if any(unicodedata.category(c) == "Cs" for c in name):
        raise FaceorgError("a name must be valid text (it holds an undecodable byte)")
    name = " ".join(unicodedata.normalize("NFC", name).split())
    bad = sorted({c for c in name if unicodedata.category(c) == "Cc" or c in DIRECTION_CONTROLS})
    if bad:
        shown = ", ".join(f"U+{ord(c):04X}" for c in bad)
        raise FaceorgError(f"a name cannot contain control or text-direction characters ({shown})")
    if not name:
        raise FaceorgError("a name cannot be empty")
    name = name.strip(" " + "".join(c for c in set(name) if unicodedata.category(c) == "Cf"))
    if not any(unicodedata.category(c).startswith(_VISIBLE) for c in name):
        raise FaceorgError("a name needs at least one visible character (letters, digits or symbols)")
    if len(name) > MAX_NAME_LENGTH:
        raise FaceorgError(f"a name can be at most {MAX_NAME_LENGTH} characters")
    return name
