"""What this copy of faceorg can do: optional parts that may be left out (the packaged app leaves out
PyTorch), found without importing them."""

from __future__ import annotations

import importlib.util

TRAINING_UNAVAILABLE = (
    "Thorough retraining needs PyTorch, which this copy of faceorg does not include (the packaged app "
    "leaves it out to stay small; the quick depth works without it); to use it, install faceorg with pip "
    "(`pip install faceorg` brings PyTorch)")


def module_present(name: str) -> bool:
    """Whether ``name`` can be imported, without importing it (cheap: a look along the import path)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a blocked or half-installed module
        return False


def training_unavailable(depth: str = "thorough") -> str | None:
    """Why retraining at ``depth`` cannot run here (PyTorch missing), or None when it can. The quick depth
    (a new last layer fitted in closed form and saved into the ONNX file) needs no PyTorch: learning as
    you work runs in the packaged app too; the thorough depth and a labelled folder fine-tune the network."""
    if depth == "quick":
        return None
    return None if module_present("torch") else TRAINING_UNAVAILABLE
