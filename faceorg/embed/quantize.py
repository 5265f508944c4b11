"""An int8 copy of an embedder for fast CPU inference (static quantisation, QDQ format).

The float32 ONNX file stays the model of record (training starts from it, the golden test checks it);
the int8 copy is what runs. Steps, all deterministic:

1. ``prepare_for_quantization``: fold each convolution's affine layer (``Mul`` + ``Add`` by constants,
   dlib's inference-time batch norm) into the convolution, and give every inner tensor a name by its
   position (``t0``, ``t1``...), so activation ranges measured on one export apply to any export of the
   same architecture.
2. Activation ranges (min/max per tensor): measured on face chips (``measure_ranges``) or read from a
   file measured earlier (the base model's ranges ship with the package, measured on 400 LFW faces by
   ``scripts/calibrate_embedder.py``).
3. onnxruntime's static quantiser: weights int8 (7-bit range) per output channel, activations uint8,
   the last linear layer left in float32 so that re-embedding from stored 256-d features matches the
   model exactly (and a head-only retrained version is its parent's int8 file with a new last layer,
   ``with_new_head``). Ranges files carry a fingerprint of the graph they were measured on.
Any failure raises ValueError and leaves no file behind.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from faceorg.files import bytes_sha256, replacing, write_text_atomic

log = logging.getLogger(__name__)

INPUT_NAME = "chips"
# onnxruntime QuantType names: activations uint8, weights int8 per channel (u8 x s8 is onnxruntime's fast
# path on x86: 0.73 ms/face here, where int8 activations took 2.64 ms, slower than float32's 1.73 ms).
ACTIVATION_TYPE = "QUInt8"
WEIGHT_TYPE = "QInt8"
# Weights on 7 bits: onnxruntime's advice for x86 processors without VNNI, whose u8 x s8 multiply-adds can
# saturate on 8-bit weights.
REDUCE_RANGE = True
FINGERPRINT_KEY = "faceorg_graph_sha256"  # added to onnxruntime's ranges file (which ignores it)
_CALIBRATION_BATCH = 16


def _constant_arrays(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """Values of every initializer and ``Constant`` node output."""
    values = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    values[node.output[0]] = numpy_helper.to_array(attr.t)
    return values


def _consumers(model: onnx.ModelProto) -> dict[str, list[onnx.NodeProto]]:
    uses: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            uses.setdefault(name, []).append(node)
    return uses


def fold_affine_into_conv(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy with every ``Conv -> Mul(c) -> Add(c)`` chain (per-channel constants) as one ``Conv``."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    values = _constant_arrays(model)
    uses = _consumers(model)
    outputs = {o.name for o in graph.output}
    initializers = {init.name: init for init in graph.initializer}
    drop: set[int] = set()
    for conv in graph.node:
        if conv.op_type != "Conv" or len(conv.input) < 2 or conv.input[1] not in initializers:
            continue
        mul = _only_use(uses, conv.output[0], "Mul", outputs)
        add = _only_use(uses, mul.output[0], "Add", outputs) if mul is not None else None
        if mul is None or add is None:
            continue
        scale = _channel_constant(values, mul, conv.output[0])
        shift = _channel_constant(values, add, mul.output[0])
        weight = values[conv.input[1]]
        if scale is None or shift is None or scale.size != weight.shape[0] or shift.size != weight.shape[0]:
            continue
        bias = values[conv.input[2]] if len(conv.input) > 2 and conv.input[2] else np.zeros(weight.shape[0], np.float32)
        new_weight = (weight * scale.reshape(-1, *([1] * (weight.ndim - 1)))).astype(np.float32)
        new_bias = (bias * scale + shift).astype(np.float32)
        weight_name, bias_name = conv.output[0] + "_folded_w", conv.output[0] + "_folded_b"
        graph.initializer.extend([numpy_helper.from_array(new_weight, weight_name),
                                  numpy_helper.from_array(new_bias, bias_name)])
        del conv.input[1:]
        conv.input.extend([weight_name, bias_name])
        conv.output[0] = add.output[0]
        drop.update({id(mul), id(add)})
    kept = [n for n in graph.node if id(n) not in drop]
    del graph.node[:]
    graph.node.extend(kept)
    return _without_unused(model)


def _only_use(uses: dict[str, list[onnx.NodeProto]], tensor: str, op_type: str,
              outputs: set[str]) -> onnx.NodeProto | None:
    nodes = uses.get(tensor, [])
    if len(nodes) != 1 or nodes[0].op_type != op_type or tensor in outputs:
        return None
    return nodes[0]


def _channel_constant(values: dict[str, np.ndarray], node: onnx.NodeProto, data_input: str) -> np.ndarray | None:
    """The per-channel constant of a binary node (shape [C,1,1] or [1,C,1,1]), flattened."""
    other = [name for name in node.input if name != data_input]
    if len(other) != 1 or other[0] not in values:
        return None
    value = values[other[0]].astype(np.float32)
    if value.ndim < 3 or any(d != 1 for d in value.shape[-2:]) or any(d != 1 for d in value.shape[:-3]):
        return None
    return value.reshape(-1)


def _without_unused(model: onnx.ModelProto) -> onnx.ModelProto:
    """Drop initializers and Constant nodes nothing reads any more."""
    used = {name for node in model.graph.node for name in node.input} | {o.name for o in model.graph.output}
    kept_nodes = [n for n in model.graph.node if n.op_type != "Constant" or n.output[0] in used]
    del model.graph.node[:]
    model.graph.node.extend(kept_nodes)
    kept_inits = [i for i in model.graph.initializer if i.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept_inits)
    return model


def canonical_names(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy whose inner tensors are named ``t0``, ``t1``... in node order (graph inputs, outputs and
    initializers keep their names); node names become ``n0``, ``n1``..."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    keep = {i.name for i in model.graph.input} | {o.name for o in model.graph.output}
    keep |= {i.name for i in model.graph.initializer}
    renamed: dict[str, str] = {}
    for k, node in enumerate(model.graph.node):
        node.name = f"n{k}"
        for j, name in enumerate(node.input):
            if name in renamed:
                node.input[j] = renamed[name]
        for j, name in enumerate(node.output):
            if name and name not in keep:
                renamed[name] = f"t{len(renamed)}"
                node.output[j] = renamed[name]
    del model.graph.value_info[:]
    return model


def prepare_for_quantization(model: onnx.ModelProto) -> onnx.ModelProto:
    """Folded, canonically named and shape-inferred: the graph the ranges and the quantiser work on."""
    return onnx.shape_inference.infer_shapes(canonical_names(fold_affine_into_conv(model)))


def last_linear_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes that produce a graph output with MatMul/Gemm (kept in float32)."""
    outputs = {o.name for o in model.graph.output}
    return [n.name for n in model.graph.node if n.op_type in ("MatMul", "Gemm") and set(n.output) & outputs]


class _ChipReader:
    """Feeds uint8 chips [N,150,150,3] to the calibrator in float32 NCHW batches."""

    def __init__(self, chips: Iterable[np.ndarray]) -> None:
        self._batches: Iterator[np.ndarray] = iter(chips)

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self._batches, None)
        if batch is None:
            return None
        return {INPUT_NAME: np.ascontiguousarray(np.asarray(batch, np.float32).transpose(0, 3, 1, 2))}


def _batches(chips: np.ndarray) -> list[np.ndarray]:
    return [chips[i:i + _CALIBRATION_BATCH] for i in range(0, len(chips), _CALIBRATION_BATCH)]


def graph_fingerprint(prepared: onnx.ModelProto) -> str:
    """SHA-256 of a prepared graph's structure (operators, tensor names, weight shapes), so ranges measured
    on one graph are never applied to a different one whose positions happen to line up."""
    shapes = {i.name: list(i.dims) for i in prepared.graph.initializer}
    text = "|".join(f"{n.op_type}({','.join(str(shapes.get(x, x)) for x in n.input)})->{','.join(n.output)}"
                    for n in prepared.graph.node)
    return bytes_sha256(text.encode())


def _check_ranges(ranges_file: Path, fingerprint: str) -> None:
    try:
        recorded = json.loads(ranges_file.read_text(encoding="utf-8")).get(FINGERPRINT_KEY)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the activation ranges {ranges_file}: {exc}") from exc
    if recorded != fingerprint:
        raise ValueError(f"the activation ranges {ranges_file.name} were measured on a different model graph")


def quantize_embedder(source: Path, target: Path, *, ranges_file: Path | None = None,
                      chips: np.ndarray | None = None, save_ranges: Path | None = None) -> Path:
    """Write the int8 copy of the float32 embedder ``source`` to ``target`` (atomically).

    Activation ranges come from ``ranges_file`` when given (it must have been measured on the same
    graph), else are measured on ``chips`` (uint8 [N,150,150,3]; a few hundred faces are enough) and,
    with ``save_ranges``, written there (atomically). Raises ValueError when the copy cannot be made;
    nothing is left behind then.
    """
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    if ranges_file is None and (chips is None or len(chips) == 0):
        raise ValueError("quantize_embedder needs either a ranges file or calibration chips")
    try:
        prepared = prepare_for_quantization(onnx.load(str(source)))
        fingerprint = graph_fingerprint(prepared)
        if ranges_file is not None:
            _check_ranges(ranges_file, fingerprint)
        target.parent.mkdir(parents=True, exist_ok=True)
        with replacing(target) as partial, tempfile.TemporaryDirectory(prefix="faceorg-quant-") as tmp:
            prepared_path = Path(tmp) / "prepared.onnx"
            onnx.save(prepared, str(prepared_path))
            cache = ranges_file if ranges_file is not None else Path(tmp) / "ranges.json"
            reader = _ChipReader(_batches(chips)) if ranges_file is None and chips is not None else None
            quantize_static(str(prepared_path), str(partial), reader, quant_format=QuantFormat.QDQ,
                            per_channel=True, activation_type=QuantType[ACTIVATION_TYPE],
                            weight_type=QuantType[WEIGHT_TYPE], reduce_range=REDUCE_RANGE,
                            nodes_to_exclude=last_linear_nodes(prepared), calibration_cache_path=cache)
            if ranges_file is None and save_ranges is not None:
                measured = json.loads(cache.read_text(encoding="utf-8"))
                measured[FINGERPRINT_KEY] = fingerprint
                write_text_atomic(save_ranges, json.dumps(measured, sort_keys=True))
            check_quantized(partial)
    except ValueError:
        raise
    except Exception as exc:  # onnx / onnxruntime errors of any kind: one clear error, nothing left behind
        raise ValueError(f"quantising {Path(source).name} failed: {type(exc).__name__}: {exc}") from exc
    return target


def last_linear_weight_name(model: onnx.ModelProto) -> str:
    """The initializer holding the last linear layer's weight (the one left in float32)."""
    initializers = {i.name for i in model.graph.initializer}
    for node in model.graph.node:
        if node.name in last_linear_nodes(model):
            names = [x for x in node.input if x in initializers]
            if len(names) == 1:
                return names[0]
    raise ValueError("the model has no float32 last linear layer with one weight")


def with_new_head(int8_source: Path, weight: np.ndarray, target: Path) -> Path:
    """Copy an int8 embedder with its float32 last linear layer replaced by ``weight`` [128, 256]
    (what a head-only retrained version is: same body, new head). Written atomically."""
    try:
        model = onnx.load(str(int8_source))
        name = last_linear_weight_name(model)
        for k, init in enumerate(model.graph.initializer):
            if init.name == name:
                old = numpy_helper.to_array(init)
                new = np.asarray(weight, np.float32)
                new = new.T if old.shape == new.T.shape and old.shape != new.shape else new
                if new.shape != old.shape:
                    raise ValueError(f"head weight {np.asarray(weight).shape} does not fit {old.shape}")
                model.graph.initializer[k].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(new), name))
        with replacing(target) as partial:
            onnx.save(model, str(partial))
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - unreadable file, disk full: one clear error
        raise ValueError(f"cannot give {Path(int8_source).name} a new head: {type(exc).__name__}: {exc}") from exc
    return target


def check_quantized(path: Path) -> None:
    """Raise ValueError unless every convolution of the model at ``path`` reads int8 weights."""
    model = onnx.load(str(path))
    dequantized = {n.output[0] for n in model.graph.node if n.op_type == "DequantizeLinear"}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    plain = [n.name for n in convs if n.input[1] not in dequantized or n.input[0] not in dequantized]
    if not convs or plain:
        raise ValueError(f"{path.name}: {len(plain)} of {len(convs)} convolutions were not quantised "
                         "(the activation ranges do not fit this model)")
