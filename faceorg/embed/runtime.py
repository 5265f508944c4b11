"""The one place that builds onnxruntime sessions: provider choice, GPU fallback, thread settings.

Providers are tried in order CUDA, then CPU (TensorRT first only when ``$FACEORG_TENSORRT=1``). A GPU
provider that is missing or fails to load is logged with the reason and the session ends on the CPU.
Threads are set deliberately: intra-op threads = physical cores (unless told otherwise), one inter-op
thread, sequential execution, because faceorg runs image decoding in parallel with inference.
"""

from __future__ import annotations

import logging
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import onnxruntime as ort

log = logging.getLogger(__name__)

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
GPU_PROVIDERS = (TENSORRT, CUDA)
TENSORRT_ENV = "FACEORG_TENSORRT"  # "1" asks for TensorRT ahead of CUDA
THREADS_ENV = "FACEORG_THREADS"  # overrides the default intra-op thread count

# CUDA options: HEURISTIC avoids an exhaustive cuDNN search for every new input shape (detection
# images come in many sizes).
_CUDA_OPTIONS = {"cudnn_conv_algo_search": "HEURISTIC"}

_dlls_preloaded = False
_active: dict[str, tuple[str, str | None]] = {}  # model file name -> (provider, fallback reason), latest


@dataclass(frozen=True)
class RuntimeSession:
    """An onnxruntime session with the provider it really runs on and why it fell back, if it did."""

    session: ort.InferenceSession
    provider: str
    fallback_reason: str | None = None
    threads: int = 1
    model_path: Path | None = None

    @property
    def on_gpu(self) -> bool:
        return self.provider in GPU_PROVIDERS

    @property
    def input_name(self) -> str:
        return self.session.get_inputs()[0].name

    def run(self, feeds: dict[str, np.ndarray], output_names: Sequence[str] | None = None) -> list[np.ndarray]:
        """Run the model once; outputs in the model's order (or ``output_names``' order)."""
        return self.session.run(list(output_names) if output_names else None, feeds)


def physical_cores() -> int:
    """Physical CPU cores usable by this process (hyper-threads are not counted), at least 1."""
    logical = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    cores = _count_physical_cores()
    return max(1, min(cores, logical) if cores else logical)


def _count_physical_cores() -> int | None:
    system = platform.system()
    try:
        if system == "Linux":
            pairs = set()
            physical_id = core_id = None
            with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
                for line in cpuinfo:
                    key, _, value = line.partition(":")
                    key = key.strip()
                    if key == "physical id":
                        physical_id = value.strip()
                    elif key == "core id":
                        core_id = value.strip()
                    elif not key:
                        if core_id is not None:
                            pairs.add((physical_id, core_id))
                        physical_id = core_id = None
            if core_id is not None:
                pairs.add((physical_id, core_id))
            return len(pairs) or None
        if system == "Darwin":
            out = subprocess.run(["sysctl", "-n", "hw.physicalcpu"], capture_output=True, text=True, timeout=5)
            return int(out.stdout.strip())
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return None


def default_threads() -> int:
    """Intra-op threads: ``$FACEORG_THREADS`` when set, else the physical core count."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if value:
        try:
            return max(1, int(value))
        except ValueError:
            log.warning("ignoring %s=%r: not an integer", THREADS_ENV, value)
    return physical_cores()


def session_options(threads: int) -> ort.SessionOptions:
    """Session options: ``threads`` intra-op threads (not spinning), one inter-op thread, sequential."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only; fallbacks are reported through logging instead
    # No busy-waiting between runs: image decoding runs in parallel and needs those cores (measured on
    # 2 busy cores: 750x563 detection 34-43 ms without spinning, 57-66 ms with it, at 40% less CPU time).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def wanted_gpu_providers() -> list[str]:
    """GPU providers to try, best first: TensorRT only when asked for, then CUDA."""
    wanted = [CUDA]
    if os.environ.get(TENSORRT_ENV, "").strip() == "1":
        wanted.insert(0, TENSORRT)
    return wanted


def _preload_gpu_libraries() -> None:
    """Load the CUDA/cuDNN libraries shipped in pip packages (once), when this onnxruntime can."""
    global _dlls_preloaded
    if _dlls_preloaded or not hasattr(ort, "preload_dlls"):
        return
    _dlls_preloaded = True
    try:
        ort.preload_dlls()
    except Exception as exc:  # noqa: BLE001 - a failed preload only means CUDA may not load
        log.info("onnxruntime.preload_dlls() failed: %s", exc)


def _provider_list(names: Sequence[str]) -> list[Any]:
    return [(name, _CUDA_OPTIONS) if name == CUDA else name for name in names]


def create_session(model_path: Path, *, use_gpu: bool = True, threads: int | None = None) -> RuntimeSession:
    """Build a session for ``model_path``: on a GPU when wanted and possible, else on the CPU.

    Any GPU fallback is logged (warning) and kept in ``fallback_reason``.
    """
    model_path = Path(model_path)
    threads = threads or default_threads()
    options = session_options(threads)
    reason: str | None = None
    result: RuntimeSession | None = None

    if use_gpu:
        available = ort.get_available_providers()
        gpu = [name for name in wanted_gpu_providers() if name in available]
        if not gpu:
            reason = (f"no GPU provider in this onnxruntime build ({ort.__version__}, "
                      f"available: {', '.join(available)}); install onnxruntime-gpu for CUDA")
        else:
            _preload_gpu_libraries()
            try:
                session = ort.InferenceSession(str(model_path), sess_options=options,
                                               providers=_provider_list([*gpu, CPU]))
            except Exception as exc:  # noqa: BLE001 - onnxruntime raises plain RuntimeErrors here
                reason = f"{'/'.join(gpu)} failed to load: {exc}".strip()
            else:
                active = session.get_providers()[0]
                if active in GPU_PROVIDERS:
                    result = RuntimeSession(session, active, None, threads, model_path)
                else:
                    reason = (f"{'/'.join(gpu)} failed to load (CUDA 13 / cuDNN 9 libraries missing "
                              f"or no usable GPU); onnxruntime fell back to {active}")
        if reason:
            log.warning("%s: running on the CPU: %s", model_path.name, reason)

    if result is None:
        session = ort.InferenceSession(str(model_path), sess_options=options, providers=[CPU])
        result = RuntimeSession(session, session.get_providers()[0], reason, threads, model_path)
    _active[model_path.name] = (result.provider, result.fallback_reason)
    log.info("%s on %s (%d threads)", model_path.name, result.provider, threads)
    return result


def run_batched(session: RuntimeSession | ort.InferenceSession, input_name: str, array: np.ndarray,
                batch_size: int) -> list[np.ndarray]:
    """Run ``array`` through the model ``batch_size`` rows at a time; each output concatenated on axis 0."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    inner = session.session if isinstance(session, RuntimeSession) else session
    if len(array) == 0:
        raise ValueError("run_batched needs at least one input row")
    parts: list[list[np.ndarray]] = []
    for start in range(0, len(array), batch_size):
        outputs = inner.run(None, {input_name: np.ascontiguousarray(array[start:start + batch_size])})
        parts.append(outputs)
    return [np.concatenate([part[i] for part in parts], axis=0) for i in range(len(parts[0]))]


@dataclass(frozen=True)
class ProviderSummary:
    """Which onnxruntime providers this install offers, and which ones the sessions actually use."""

    onnxruntime_version: str
    available: tuple[str, ...]
    gpu_wanted: tuple[str, ...]
    active: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # model -> (provider, reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "onnxruntime": self.onnxruntime_version,
            "available": list(self.available),
            "gpu_wanted": list(self.gpu_wanted),
            "active": {name: {"provider": provider, "fallback_reason": reason}
                       for name, (provider, reason) in self.active.items()},
        }

    def __str__(self) -> str:
        lines = [f"onnxruntime {self.onnxruntime_version}: available providers {', '.join(self.available)}"]
        if not self.active:
            lines.append("  no model session created yet")
        for name, (provider, reason) in sorted(self.active.items()):
            lines.append(f"  {name}: {provider}" + (f" (GPU fallback: {reason})" if reason else ""))
        return "\n".join(lines)


def provider_summary(probe_model: Path | None = None, *, use_gpu: bool = True) -> ProviderSummary:
    """Available vs active providers; with ``probe_model``, first build a session for it to find out."""
    if probe_model is not None:
        create_session(probe_model, use_gpu=use_gpu, threads=1)
    return ProviderSummary(
        onnxruntime_version=ort.__version__,
        available=tuple(ort.get_available_providers()),
        gpu_wanted=tuple(wanted_gpu_providers()),
        active=dict(_active),
    )
