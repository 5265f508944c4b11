"""Face chips into the torch model: the input tensor, and embeddings of chips in batches."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from faceorg.train.device import resolve_device
from faceorg.train.dlib_resnet import CHIP_SIZE, DlibResNet


def chips_tensor(chips: np.ndarray | torch.Tensor) -> torch.Tensor:
    """float32 ``[k, 3, 150, 150]`` 0..255 from chips as loaders deliver them: uint8 (or float)
    ``[k, 150, 150, 3]`` RGB, or already ``[k, 3, 150, 150]``."""
    x = torch.as_tensor(np.asarray(chips) if not isinstance(chips, torch.Tensor) else chips)
    if x.ndim != 4:
        raise ValueError(f"chips must be a 4-D array, got shape {tuple(x.shape)}")
    if x.shape[1:] == (CHIP_SIZE, CHIP_SIZE, 3):
        x = x.permute(0, 3, 1, 2)
    if x.shape[1:] != (3, CHIP_SIZE, CHIP_SIZE):
        raise ValueError(f"chips must be [k, 150, 150, 3] or [k, 3, 150, 150], got {tuple(x.shape)}")
    return x.to(torch.float32).contiguous()


ChipSource = Callable[[np.ndarray], np.ndarray]


@torch.no_grad()
def embed_chips_and_features(model: DlibResNet, load_chips: ChipSource, rows: np.ndarray, *,
                             batch: int = 128, device: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Raw embeddings ``[k, 128]`` and features ``[k, 256]`` (float32) of the chips ``load_chips(rows)``
    returns, in batches, with ``model`` as it is (moved to ``device`` for the call, then back)."""
    dev = resolve_device(device)
    original = next(model.parameters()).device
    model.to(dev)
    rows = np.asarray(rows, dtype=np.int64)
    embeddings, features = [], []
    try:
        for start in range(0, len(rows), batch):
            e, f = model(chips_tensor(load_chips(rows[start:start + batch])).to(dev))
            embeddings.append(e.cpu().numpy())
            features.append(f.cpu().numpy())
    finally:
        model.to(original)
    if not embeddings:
        return np.zeros((0, 128), np.float32), np.zeros((0, 256), np.float32)
    return np.concatenate(embeddings), np.concatenate(features)


def embed_chips(model: DlibResNet, load_chips: ChipSource, rows: np.ndarray, *, batch: int = 128,
                device: str | None = None) -> np.ndarray:
    """Raw (not normalised) embeddings ``[k, 128]`` of the chips of ``rows``; see
    :func:`embed_chips_and_features`."""
    return embed_chips_and_features(model, load_chips, rows, batch=batch, device=device)[0]
