"""The int8 copy of the embedder: affine folding, canonical names, ranges, and the real model's accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from faceorg.embed import BASE_RANGES_FILE
from faceorg.embed.quantize import (
    FINGERPRINT_KEY,
    canonical_names,
    check_quantized,
    fold_affine_into_conv,
    quantize_embedder,
    with_new_head,
)


def tiny_embedder(seed: int = 0, channels: int = 4, prefix: str = "") -> onnx.ModelProto:
    """chips [N,3,8,8] -> conv/affine/relu -> residual conv/affine -> relu -> mean 'features' -> 'embedding'."""
    rng = np.random.default_rng(seed)
    c = channels

    def const(name: str, array: np.ndarray) -> onnx.TensorProto:
        return numpy_helper.from_array(array.astype(np.float32), prefix + name)

    inits = [
        const("w1", rng.normal(0, 0.3, (c, 3, 3, 3))), const("b1", rng.normal(0, 0.1, c)),
        const("s1", rng.uniform(0.5, 1.5, (c, 1, 1))), const("h1", rng.normal(0, 0.2, (c, 1, 1))),
        const("w2", rng.normal(0, 0.3, (c, c, 3, 3))), const("b2", rng.normal(0, 0.1, c)),
        const("s2", rng.uniform(0.5, 1.5, (c, 1, 1))), const("h2", rng.normal(0, 0.2, (c, 1, 1))),
        const("fc", rng.normal(0, 0.5, (c, 5))), const("mean", np.full((1, 3, 1, 1), 128.0)),
        const("scale", np.array(64.0)),
    ]
    p = prefix
    nodes = [
        helper.make_node("Sub", ["chips", p + "mean"], [p + "centred"]),
        helper.make_node("Div", [p + "centred", p + "scale"], [p + "x"]),
        helper.make_node("Conv", [p + "x", p + "w1", p + "b1"], [p + "c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Mul", [p + "c1", p + "s1"], [p + "m1"]),
        helper.make_node("Add", [p + "m1", p + "h1"], [p + "a1"]),
        helper.make_node("Relu", [p + "a1"], [p + "r1"]),
        helper.make_node("Conv", [p + "r1", p + "w2", p + "b2"], [p + "c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Mul", [p + "c2", p + "s2"], [p + "m2"]),
        helper.make_node("Add", [p + "m2", p + "h2"], [p + "a2"]),
        helper.make_node("Add", [p + "a2", p + "r1"], [p + "sum"]),
        helper.make_node("Relu", [p + "sum"], [p + "r2"]),
        helper.make_node("ReduceMean", [p + "r2"], ["features"], axes=[2, 3], keepdims=0),
        helper.make_node("MatMul", ["features", p + "fc"], ["embedding"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("chips", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 5]),
         helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", c])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def run(model: onnx.ModelProto | Path, chips: np.ndarray) -> dict[str, np.ndarray]:
    data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    x = np.ascontiguousarray(chips.astype(np.float32).transpose(0, 3, 1, 2))
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"chips": x})))


def tiny_chips(n: int = 48, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 8, 8, 3), dtype=np.uint8)


def test_folding_the_affine_layers_keeps_the_outputs() -> None:
    model = tiny_embedder()
    folded = fold_affine_into_conv(model)
    assert [n.op_type for n in folded.graph.node].count("Mul") == 0
    assert [n.op_type for n in folded.graph.node].count("Add") == 1  # the residual sum stays
    assert {i.name for i in folded.graph.initializer}.isdisjoint({"s1", "h1", "s2", "h2"})
    chips = tiny_chips()
    before, after = run(model, chips), run(folded, chips)
    for name in ("features", "embedding"):
        np.testing.assert_allclose(after[name], before[name], rtol=1e-5, atol=1e-5)


def test_an_affine_whose_output_is_read_twice_is_not_folded() -> None:
    model = tiny_embedder()
    extra = helper.make_node("Identity", ["c1"], ["c1_copy"])  # a second reader of the conv's output
    model.graph.node.insert(3, extra)
    folded = fold_affine_into_conv(model)
    assert [n.op_type for n in folded.graph.node].count("Mul") == 1  # only the second block folded


def test_canonical_names_do_not_depend_on_the_exporters_names() -> None:
    a = canonical_names(fold_affine_into_conv(tiny_embedder(prefix="")))
    b = canonical_names(fold_affine_into_conv(tiny_embedder(prefix="/export/v2/")))
    inner = lambda m: [(n.op_type, list(n.input), list(n.output)) for n in m.graph.node]  # noqa: E731
    strip = lambda names: [x.replace("/export/v2/", "") for x in names]  # noqa: E731
    assert [(t, strip(i), o) for t, i, o in inner(b)] == inner(a)
    assert all(o.startswith("t") or o in ("features", "embedding") for _, _, outs in inner(a) for o in outs)


def test_quantising_from_measured_or_saved_ranges_gives_the_same_file(tmp_path: Path) -> None:
    source = tmp_path / "tiny.onnx"
    onnx.save(tiny_embedder(), str(source))
    chips = tiny_chips(64)
    ranges = tmp_path / "ranges.json"
    measured = quantize_embedder(source, tmp_path / "a.int8.onnx", chips=chips, save_ranges=ranges)
    from_file = quantize_embedder(source, tmp_path / "b.int8.onnx", ranges_file=ranges)
    assert measured.read_bytes() == from_file.read_bytes()
    check_quantized(measured)
    model = onnx.load(str(measured))
    fc = [n for n in model.graph.node if n.op_type == "MatMul"]
    assert len(fc) == 1 and fc[0].input[1] == "fc"  # the last linear layer stays float32
    exact, fast = run(tiny_embedder(), chips[:16]), run(measured, chips[:16])
    cos = np.sum(exact["embedding"] * fast["embedding"], 1) / (
        np.linalg.norm(exact["embedding"], axis=1) * np.linalg.norm(fast["embedding"], axis=1))
    assert cos.min() > 0.98
    assert not [p for p in tmp_path.iterdir() if p.name.endswith((".partial", ".tmp"))]  # no temporary file left


def test_ranges_of_another_architecture_are_refused(tmp_path: Path) -> None:
    source, other = tmp_path / "tiny.onnx", tmp_path / "wide.onnx"
    onnx.save(tiny_embedder(), str(source))
    narrow = tiny_embedder()
    narrow.graph.node.remove(narrow.graph.node[9])  # no residual sum: the canonical names shift
    narrow.graph.node[9].input[0] = "a2"
    onnx.save(narrow, str(other))
    ranges = tmp_path / "ranges.json"
    quantize_embedder(other, tmp_path / "other.int8.onnx", chips=tiny_chips(), save_ranges=ranges)
    with pytest.raises(ValueError, match="different model graph"):
        quantize_embedder(source, tmp_path / "bad.int8.onnx", ranges_file=ranges)
    assert not (tmp_path / "bad.int8.onnx").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith((".partial", ".tmp"))]
    unmarked = json.loads(ranges.read_text())
    del unmarked[FINGERPRINT_KEY]  # ranges of unknown origin are not trusted either
    ranges.write_text(json.dumps(unmarked))
    with pytest.raises(ValueError, match="different model graph"):
        quantize_embedder(other, tmp_path / "bad.int8.onnx", ranges_file=ranges)


def test_quantiser_failures_become_one_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="quantising broken.onnx failed"):
        quantize_embedder(broken, tmp_path / "out.onnx", chips=tiny_chips())
    assert not list(tmp_path.glob("out.onnx*"))


def test_a_new_head_keeps_the_int8_body(tmp_path: Path) -> None:
    source = tmp_path / "tiny.onnx"
    onnx.save(tiny_embedder(), str(source))
    int8 = quantize_embedder(source, tmp_path / "tiny.int8.onnx", chips=tiny_chips())
    head = np.random.default_rng(3).normal(size=(5, 4)).astype(np.float32)  # [out, in] like torch's Linear
    swapped = with_new_head(int8, head, tmp_path / "swapped.int8.onnx")
    chips = tiny_chips(8)
    old, new = run(int8, chips), run(swapped, chips)
    np.testing.assert_array_equal(new["features"], old["features"])
    np.testing.assert_allclose(new["embedding"], new["features"] @ head.T, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="does not fit"):
        with_new_head(int8, np.zeros((3, 3), np.float32), tmp_path / "bad.onnx")
    assert not (tmp_path / "bad.onnx").exists()


def test_needs_ranges_or_chips(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ranges file or calibration chips"):
        quantize_embedder(tmp_path / "x.onnx", tmp_path / "y.onnx")


def lfw_chips(shared_data: Path, real_detector, people: int = 12, per_person: int = 3):  # type: ignore[no-untyped-def]
    """Aligned chips of the first photos of LFW people with at least ``per_person`` photos, and labels."""
    from faceorg.detect.align import align_chip
    from faceorg.eval.lfw import central_face
    from faceorg.imaging.decode import load_working_image

    chips, labels = [], []
    lfw = shared_data / "lfw" / "images"
    folders = [f for f in sorted(lfw.iterdir()) if len(list(f.glob("*.jpg"))) >= per_person]
    for k, folder in enumerate(folders[:people]):
        for path in sorted(folder.glob("*.jpg"))[:per_person]:
            image = load_working_image(path, max_side=None).pixels
            det = central_face(real_detector.detect(image), image.shape[1], image.shape[0])
            if det is not None:
                chips.append(align_chip(image, np.asarray(det.landmarks, np.float32)))
                labels.append(k)
    return np.stack(chips), np.array(labels)


def test_the_installed_int8_embedder_matches_the_float32_one_on_real_faces(
    models_dir: Path, shared_data: Path, real_detector
) -> None:  # type: ignore[no-untyped-def]
    from faceorg.embed.embedder import Embedder
    from faceorg.weights.registry import BASE_EMBEDDER_FILE, BASE_EMBEDDER_INT8_FILE

    check_quantized(models_dir / BASE_EMBEDDER_INT8_FILE)
    chips, labels = lfw_chips(shared_data, real_detector)
    exact, exact_features = Embedder(models_dir / BASE_EMBEDDER_FILE, use_gpu=False, threads=2).embed(chips)
    fast, fast_features = Embedder(models_dir / BASE_EMBEDDER_INT8_FILE, use_gpu=False, threads=2).embed(chips)
    assert np.sum(exact * fast, axis=1).min() > 0.995  # distance to the float32 embedding below 0.1
    # the last layer stays float32: re-embedding from stored features reproduces the int8 model exactly
    head = next(
        numpy_helper.to_array(i)
        for i in onnx.load(str(models_dir / BASE_EMBEDDER_INT8_FILE)).graph.initializer
        if numpy_helper.to_array(i).shape == (256, 128)
    )
    product = fast_features @ head
    np.testing.assert_allclose(product / np.linalg.norm(product, axis=1, keepdims=True), fast, atol=1e-5)
    same = labels[:, None] == labels[None, :]
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    for vectors in (exact, fast):
        d = np.linalg.norm(vectors[:, None] - vectors[None], axis=2)
        assert d[same & off_diagonal].mean() < 0.45 < d[~same].mean()
    assert exact_features.shape == fast_features.shape == (len(chips), 256)


def test_the_shipped_ranges_fit_the_converted_embedder(models_dir: Path, tmp_path: Path) -> None:
    from faceorg.weights.registry import BASE_EMBEDDER_FILE, BASE_EMBEDDER_INT8_FILE

    made = quantize_embedder(models_dir / BASE_EMBEDDER_FILE, tmp_path / "base.int8.onnx", ranges_file=BASE_RANGES_FILE)
    assert made.read_bytes() == (models_dir / BASE_EMBEDDER_INT8_FILE).read_bytes()
