"""Export the embedder to ONNX (input ``chips``, outputs ``embedding`` and ``features``) and convert dlib's
``.dat`` in one step."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from faceorg.files import replacing, sha256_file
from faceorg.train.dlib_resnet import CHIP_SIZE, DlibResNet

ONNX_OPSET = 17
INPUT_NAME = "chips"
OUTPUT_NAMES = ("embedding", "features")


def _export_to(module: nn.Module, path: Path, opset: int) -> None:
    device = next(module.parameters()).device
    dummy = torch.zeros(2, 3, CHIP_SIZE, CHIP_SIZE, dtype=torch.float32, device=device)
    batch_axis = {0: "batch"}
    with warnings.catch_warnings():
        # The TorchScript exporter warns that it is deprecated and that it cannot fold the pads' Slice
        # steps (onnxruntime folds those when it loads the model); neither matters here.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (dummy,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_axes={INPUT_NAME: batch_axis, **{name: batch_axis for name in OUTPUT_NAMES}},
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )


def export_onnx(module: nn.Module, path: str | Path, *, opset: int = ONNX_OPSET) -> str:
    """Write ``module`` (traced in eval mode, on its device) to ``path`` as ONNX, atomically; return
    the file's SHA-256.

    Input ``chips`` float32 [N, 3, 150, 150] RGB 0..255; outputs ``embedding`` [N, 128] and
    ``features`` [N, 256]; the batch axis is dynamic. Uses torch's TorchScript-based exporter, which
    needs no package beyond ``onnx``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training = module.training
    module.eval()
    try:
        with replacing(path) as tmp, torch.no_grad():
            _export_to(module, tmp, opset)
            digest = sha256_file(tmp)
    finally:
        module.train(was_training)
    return digest


def convert_dlib_to_onnx(dat_path: str | Path, onnx_path: str | Path) -> str:
    """Convert dlib's face recognition ``.dat`` into the ONNX embedder; return the ONNX file's SHA-256."""
    module = DlibResNet.from_dat(dat_path)
    return export_onnx(module, onnx_path)
