"""Where torch runs: the device, and the CPU threads inside a block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


def resolve_device(device: str | None) -> torch.device:
    """``None`` means CUDA when torch sees a GPU, else the CPU."""
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run torch's CPU ops with ``n`` threads inside the block (``None``: leave as is)."""
    if n is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
