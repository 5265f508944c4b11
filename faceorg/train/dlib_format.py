"""A reader for dlib's binary serialization of a DNN (``dlib_face_recognition_resnet_model_v1.dat``).

numpy only. The format, as written by dlib's ``serialize()`` (see NOTES.md section 2):

* integers: one control byte (bit 7 = sign, low 4 bits = byte count), then the magnitude little-endian;
* floats: an int64 mantissa and an int16 exponent (value = mantissa * 2**exponent; special exponents mark
  inf, -inf and NaN);
* strings: a length integer, then the bytes; booleans: the ASCII byte ``'1'`` or ``'0'``;
* tensors: version 2, then n, k, nr, nc, then n*k*nr*nc little-endian float32 values;
* the network: the loss wrapper's version and the loss details, then each layer wrapper's version from the
  outside in (add_layer 2, tag/skip 1, the add_layer sitting on the input layer 3), then the input layer,
  then every computational layer's details from the innermost outwards, each followed by its wrapper's
  state (three booleans and empty gradient/output tensors) which is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FLOAT_IS_INF = 32000
FLOAT_IS_NINF = 32001
FLOAT_IS_NAN = 32002
TENSOR_VERSION = 2
INPUT_ADD_LAYER_VERSION = 3
ADD_LAYER_VERSION = 2


class DlibFormatError(ValueError):
    """The bytes are not a dlib network of the supported kind."""


class DlibStream:
    """Sequential reader of dlib-serialized values from an in-memory buffer."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = memoryview(data)
        self.pos = pos

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def _take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise DlibFormatError(f"unexpected end of data at byte {self.pos} (wanted {n} bytes)")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def read_int(self) -> int:
        """A signed integer: control byte (sign bit 0x80, byte count in the low nibble), then magnitude."""
        control = self._take(1)[0]
        size = control & 0x0F
        if size == 0 or size > 8:
            raise DlibFormatError(f"bad integer control byte 0x{control:02x} at byte {self.pos - 1}")
        magnitude = int.from_bytes(self._take(size), "little")
        return -magnitude if control & 0x80 else magnitude

    def read_float(self) -> float:
        """A float stored as (int64 mantissa, int16 exponent)."""
        mantissa = self.read_int()
        exponent = self.read_int()
        if exponent == FLOAT_IS_INF:
            return float("inf")
        if exponent == FLOAT_IS_NINF:
            return float("-inf")
        if exponent == FLOAT_IS_NAN:
            return float("nan")
        return float(np.ldexp(float(mantissa), exponent))

    def read_string(self) -> str:
        length = self.read_int()
        return bytes(self._take(length)).decode("latin-1")

    def read_bool(self) -> bool:
        byte = self._take(1)[0]
        if byte not in (ord("0"), ord("1")):
            raise DlibFormatError(f"bad boolean byte 0x{byte:02x} at byte {self.pos - 1}")
        return byte == ord("1")

    def read_tensor(self) -> np.ndarray:
        """A tensor as a float32 array of shape (n, k, nr, nc)."""
        version = self.read_int()
        if version != TENSOR_VERSION:
            raise DlibFormatError(f"unsupported tensor version {version} at byte {self.pos}")
        shape = tuple(self.read_int() for _ in range(4))
        count = int(np.prod(shape))
        raw = self._take(4 * count)
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)

    def read_alias_tensor(self) -> tuple[int, int, int, int]:
        """An alias_tensor (a view into a layer's params): version 1, then its shape n, k, nr, nc."""
        version = self.read_int()
        if version != 1:
            raise DlibFormatError(f"unsupported alias_tensor version {version} at byte {self.pos}")
        n, k, nr, nc = (self.read_int() for _ in range(4))
        return (n, k, nr, nc)

    def peek_string_startswith(self, prefix: str) -> bool:
        """True if the next value is a string beginning with ``prefix`` (the position is not moved)."""
        start = self.pos
        try:
            length = self.read_int()
            if not 0 < length <= 256 or self.remaining < length:
                return False
            return bytes(self.data[self.pos : self.pos + len(prefix)]) == prefix.encode("latin-1")
        except DlibFormatError:
            return False
        finally:
            self.pos = start


@dataclass(frozen=True)
class DlibLayer:
    """One computational layer: its kind (``con``, ``affine``, ``relu``, ``max_pool``, ``avg_pool``,
    ``add_prev``, ``fc``), scalar attributes, and parameter arrays in torch-friendly shapes."""

    kind: str
    attrs: dict[str, int | float] = field(default_factory=dict)
    params: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class DlibNetwork:
    """A parsed network: loss details, input layer, and the computational layers innermost first."""

    loss: str
    loss_attrs: dict[str, float]
    input_layer: str
    input_mean_rgb: tuple[float, float, float]
    input_size: tuple[int, int]
    wrapper_versions: list[int]
    layers: list[DlibLayer]

    @property
    def num_params(self) -> int:
        return sum(int(a.size) for layer in self.layers for a in layer.params.values())


def _split_params(params: np.ndarray, shapes: list[tuple[int, ...]], what: str) -> list[np.ndarray]:
    """Cut a flat params tensor into consecutive pieces of the given shapes."""
    flat = params.reshape(-1)
    sizes = [int(np.prod(s)) for s in shapes]
    if sum(sizes) != flat.size:
        raise DlibFormatError(f"{what}: params hold {flat.size} floats, expected {sum(sizes)}")
    pieces, offset = [], 0
    for shape, size in zip(shapes, sizes, strict=True):
        pieces.append(flat[offset : offset + size].reshape(shape).copy())
        offset += size
    return pieces


def _read_window(stream: DlibStream) -> dict[str, int | float]:
    names = ("nr", "nc", "stride_y", "stride_x", "padding_y", "padding_x")
    return {name: stream.read_int() for name in names}


def _read_multipliers(stream: DlibStream) -> dict[str, int | float]:
    names = ("learning_rate_multiplier", "weight_decay_multiplier",
             "bias_learning_rate_multiplier", "bias_weight_decay_multiplier")
    return {name: stream.read_float() for name in names}


def _read_con(stream: DlibStream) -> DlibLayer:
    params = stream.read_tensor()
    attrs: dict[str, int | float] = {"num_filters": stream.read_int()}
    attrs.update(_read_window(stream))
    filters_shape = stream.read_alias_tensor()
    biases_shape = stream.read_alias_tensor()
    attrs.update(_read_multipliers(stream))
    out_ch = filters_shape[0]
    filters, biases = _split_params(params, [filters_shape, (out_ch,)], "con")
    if biases_shape[1] != out_ch:
        raise DlibFormatError(f"con: {biases_shape[1]} biases for {out_ch} filters")
    return DlibLayer("con", attrs, {"weight": filters, "bias": biases})


def _read_affine(stream: DlibStream) -> DlibLayer:
    params = stream.read_tensor()
    gamma_shape = stream.read_alias_tensor()
    beta_shape = stream.read_alias_tensor()
    mode = stream.read_int()
    channels = int(np.prod(gamma_shape))
    if int(np.prod(beta_shape)) != channels:
        raise DlibFormatError("affine: gamma and beta differ in size")
    gamma, beta = _split_params(params, [(channels,), (channels,)], "affine")
    return DlibLayer("affine", {"mode": mode}, {"gamma": gamma, "beta": beta})


def _read_fc(stream: DlibStream) -> DlibLayer:
    num_outputs = stream.read_int()
    num_inputs = stream.read_int()
    params = stream.read_tensor()
    weights_shape = stream.read_alias_tensor()
    biases_shape = stream.read_alias_tensor()
    bias_mode = stream.read_int()
    attrs: dict[str, int | float] = {"num_outputs": num_outputs, "num_inputs": num_inputs,
                                     "bias_mode": bias_mode}
    attrs.update(_read_multipliers(stream))
    n_bias = int(np.prod(biases_shape))
    shapes: list[tuple[int, ...]] = [(num_inputs, num_outputs)] + ([(n_bias,)] if n_bias else [])
    if int(np.prod(weights_shape)) != num_inputs * num_outputs:
        raise DlibFormatError("fc: weight view does not match num_inputs x num_outputs")
    pieces = _split_params(params, shapes, "fc")
    # dlib stores fc weights as [in, out]; torch's Linear wants [out, in].
    out = {"weight": np.ascontiguousarray(pieces[0].T)}
    if n_bias:
        out["bias"] = pieces[1]
    return DlibLayer("fc", attrs, out)


def _read_no_details(kind: str) -> Callable[[DlibStream], DlibLayer]:
    return lambda stream: DlibLayer(kind)


def _read_pool(kind: str) -> Callable[[DlibStream], DlibLayer]:
    return lambda stream: DlibLayer(kind, _read_window(stream))


LAYER_READERS: dict[str, Callable[[DlibStream], DlibLayer]] = {
    "con_4": _read_con,
    "affine_": _read_affine,
    "relu_": _read_no_details("relu"),
    "add_prev_": _read_no_details("add_prev"),
    "max_pool_2": _read_pool("max_pool"),
    "avg_pool_2": _read_pool("avg_pool"),
    "fc_2": _read_fc,
}


def read_layer_details(stream: DlibStream) -> DlibLayer:
    """One layer's details: its name string, then what that layer type serializes."""
    name = stream.read_string()
    reader = LAYER_READERS.get(name)
    if reader is None:
        raise DlibFormatError(f"unsupported dlib layer {name!r} at byte {stream.pos}")
    return reader(stream)


def _skip_wrapper_state(stream: DlibStream, version: int) -> None:
    """Skip what an add_layer writes after its layer details (flags, cached and gradient tensors)."""
    for _ in range(3):  # this_layer_setup_called, gradient_input_is_stale, output/gradient disabled
        stream.read_bool()
    for _ in range(3):  # x_grad, cached_output, params_grad (or grad_final on the input level)
        stream.read_tensor()
    if version == INPUT_ADD_LAYER_VERSION:
        stream.read_int()  # _sample_expansion_factor


def _read_loss(stream: DlibStream) -> tuple[str, dict[str, float]]:
    version = stream.read_int()
    if version != 1:
        raise DlibFormatError(f"unsupported loss wrapper version {version}")
    name = stream.read_string()
    if name != "loss_metric_2":
        raise DlibFormatError(f"unsupported loss layer {name!r}")
    return name, {"margin": stream.read_float(), "dist_thresh": stream.read_float()}


def _read_wrapper_versions(stream: DlibStream) -> list[int]:
    """Each wrapper's version, outside in, up to the one holding the input layer."""
    versions: list[int] = []
    while True:
        versions.append(stream.read_int())
        if stream.peek_string_startswith("input_"):
            break
        if stream.remaining == 0 or len(versions) > 100_000:
            raise DlibFormatError("no input layer found")
    if versions[-1] != INPUT_ADD_LAYER_VERSION or any(v not in (1, 2) for v in versions[:-1]):
        raise DlibFormatError(f"unsupported layer wrapper versions {sorted(set(versions))}")
    return versions


def parse_dlib_network(data: bytes) -> DlibNetwork:
    """Parse a serialized ``loss_metric`` network (dlib's face recognition ResNet)."""
    stream = DlibStream(data)
    loss, loss_attrs = _read_loss(stream)
    versions = _read_wrapper_versions(stream)
    input_layer = stream.read_string()
    if input_layer != "input_rgb_image_sized":
        raise DlibFormatError(f"unsupported input layer {input_layer!r}")
    mean = (stream.read_float(), stream.read_float(), stream.read_float())
    size = (stream.read_int(), stream.read_int())
    add_layer_versions = [INPUT_ADD_LAYER_VERSION] + [v for v in reversed(versions[:-1])
                                                      if v == ADD_LAYER_VERSION]
    layers = []
    for version in add_layer_versions:
        layers.append(read_layer_details(stream))
        _skip_wrapper_state(stream, version)
    if stream.remaining:
        raise DlibFormatError(f"{stream.remaining} unexpected bytes after the last layer")
    return DlibNetwork(loss, loss_attrs, input_layer, mean, size, versions, layers)


def read_dlib_network(path: str | Path) -> DlibNetwork:
    """Read and parse a dlib ``.dat`` network file."""
    return parse_dlib_network(Path(path).read_bytes())
