"""Load an embedder version as a torch module, give it a new last layer, and save/export a new version."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from faceorg.train.dlib_resnet import DlibResNet
from faceorg.train.export_onnx import export_onnx


def load_module(checkpoint: Path | None, dat_path: Path | None) -> DlibResNet:
    """The torch module of a version: its checkpoint, or (for the base version, ``checkpoint`` None)
    converted from dlib's file. The caller checks both files' hashes."""
    if checkpoint is not None:
        return DlibResNet.load(checkpoint)
    if dat_path is None:
        raise ValueError("load_module needs a checkpoint or dlib's .dat file")
    return DlibResNet.from_dat(dat_path)


def set_head(module: DlibResNet, weight: np.ndarray) -> DlibResNet:
    """Replace the last linear layer's weight [128, 256] (in place)."""
    with torch.no_grad():
        module.fc.weight.copy_(torch.from_numpy(np.array(weight, np.float32)))  # a writable copy
    return module


def head_of(module: DlibResNet) -> np.ndarray:
    return module.fc.weight.detach().cpu().numpy().astype(np.float32)


def save_version(module: DlibResNet, onnx_path: Path, checkpoint_path: Path) -> str:
    """Write the version's checkpoint (for later fine-tuning) and its ONNX model; returns the ONNX SHA-256."""
    module = module.cpu().eval()
    module.save(checkpoint_path)
    return export_onnx(module, onnx_path)
