"""onnxruntime sessions: provider choice, GPU fallback (logged, ends on the CPU), threads, batching."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from faceorg.embed import runtime
from faceorg.embed.runtime import (
    CPU,
    CUDA,
    TENSORRT,
    RuntimeSession,
    create_session,
    physical_cores,
    provider_summary,
    run_batched,
    wanted_gpu_providers,
)


@pytest.fixture()
def tiny_model(tmp_path: Path) -> Path:
    """A two-output model: y = x + 1, z = 2 x, for x float32 [N, 3]."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 3])
    one = helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])
    two = helper.make_tensor("two", TensorProto.FLOAT, [1], [2.0])
    graph = helper.make_graph([helper.make_node("Add", ["x", "one"], ["y"]),
                               helper.make_node("Mul", ["x", "two"], ["z"])],
                              "tiny", [x], [y, z], initializer=[one, two])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp_path / "tiny.onnx"
    onnx.save(model, str(path))
    return path


@pytest.fixture()
def cuda_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend this onnxruntime build offers CUDA (as onnxruntime-gpu does) and a GPU is there."""
    monkeypatch.setattr(ort, "get_available_providers", lambda: [CUDA, CPU])
    monkeypatch.setenv(runtime.GPU_ENV, "1")
    monkeypatch.setattr(runtime, "_preload_gpu_libraries", lambda: None)


def _provider_names(providers: list) -> list[str]:
    return [p[0] if isinstance(p, tuple) else p for p in providers]


def test_cpu_session_when_no_gpu_wanted(tiny_model: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="faceorg.embed.runtime"):
        rs = create_session(tiny_model, use_gpu=False, threads=2)
    assert rs.provider == CPU and rs.fallback_reason is None and not rs.on_gpu
    assert not caplog.records
    assert rs.input_name == "x"
    y, z = rs.run({"x": np.ones((1, 3), np.float32)})
    np.testing.assert_array_equal(y, 2.0)
    np.testing.assert_array_equal(z, 2.0)


def test_threads_are_set_deliberately(tiny_model: Path) -> None:
    rs = create_session(tiny_model, use_gpu=False, threads=3)
    options = rs.session.get_session_options()
    assert options.intra_op_num_threads == 3
    assert options.inter_op_num_threads == 1
    assert options.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert rs.threads == 3


def test_default_threads_are_physical_cores(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(runtime.THREADS_ENV, raising=False)
    assert create_session(tiny_model, use_gpu=False).threads == physical_cores() >= 1
    monkeypatch.setenv(runtime.THREADS_ENV, "1")
    assert create_session(tiny_model, use_gpu=False).threads == 1


def test_gpu_missing_from_build_falls_back_with_reason(tiny_model: Path, monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(ort, "get_available_providers", lambda: [CPU])
    with caplog.at_level(logging.WARNING, logger="faceorg.embed.runtime"):
        rs = create_session(tiny_model, use_gpu=True)
    assert rs.provider == CPU
    assert rs.fallback_reason and "no GPU provider" in rs.fallback_reason
    assert any("running on the CPU" in r.getMessage() for r in caplog.records)


def test_cuda_that_fails_to_load_is_logged_and_ends_on_cpu(tiny_model: Path, cuda_listed: None,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    real = ort.InferenceSession
    asked: list[list[str]] = []

    def session(path: str, sess_options: ort.SessionOptions | None = None, providers: list | None = None):
        names = _provider_names(providers or [])
        asked.append(names)
        if CUDA in names:
            raise RuntimeError("libcudnn.so.9: cannot open shared object file")
        return real(path, sess_options=sess_options, providers=providers)

    monkeypatch.setattr(ort, "InferenceSession", session)
    with caplog.at_level(logging.WARNING, logger="faceorg.embed.runtime"):
        rs = create_session(tiny_model, use_gpu=True, threads=1)
    assert asked == [[CUDA, CPU], [CPU]]
    assert rs.provider == CPU
    assert rs.fallback_reason and "libcudnn.so.9" in rs.fallback_reason
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("libcudnn.so.9" in w and tiny_model.name in w for w in warnings)


def test_cuda_silently_dropped_by_onnxruntime_is_reported(tiny_model: Path, cuda_listed: None,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """onnxruntime-gpu without CUDA libraries builds the session on the CPU without raising."""
    real = ort.InferenceSession

    def session(path: str, sess_options: ort.SessionOptions | None = None, providers: list | None = None):
        return real(path, sess_options=sess_options, providers=[CPU])

    monkeypatch.setattr(ort, "InferenceSession", session)
    with caplog.at_level(logging.WARNING, logger="faceorg.embed.runtime"):
        rs = create_session(tiny_model, use_gpu=True)
    assert rs.provider == CPU and rs.fallback_reason and "fell back" in rs.fallback_reason
    assert caplog.records


def test_cuda_options_and_order(tiny_model: Path, cuda_listed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list] = []

    class FakeSession:
        def __init__(self, path: str, sess_options: ort.SessionOptions | None = None,
                     providers: list | None = None) -> None:
            seen.append(list(providers or []))

        def get_providers(self) -> list[str]:
            return _provider_names(seen[-1])

    monkeypatch.setattr(ort, "InferenceSession", FakeSession)
    rs = create_session(tiny_model, use_gpu=True)
    assert rs.provider == CUDA and rs.on_gpu and rs.fallback_reason is None
    assert seen[0][0] == (CUDA, {"cudnn_conv_algo_search": "HEURISTIC"}) and seen[0][1] == CPU


def test_tensorrt_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(runtime.TENSORRT_ENV, raising=False)
    assert wanted_gpu_providers() == [CUDA]
    monkeypatch.setenv(runtime.TENSORRT_ENV, "1")
    assert wanted_gpu_providers() == [TENSORRT, CUDA]


@pytest.mark.filterwarnings("ignore:Specified provider")
def test_preload_dlls_called_when_gpu_wanted(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(ort, "get_available_providers", lambda: [CUDA, CPU])
    monkeypatch.setenv(runtime.GPU_ENV, "1")
    monkeypatch.setattr(ort, "preload_dlls", lambda *a, **k: calls.append(1), raising=False)
    monkeypatch.setattr(runtime, "_dlls_preloaded", False)
    create_session(tiny_model, use_gpu=True)
    create_session(tiny_model, use_gpu=True)
    assert calls == [1]  # once per process
    monkeypatch.setattr(runtime, "_dlls_preloaded", False)
    create_session(tiny_model, use_gpu=False)
    assert calls == [1]


@pytest.mark.parametrize("batch_size", [1, 2, 5, 64])
def test_run_batched_concatenates_outputs(tiny_model: Path, batch_size: int) -> None:
    rs = create_session(tiny_model, use_gpu=False, threads=1)
    x = np.arange(15, dtype=np.float32).reshape(5, 3)
    y, z = run_batched(rs, "x", x, batch_size)
    np.testing.assert_array_equal(y, x + 1)
    np.testing.assert_array_equal(z, x * 2)
    y2, _ = run_batched(rs.session, "x", x, batch_size)  # a bare InferenceSession works too
    np.testing.assert_array_equal(y2, x + 1)


def test_run_batched_rejects_bad_arguments(tiny_model: Path) -> None:
    rs = create_session(tiny_model, use_gpu=False, threads=1)
    with pytest.raises(ValueError):
        run_batched(rs, "x", np.zeros((2, 3), np.float32), 0)
    with pytest.raises(ValueError):
        run_batched(rs, "x", np.zeros((0, 3), np.float32), 4)


def test_provider_summary(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ort, "get_available_providers", lambda: [CPU])
    summary = provider_summary(tiny_model)
    assert summary.available == (CPU,)
    provider, reason = summary.active[tiny_model.name]
    assert provider == CPU and reason and "no GPU provider" in reason
    text = str(summary)
    assert "available providers" in text and tiny_model.name in text and "GPU fallback" in text
    assert json.loads(json.dumps(summary.as_dict()))["active"][tiny_model.name]["provider"] == CPU


def test_runtime_session_is_a_small_record(tiny_model: Path) -> None:
    rs = create_session(tiny_model, use_gpu=False, threads=1)
    assert isinstance(rs, RuntimeSession) and rs.model_path == tiny_model
    assert isinstance(rs.session, ort.InferenceSession)


REPO = Path(__file__).resolve().parents[1]


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(REPO), **env}
    return subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=REPO, env=environ, timeout=120
    )


def test_preload_prints_go_to_the_log_not_stdout() -> None:
    """preload_dlls() prints (Python print, and C code may write to fd 1): stdout may be a --json document."""
    proc = _python(
        "import logging, os, sys\n"
        "logging.basicConfig(level=logging.INFO, stream=sys.stderr, format='%(name)s: %(message)s')\n"
        "import onnxruntime as ort\n"
        "from faceorg.embed import runtime\n"
        "real = ort.preload_dlls\n"
        "def noisy(*a, **k):\n"
        "    print('Failed to load libpython_print.so.13: missing')\n"
        "    os.write(1, b'Failed to load libc_write.so.13: missing\\n')\n"
        "    real(*a, **k)\n"
        "ort.preload_dlls = noisy\n"
        "runtime._preload_gpu_libraries()\n"
        "print('END')\n"
        "print(runtime._preload_notes, file=sys.stderr)\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "END\n"
    assert "onnxruntime.preload_dlls: Failed to load libpython_print.so.13" in proc.stderr
    assert "onnxruntime.preload_dlls: Failed to load libc_write.so.13" in proc.stderr
    notes = proc.stderr.strip().splitlines()[-1]  # kept for the fallback reason
    assert "Failed to load libpython_print.so.13: missing" in notes and "Failed to load libc_write.so.13" in notes


def test_gpu_probe_can_be_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(runtime.GPU_ENV, "0")
    assert not runtime.probe_nvidia_gpu().usable and "FACEORG_GPU=0" in runtime.probe_nvidia_gpu().reason
    monkeypatch.setenv(runtime.GPU_ENV, "1")
    assert runtime.probe_nvidia_gpu().usable


@pytest.mark.skipif(
    Path("/proc/driver/nvidia").exists() or not sys.platform.startswith("linux"),
    reason="checks the probe on a Linux machine without an NVIDIA driver",
)
def test_gpu_probe_says_no_here(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """No NVIDIA driver here: CUDA is not even tried (it would cost half a second and print errors)."""
    monkeypatch.delenv(runtime.GPU_ENV, raising=False)
    probe = runtime.probe_nvidia_gpu()
    assert not probe.usable and "NVIDIA driver" in probe.reason
    monkeypatch.setattr(ort, "get_available_providers", lambda: [CUDA, CPU])
    asked: list[list[str]] = []
    real = ort.InferenceSession

    def session(path: str, sess_options: ort.SessionOptions | None = None, providers: list | None = None):
        asked.append(_provider_names(providers or []))
        return real(path, sess_options=sess_options, providers=providers)

    monkeypatch.setattr(ort, "InferenceSession", session)
    with caplog.at_level(logging.INFO, logger="faceorg.embed.runtime"):
        rs = create_session(tiny_model, use_gpu=True, threads=1)
    assert asked == [[CPU]]
    assert rs.provider == CPU and rs.fallback_reason and "no usable NVIDIA GPU" in rs.fallback_reason
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # the normal case on such a machine
    summary = provider_summary()
    assert summary.gpu == probe and "none usable" in str(summary)


def test_no_onnxruntime_errors_on_stderr_when_cuda_fails(tiny_model: Path) -> None:
    """Even where CUDA is tried and fails to load (forced here), onnxruntime's red error lines stay quiet;
    our fallback reason names what is missing."""
    proc = _python(
        "import sys\n"
        "from faceorg.embed.runtime import create_session\n"
        f"rs = create_session({str(tiny_model)!r}, use_gpu=True, threads=1)\n"
        "print(rs.provider, rs.fallback_reason)\n",
        FACEORG_GPU="1",
    )
    assert proc.returncode == 0, proc.stderr
    assert "[E:onnxruntime" not in proc.stderr and "[W:onnxruntime" not in proc.stderr, proc.stderr
    if proc.stdout.startswith(CPU):
        assert "failed to load" in proc.stdout


def test_building_the_analyzer_leaves_onnx_unloaded(models_dir: Path, tmp_path: Path) -> None:
    """Loading the models for a scan must not import onnx: its extension (ml_dtypes) holds the GIL for
    ~0.6 s while it loads, which froze the GUI when a scan started (gui_bench measures the stall)."""
    proc = _python(
        "import sys\n"
        "from faceorg.store import open_library\n"
        "from faceorg.pipeline.factory import analyzer_for_library\n"
        f"with open_library({str(tmp_path / 'lib.sqlite')!r}) as library:\n"
        "    analyzer_for_library(library)\n"
        "print(sorted(m for m in sys.modules if m == 'onnx' or m.startswith(('onnx.', 'ml_dtypes'))))\n",
        FACEORG_DATA_DIR=str(tmp_path / "data"),
        FACEORG_MODELS_DIR=str(models_dir),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
