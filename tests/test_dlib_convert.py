"""The dlib .dat reader, the torch module built from it, and its ONNX export, checked against dlib."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from faceorg.train.dlib_format import (
    DlibFormatError,
    DlibStream,
    read_dlib_network,
    read_layer_details,
)
from faceorg.weights.registry import DLIB_RESNET_FILE

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from faceorg.files import sha256_file  # noqa: E402
from faceorg.train.dlib_resnet import DlibResNet, add_zero_padded  # noqa: E402
from faceorg.train.export_onnx import export_onnx  # noqa: E402

DLIB_TOLERANCE = 1e-5


# --- hand-made dlib bytes --------------------------------------------------------------------------


def enc_int(value: int) -> bytes:
    """dlib's integer encoding: control byte (sign bit, byte count), then little-endian magnitude."""
    magnitude = abs(value)
    body = magnitude.to_bytes(max(1, (magnitude.bit_length() + 7) // 8), "little")
    return bytes([len(body) | (0x80 if value < 0 else 0)]) + body


def enc_float(mantissa: int, exponent: int) -> bytes:
    return enc_int(mantissa) + enc_int(exponent)


def enc_str(text: str) -> bytes:
    return enc_int(len(text)) + text.encode("latin-1")


def enc_tensor(array: np.ndarray) -> bytes:
    shape = array.shape + (1,) * (4 - array.ndim)
    return enc_int(2) + b"".join(enc_int(d) for d in shape) + array.astype("<f4").tobytes()


def enc_alias(*shape: int) -> bytes:
    return enc_int(1) + b"".join(enc_int(d) for d in shape)


ONE = enc_float(16, -4)
ZERO = enc_float(0, 11)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b"\x01\x00", 0),
        (b"\x01\x07", 7),
        (b"\x01\xff", 255),
        (b"\x02\x00\x01", 256),
        (b"\x02\x80\x12", 4736),
        (b"\x81\x05", -5),
        (b"\x82\x00\x7d", -32000),
        (b"\x08" + (2**63 - 1).to_bytes(8, "little"), 2**63 - 1),
    ],
)
def test_reads_hand_made_integers(raw: bytes, value: int) -> None:
    stream = DlibStream(raw)
    assert stream.read_int() == value
    assert stream.remaining == 0
    assert enc_int(value) == raw


@pytest.mark.parametrize("raw", [b"\x00", b"\x09" + bytes(9), b"\x02\x01"])
def test_rejects_bad_or_truncated_integers(raw: bytes) -> None:
    with pytest.raises(DlibFormatError):
        DlibStream(raw).read_int()


def test_reads_floats_as_mantissa_and_exponent() -> None:
    stream = DlibStream(ONE + ZERO + enc_float(3, -1) + enc_float(-5, 2) + enc_float(0, 32000)
                        + enc_float(0, 32001) + enc_float(0, 32002))
    assert [stream.read_float() for _ in range(6)] == [1.0, 0.0, 1.5, -20.0, math.inf, -math.inf]
    assert math.isnan(stream.read_float())


def test_reads_strings_bools_and_tensors() -> None:
    values = np.arange(6, dtype=np.float32).reshape(1, 2, 3, 1) - 2.5
    stream = DlibStream(enc_str("relu_") + b"10" + enc_tensor(values) + enc_tensor(np.zeros((0, 0, 0, 0))))
    assert stream.read_string() == "relu_"
    assert (stream.read_bool(), stream.read_bool()) == (True, False)
    tensor = stream.read_tensor()
    assert tensor.shape == (1, 2, 3, 1) and tensor.dtype == np.float32
    np.testing.assert_array_equal(tensor, values)
    assert stream.read_tensor().size == 0
    assert stream.remaining == 0


def test_rejects_unknown_tensor_version_and_bad_bools() -> None:
    with pytest.raises(DlibFormatError):
        DlibStream(enc_int(1) + enc_int(0) * 4).read_tensor()
    with pytest.raises(DlibFormatError):
        DlibStream(b"x").read_bool()


def test_reads_a_conv_layer_filters_then_biases() -> None:
    out_ch, in_ch = 2, 3
    filters = np.random.default_rng(0).normal(size=(out_ch, in_ch, 3, 3)).astype(np.float32)
    biases = np.array([0.5, -0.25], dtype=np.float32)
    raw = (enc_str("con_4") + enc_tensor(np.concatenate([filters.ravel(), biases]))
           + b"".join(enc_int(v) for v in (out_ch, 3, 3, 1, 1, 1, 1))
           + enc_alias(out_ch, in_ch, 3, 3) + enc_alias(1, out_ch, 1, 1) + ONE + ONE + ONE + ZERO)
    layer = read_layer_details(DlibStream(raw))
    assert layer.kind == "con" and layer.attrs["stride_y"] == 1 and layer.attrs["padding_x"] == 1
    np.testing.assert_array_equal(layer.params["weight"], filters)
    np.testing.assert_array_equal(layer.params["bias"], biases)


def test_reads_fc_weights_stored_in_by_out_and_transposes_them() -> None:
    n_in, n_out = 4, 3
    stored = np.arange(n_in * n_out, dtype=np.float32).reshape(n_in, n_out)  # dlib's [in, out]
    raw = (enc_str("fc_2") + enc_int(n_out) + enc_int(n_in) + enc_tensor(stored.ravel())
           + enc_alias(n_in, n_out, 1, 1) + enc_alias(0, 0, 0, 0) + enc_int(1) + ONE + ONE + ONE + ZERO)
    layer = read_layer_details(DlibStream(raw))
    assert layer.kind == "fc" and "bias" not in layer.params
    np.testing.assert_array_equal(layer.params["weight"], stored.T)  # torch's [out, in]


def test_rejects_unknown_layers() -> None:
    with pytest.raises(DlibFormatError, match="unsupported dlib layer"):
        read_layer_details(DlibStream(enc_str("mystery_7")))


# --- the module, without model files -----------------------------------------------------------------


def test_zero_padded_add_aligns_top_left() -> None:
    small = torch.ones(1, 2, 1, 1)
    big = torch.full((1, 1, 2, 2), 10.0)
    out = add_zero_padded(small, big, (0, 1, 0, 1, 0, 0), (0, 0, 0, 0, 0, 1))
    assert out.shape == (1, 2, 2, 2)
    expected = torch.tensor([[[[11.0, 10.0], [10.0, 10.0]], [[1.0, 0.0], [0.0, 0.0]]]])
    torch.testing.assert_close(out, expected)


def randomized_module(seed: int = 0) -> DlibResNet:
    """A DlibResNet with random but tame weights (affine scales small so activations stay O(1))."""
    torch.manual_seed(seed)
    model = DlibResNet()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("gamma"):
                p.uniform_(0.2, 0.5)
            elif name.endswith("beta"):
                p.uniform_(-0.1, 0.1)
    return model.eval()


def test_module_shapes_and_fine_tuning_parts() -> None:
    model = randomized_module()
    with torch.no_grad():
        embedding, features = model(torch.rand(2, 3, 150, 150) * 255)
    assert embedding.shape == (2, 128) and features.shape == (2, 256)
    assert len(model.stages) == 5 and [len(s) for s in model.stages] == [3, 4, 3, 3, 1]
    assert sum(isinstance(m, torch.nn.Conv2d) for m in model.modules()) == 29
    model.set_trainable(2)
    trainable = {n.split(".")[0] + ("." + n.split(".")[1] if n.startswith("stages") else "")
                 for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"stages.3", "stages.4", "fc"}
    model.set_trainable(0, fc=False)
    assert not any(p.requires_grad for p in model.parameters())


def test_save_and_load_state_round_trip(tmp_path: Path) -> None:
    model = randomized_module(1)
    model.save(tmp_path / "model.pt")
    loaded = DlibResNet.load(tmp_path / "model.pt")
    chips = torch.rand(1, 3, 150, 150) * 255
    with torch.no_grad():
        torch.testing.assert_close(loaded(chips)[0], model(chips)[0], rtol=0, atol=0)


def onnx_session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def test_onnx_export_matches_torch_on_random_input(tmp_path: Path) -> None:
    model = randomized_module(2)
    digest = export_onnx(model, tmp_path / "embedder.onnx")
    assert digest == sha256_file(tmp_path / "embedder.onnx")
    assert [p.name for p in tmp_path.iterdir()] == ["embedder.onnx"]  # no temp file left behind
    session = onnx_session(tmp_path / "embedder.onnx")
    assert [i.name for i in session.get_inputs()] == ["chips"]
    assert [o.name for o in session.get_outputs()] == ["embedding", "features"]
    for batch in (1, 3):  # the batch axis is dynamic
        chips = np.random.default_rng(batch).uniform(0, 255, (batch, 3, 150, 150)).astype(np.float32)
        embedding, features = session.run(None, {"chips": chips})
        with torch.no_grad():
            t_embedding, t_features = model(torch.from_numpy(chips))
        scale = max(1.0, float(t_embedding.abs().max()))
        np.testing.assert_allclose(embedding, t_embedding.numpy(), rtol=0, atol=1e-5 * scale)
        np.testing.assert_allclose(features, t_features.numpy(), rtol=0, atol=1e-5 * scale)


def test_train_package_and_reader_do_not_import_torch() -> None:
    code = ("import sys, faceorg.train, faceorg.train.dlib_format, faceorg.weights.fetch; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# --- the real model against dlib -------------------------------------------------------------------


@pytest.fixture(scope="module")
def dlib_dat(models_dir: Path) -> Path:
    path = models_dir / DLIB_RESNET_FILE
    if not path.is_file():
        pytest.skip(f"{DLIB_RESNET_FILE} not installed in {models_dir}")
    return path


@pytest.fixture(scope="module")
def converted(dlib_dat: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[DlibResNet, Path]:
    """The real model as a torch module and as an exported ONNX file."""
    model = DlibResNet.from_dat(dlib_dat)
    onnx_path = tmp_path_factory.mktemp("onnx") / "embedder.onnx"
    export_onnx(model, onnx_path)
    return model, onnx_path


def test_parses_the_real_model_file(dlib_dat: Path) -> None:
    network = read_dlib_network(dlib_dat)
    kinds = [layer.kind for layer in network.layers]
    assert kinds.count("con") == 29 and kinds.count("affine") == 29 and kinds[-1] == "fc"
    assert network.num_params == 5_614_592
    assert network.input_size == (150, 150)
    np.testing.assert_allclose(network.input_mean_rgb, (122.782, 117.001, 104.298), atol=1e-4)


def dlib_descriptors(dlib_dat: Path, chips: list[np.ndarray]) -> np.ndarray:
    dlib = pytest.importorskip("dlib")
    model = dlib.face_recognition_model_v1(str(dlib_dat))
    return np.array([np.array(model.compute_face_descriptor(chip)) for chip in chips])


def assert_matches_dlib(converted: tuple[DlibResNet, Path], dlib_dat: Path, chips: list[np.ndarray]) -> None:
    expected = dlib_descriptors(dlib_dat, chips)
    batch = np.stack(chips).astype(np.float32).transpose(0, 3, 1, 2).copy()
    model, onnx_path = converted
    with torch.no_grad():
        torch_embedding = model(torch.from_numpy(batch))[0].numpy()
    onnx_embedding = onnx_session(onnx_path).run(["embedding"], {"chips": batch})[0]
    np.testing.assert_allclose(torch_embedding, expected, rtol=0, atol=DLIB_TOLERANCE)
    np.testing.assert_allclose(onnx_embedding, expected, rtol=0, atol=DLIB_TOLERANCE)


def test_matches_dlib_on_random_chips(converted: tuple[DlibResNet, Path], dlib_dat: Path) -> None:
    rng = np.random.default_rng(7)
    chips = [rng.integers(0, 256, (150, 150, 3), dtype=np.uint8) for _ in range(3)]
    chips.append(np.full((150, 150, 3), 128, dtype=np.uint8))
    assert_matches_dlib(converted, dlib_dat, chips)


def lfw_chips(lfw_images: Path, people: int = 3, per_person: int = 2) -> list[np.ndarray]:
    """Centre crops of LFW photos (250x250, face centred), resized to 150x150 RGB."""
    from PIL import Image

    chips: list[np.ndarray] = []
    for person in sorted(p for p in lfw_images.iterdir() if p.is_dir()):
        photos = sorted(person.glob("*.jpg"))
        if len(photos) < per_person:
            continue
        for photo in photos[:per_person]:
            with Image.open(photo) as image:
                crop = image.convert("RGB").crop((35, 35, 215, 215)).resize((150, 150), Image.BILINEAR)
            chips.append(np.asarray(crop, dtype=np.uint8))
        if len(chips) >= people * per_person:
            break
    return chips


def test_matches_dlib_on_lfw_faces(converted: tuple[DlibResNet, Path], dlib_dat: Path,
                                   shared_data: Path) -> None:
    lfw = shared_data / "lfw" / "images"
    if not lfw.is_dir():
        pytest.skip(f"{lfw} not found")
    chips = lfw_chips(lfw)
    assert len(chips) == 6
    assert_matches_dlib(converted, dlib_dat, chips)
