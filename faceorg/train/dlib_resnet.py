"""dlib's face recognition ResNet (``dlib_face_recognition_resnet_model_v1``) as a torch module.

The layout (from dlib's ``dnn_face_recognition_ex.cpp``): a 7x7/2 conv stem with max-pool, five residual
stages, a global average and a 256->128 linear layer without bias. Batch norm is already folded into
per-channel affine layers. Stride-2 convs and pools have no padding; where a down block's conv branch
comes out smaller than its pooled shortcut, dlib's add zero-pads the smaller tensor (channels, height
and width, top-left aligned) to the larger shape, and so does :func:`add_zero_padded`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from faceorg.files import replacing
from faceorg.train.dlib_format import (
    DlibFormatError,
    DlibLayer,
    DlibNetwork,
    read_dlib_network,
)

CHIP_SIZE = 150
EMBEDDING_DIM = 128
FEATURE_DIM = 256
DLIB_MEAN_RGB = (122.782, 117.001, 104.298)  # the values in the .dat, used until weights are loaded
CHECKPOINT_FORMAT = "faceorg-dlib-resnet"
CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class StageSpec:
    """One residual stage: its channels, whether it opens with a stride-2 block, its plain blocks."""

    channels: int
    downsample: bool
    plain_blocks: int


STAGES: tuple[StageSpec, ...] = (
    StageSpec(32, False, 3),
    StageSpec(64, True, 3),
    StageSpec(128, True, 2),
    StageSpec(256, True, 2),
    StageSpec(256, True, 0),
)
STEM_CHANNELS = 32


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """dlib's (and torch's) output size: floor((in + 2*pad - k) / stride) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def add_zero_padded(a: torch.Tensor, b: torch.Tensor,
                    pad_a: tuple[int, ...], pad_b: tuple[int, ...]) -> torch.Tensor:
    """Add two NCHW tensors after zero-padding each at the end of C, H and W by the given amounts.

    ``pad_*`` are ``F.pad`` tuples ``(0, dw, 0, dh, 0, dc)``, computed when the module is built so the
    exported graph holds constants.
    """
    if any(pad_a):
        a = F.pad(a, pad_a)
    if any(pad_b):
        b = F.pad(b, pad_b)
    return a + b


class ChannelAffine(nn.Module):
    """dlib's ``affine`` layer in conv mode: ``x * gamma[c] + beta[c]`` (a folded batch norm)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma.view(1, -1, 1, 1) + self.beta.view(1, -1, 1, 1)


class ResidualBlock(nn.Module):
    """conv3x3 -> affine -> ReLU -> conv3x3 -> affine, plus the shortcut, then ReLU.

    A down block's first conv has stride 2 and no padding, and its shortcut is a 2x2/2 average pool.
    """

    def __init__(self, in_channels: int, out_channels: int, downsample: bool, in_size: int) -> None:
        super().__init__()
        stride, padding = (2, 0) if downsample else (1, 1)
        self.downsample = downsample
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=padding)
        self.affine1 = ChannelAffine(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1)
        self.affine2 = ChannelAffine(out_channels)
        self.shortcut: nn.Module = nn.AvgPool2d(2, stride=2) if downsample else nn.Identity()
        branch_size = conv_output_size(in_size, 3, stride, padding)
        shortcut_size = conv_output_size(in_size, 2, 2, 0) if downsample else in_size
        self.out_size = max(branch_size, shortcut_size)
        self.out_channels = max(in_channels, out_channels)
        self.pad_branch = _end_padding(self.out_size - branch_size, self.out_channels - out_channels)
        self.pad_shortcut = _end_padding(self.out_size - shortcut_size, self.out_channels - in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.affine1(self.conv1(x)))
        y = self.affine2(self.conv2(y))
        return F.relu(add_zero_padded(y, self.shortcut(x), self.pad_branch, self.pad_shortcut))


def _end_padding(spatial: int, channels: int) -> tuple[int, int, int, int, int, int]:
    return (0, spatial, 0, spatial, 0, channels)


class DlibResNet(nn.Module):
    """The dlib face embedder.

    ``forward(chips)`` takes float32 ``[N, 3, 150, 150]`` RGB pixel values in 0..255 and returns
    ``(embedding [N, 128], features [N, 256])``: the raw (not normalised) linear output that dlib uses
    with Euclidean distance (same person below 0.6), and the pooled features before that layer.

    Parts for fine-tuning: ``stem`` (conv, affine, ReLU, max-pool), ``stages`` (a ModuleList of five
    residual stages) and ``fc``; see :meth:`set_trainable`.
    """

    input_mean: torch.Tensor  # a buffer [1, 3, 1, 1], registered in __init__

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("input_mean", torch.tensor(DLIB_MEAN_RGB, dtype=torch.float32).view(1, 3, 1, 1))
        self.stem = nn.Sequential(
            nn.Conv2d(3, STEM_CHANNELS, 7, stride=2, padding=0),
            ChannelAffine(STEM_CHANNELS),
            nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=0),
        )
        size = conv_output_size(conv_output_size(CHIP_SIZE, 7, 2, 0), 3, 2, 0)
        channels = STEM_CHANNELS
        stages = []
        for spec in STAGES:
            blocks = []
            for downsample in [True] * spec.downsample + [False] * spec.plain_blocks:
                block = ResidualBlock(channels, spec.channels, downsample, size)
                blocks.append(block)
                size, channels = block.out_size, block.out_channels
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)
        self.fc = nn.Linear(FEATURE_DIM, EMBEDDING_DIM, bias=False)

    def forward(self, chips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = (chips - self.input_mean) / 256.0
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        features = x.mean(dim=(2, 3))
        return self.fc(features), features

    def set_trainable(self, last_parts: int, *, fc: bool = True) -> None:
        """Freeze all weights except the last ``last_parts`` of (stem, stage 0, ..., stage 4), and
        ``fc`` when asked: ``set_trainable(2)`` trains stages 3 and 4 and the final linear layer."""
        parts: list[nn.Module] = [self.stem, *self.stages]
        trainable = parts[len(parts) - last_parts:] if last_parts > 0 else []
        for part in parts:
            part.requires_grad_(part in trainable)
        self.fc.requires_grad_(fc)

    @classmethod
    def from_network(cls, network: DlibNetwork) -> DlibResNet:
        """Build the module from a parsed dlib network, checking every layer's kind and shape."""
        model = cls()
        _load_dlib_layers(model, network)
        return model.eval()

    @classmethod
    def from_dat(cls, path: str | Path) -> DlibResNet:
        """Build the module from ``dlib_face_recognition_resnet_model_v1.dat``."""
        return cls.from_network(read_dlib_network(path))

    def save(self, path: str | Path) -> None:
        """Write the state dict (with a format tag) atomically."""
        path = Path(path)
        payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "state_dict": self.state_dict()}
        with replacing(path) as tmp:
            torch.save(payload, tmp)

    @classmethod
    def load(cls, path: str | Path, map_location: str | torch.device = "cpu") -> DlibResNet:
        """Load a module written by :meth:`save`."""
        payload = torch.load(Path(path), map_location=map_location, weights_only=True)
        if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path} is not a {CHECKPOINT_FORMAT} checkpoint")
        model = cls()
        model.load_state_dict(payload["state_dict"])
        return model.eval()


class _LayerQueue:
    """The parsed layers, innermost first, taken one by one with a kind check."""

    def __init__(self, layers: Iterable[DlibLayer]) -> None:
        self._layers: Iterator[DlibLayer] = iter(layers)
        self.index = 0

    def take(self, kind: str) -> DlibLayer:
        layer = next(self._layers, None)
        if layer is None or layer.kind != kind:
            found = "the end" if layer is None else repr(layer.kind)
            raise DlibFormatError(f"layer {self.index}: expected {kind!r}, found {found}")
        self.index += 1
        return layer

    def expect_end(self) -> None:
        if next(self._layers, None) is not None:
            raise DlibFormatError(f"more layers than expected after layer {self.index}")


def _copy_param(target: torch.Tensor, value: np.ndarray, what: str) -> None:
    if tuple(target.shape) != value.shape:
        raise DlibFormatError(f"{what}: shape {value.shape} in the file, {tuple(target.shape)} expected")
    with torch.no_grad():
        target.copy_(torch.from_numpy(value))


def _check_window(layer: DlibLayer, kernel: int, stride: int, padding: int) -> None:
    expected = {"nr": kernel, "nc": kernel, "stride_y": stride, "stride_x": stride,
                "padding_y": padding, "padding_x": padding}
    actual = {k: layer.attrs.get(k) for k in expected}
    if actual != expected:
        raise DlibFormatError(f"{layer.kind}: window {actual}, expected {expected}")


def _load_conv(queue: _LayerQueue, conv: nn.Conv2d) -> None:
    layer = queue.take("con")
    _check_window(layer, conv.kernel_size[0], conv.stride[0], int(conv.padding[0]))
    _copy_param(conv.weight, layer.params["weight"], "con weight")
    assert conv.bias is not None
    _copy_param(conv.bias, layer.params["bias"], "con bias")


def _load_affine(queue: _LayerQueue, affine: ChannelAffine) -> None:
    layer = queue.take("affine")
    _copy_param(affine.gamma, layer.params["gamma"], "affine gamma")
    _copy_param(affine.beta, layer.params["beta"], "affine beta")


def _load_block(queue: _LayerQueue, block: ResidualBlock) -> None:
    _load_conv(queue, block.conv1)
    _load_affine(queue, block.affine1)
    queue.take("relu")
    _load_conv(queue, block.conv2)
    _load_affine(queue, block.affine2)
    if block.downsample:
        _check_window(queue.take("avg_pool"), 2, 2, 0)
    queue.take("add_prev")
    queue.take("relu")


def _load_dlib_layers(model: DlibResNet, network: DlibNetwork) -> None:
    if network.input_size != (CHIP_SIZE, CHIP_SIZE):
        raise DlibFormatError(f"input size {network.input_size}, expected {CHIP_SIZE}x{CHIP_SIZE}")
    with torch.no_grad():
        model.input_mean.copy_(torch.tensor(network.input_mean_rgb, dtype=torch.float32).view(1, 3, 1, 1))
    queue = _LayerQueue(network.layers)
    conv, affine = model.stem[0], model.stem[1]
    assert isinstance(conv, nn.Conv2d) and isinstance(affine, ChannelAffine)
    _load_conv(queue, conv)
    _load_affine(queue, affine)
    queue.take("relu")
    _check_window(queue.take("max_pool"), 3, 2, 0)
    for stage in model.stages:
        assert isinstance(stage, nn.Sequential)
        for block in stage:
            assert isinstance(block, ResidualBlock)
            _load_block(queue, block)
    _check_window(queue.take("avg_pool"), 0, 1, 0)  # avg_pool_everything
    fc = queue.take("fc")
    if "bias" in fc.params:
        raise DlibFormatError("fc: expected no bias")
    _copy_param(model.fc.weight, fc.params["weight"], "fc weight")
    queue.expect_end()
