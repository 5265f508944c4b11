"""The one place that builds onnxruntime sessions: provider choice, GPU fallback, thread settings.

Providers are tried in order CUDA, then CPU (TensorRT first only when ``$FACEORG_TENSORRT=1``), and the
GPU ones only where a cheap probe finds a usable NVIDIA GPU (:func:`probe_nvidia_gpu`; ``$FACEORG_GPU``
overrides it): trying CUDA where there is none costs half a second and fills the terminal with
onnxruntime's errors. A GPU provider that is missing or fails to load is logged with the reason and the
session ends on the CPU. onnxruntime's own logging is kept quiet (``$FACEORG_ORT_LOG_SEVERITY``, default
fatal only); ours says which device runs and why. Whatever ``onnxruntime.preload_dlls()`` prints goes to
the log, never to stdout (which may carry a ``--json`` document).
Threads are set deliberately: intra-op threads = physical cores (unless told otherwise), one inter-op
thread, sequential execution, because faceorg runs image decoding in parallel with inference.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
import platform
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

log = logging.getLogger(__name__)

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
GPU_PROVIDERS = (TENSORRT, CUDA)
TENSORRT_ENV = "FACEORG_TENSORRT"  # "1" asks for TensorRT ahead of CUDA
THREADS_ENV = "FACEORG_THREADS"  # overrides the default intra-op thread count
GPU_ENV = "FACEORG_GPU"  # "0": never try the GPU; "1": try it without probing; unset or "auto": probe
ORT_LOG_ENV = "FACEORG_ORT_LOG_SEVERITY"  # onnxruntime's own log threshold, 0 (verbose) .. 4 (fatal)
ORT_LOG_SEVERITY = 4  # default: fatal only (its errors about a missing CUDA are ours to explain)

# CUDA options: HEURISTIC avoids an exhaustive cuDNN search for every new input shape (detection
# images come in many sizes).
_CUDA_OPTIONS = {"cudnn_conv_algo_search": "HEURISTIC"}

_dlls_preloaded = False
_preload_notes = ""  # what preload_dlls() printed (the CUDA libraries it could not load), for the reason
_preload_lock = threading.Lock()
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
    options.log_severity_level = _ort_log_severity()  # fallbacks are reported through our logging instead
    # No busy-waiting between runs: image decoding runs in parallel and needs those cores (measured on
    # 2 busy cores: 750x563 detection 34-43 ms without spinning, 57-66 ms with it, at 40% less CPU time).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _ort_log_severity() -> int:
    value = os.environ.get(ORT_LOG_ENV, "").strip()
    try:
        return min(4, max(0, int(value))) if value else ORT_LOG_SEVERITY
    except ValueError:
        log.warning("ignoring %s=%r: not a number from 0 to 4", ORT_LOG_ENV, value)
        return ORT_LOG_SEVERITY


ort.set_default_logger_severity(_ort_log_severity())


@dataclass(frozen=True)
class GpuProbe:
    """Whether this machine has an NVIDIA GPU that CUDA can use, and how that was decided."""

    usable: bool
    reason: str


def probe_nvidia_gpu() -> GpuProbe:
    """A cheap check for a usable NVIDIA GPU, before onnxruntime is asked for CUDA (cached per process).

    ``$FACEORG_GPU`` decides when set to 0 or 1. Otherwise: on Linux the NVIDIA kernel driver must be
    loaded (``/proc/driver/nvidia``, or ``/dev/dxg`` under WSL); then, on Linux and Windows, the CUDA
    driver library must load and report at least one device (``cuInit``, ``cuDeviceGetCount``).
    """
    return _probe_cached(os.environ.get(GPU_ENV, "").strip().lower())


@functools.cache
def _probe_cached(setting: str) -> GpuProbe:
    if setting in ("0", "off", "no", "false"):
        return GpuProbe(False, f"turned off by {GPU_ENV}={setting}")
    if setting in ("1", "on", "yes", "true"):
        return GpuProbe(True, f"assumed by {GPU_ENV}={setting}")
    if setting not in ("", "auto"):
        log.warning("ignoring %s=%r: expected 0, 1 or auto", GPU_ENV, setting)
    if sys.platform.startswith("linux"):
        if not (os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/dxg")):
            return GpuProbe(False, "no NVIDIA driver loaded (/proc/driver/nvidia is missing)")
        library = "libcuda.so.1"
    elif sys.platform == "win32":
        library = "nvcuda.dll"
    else:
        return GpuProbe(False, f"CUDA does not run on {platform.system() or sys.platform}")
    return _cuda_devices(library)


def _cuda_devices(library: str) -> GpuProbe:
    """Ask the CUDA driver library how many devices it sees (ctypes calls release the GIL)."""
    try:
        cuda = ctypes.CDLL(library)
    except OSError as exc:
        return GpuProbe(False, f"the CUDA driver library does not load ({exc})")
    try:
        status = cuda.cuInit(0)
        count = ctypes.c_int(0)
        if status == 0:
            status = cuda.cuDeviceGetCount(ctypes.byref(count))
    except AttributeError as exc:
        return GpuProbe(False, f"{library} is not a CUDA driver library ({exc})")
    if status != 0:
        return GpuProbe(False, f"the CUDA driver finds no usable device (error {status})")
    if count.value < 1:
        return GpuProbe(False, "the CUDA driver finds no device")
    return GpuProbe(True, f"the CUDA driver sees {count.value} device{'s' if count.value > 1 else ''}")


@contextmanager
def _stdout_to_log(label: str) -> Iterator[list[str]]:
    """Catch what is printed to stdout (by Python or C code, fd 1 included) and log it instead.

    Yields a list that holds the caught text afterwards. stdout may be a ``--json`` document.
    """
    caught: list[str] = []
    if sys.stdout is not None:  # None in a windowed app without a console
        sys.stdout.flush()
    try:
        fd = sys.__stdout__.fileno() if sys.__stdout__ is not None else 1
        saved = os.dup(fd)
    except (OSError, ValueError, AttributeError):  # no real stdout (a GUI app without a console)
        fd = saved = -1
    text = StringIO()
    with tempfile.TemporaryFile() as sink:
        try:
            if saved >= 0:
                os.dup2(sink.fileno(), fd)
            with redirect_stdout(text):
                yield caught
        finally:
            if saved >= 0:
                _flush_c_stdio()
                os.dup2(saved, fd)
                os.close(saved)
            sink.seek(0)
            printed = text.getvalue() + sink.read().decode("utf-8", "replace")
            caught.append(printed)
            for line in printed.splitlines():
                if line.strip():
                    log.info("%s: %s", label, line.strip())


def _flush_c_stdio() -> None:
    # no C library by that name (Windows): nothing buffered
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).fflush(None)


def wanted_gpu_providers() -> list[str]:
    """GPU providers to try, best first: TensorRT only when asked for, then CUDA."""
    wanted = [CUDA]
    if os.environ.get(TENSORRT_ENV, "").strip() == "1":
        wanted.insert(0, TENSORRT)
    return wanted


def _preload_gpu_libraries() -> None:
    """Load the CUDA/cuDNN libraries shipped in pip packages (once), when this onnxruntime can.

    What ``preload_dlls`` prints (the libraries it could not load) goes to the log and is kept for
    the fallback reason.
    """
    global _dlls_preloaded, _preload_notes
    with _preload_lock:
        if _dlls_preloaded or not hasattr(ort, "preload_dlls"):
            return
        _dlls_preloaded = True
        with _stdout_to_log("onnxruntime.preload_dlls") as caught:
            try:
                ort.preload_dlls()
            except Exception as exc:  # noqa: BLE001 - a failed preload only means CUDA may not load
                log.info("onnxruntime.preload_dlls() failed: %s", exc)
        _preload_notes = "; ".join(line.strip() for line in "".join(caught).splitlines()
                                   if line.strip().startswith("Failed to load"))


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
    quiet = False  # no GPU on this machine: the CPU is the normal case, not worth a warning

    if use_gpu:
        available = ort.get_available_providers()
        gpu = [name for name in wanted_gpu_providers() if name in available]
        probe = probe_nvidia_gpu() if gpu else None
        if not gpu:
            reason = (f"no GPU provider in this onnxruntime build ({ort.__version__}, "
                      f"available: {', '.join(available)}); install onnxruntime-gpu for CUDA")
        elif probe is not None and not probe.usable:
            reason, quiet = f"no usable NVIDIA GPU: {probe.reason}", True
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
                    missing = f": {_preload_notes}" if _preload_notes else ""
                    reason = (f"{'/'.join(gpu)} failed to load (CUDA 13 / cuDNN 9 libraries missing "
                              f"or no usable GPU{missing}); onnxruntime fell back to {active}")
        if reason:
            log.log(logging.INFO if quiet else logging.WARNING, "%s: running on the CPU: %s", model_path.name, reason)

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
    gpu: GpuProbe | None = None  # the NVIDIA GPU probe's verdict (None: this build has no GPU provider)

    def as_dict(self) -> dict[str, Any]:
        return {
            "onnxruntime": self.onnxruntime_version,
            "available": list(self.available),
            "gpu_wanted": list(self.gpu_wanted),
            "active": {name: {"provider": provider, "fallback_reason": reason}
                       for name, (provider, reason) in self.active.items()},
            "gpu": {"usable": self.gpu.usable, "reason": self.gpu.reason} if self.gpu else None,
        }

    def __str__(self) -> str:
        lines = [f"onnxruntime {self.onnxruntime_version}: available providers {', '.join(self.available)}"]
        if self.gpu is not None:
            lines.append(f"  NVIDIA GPU: {'usable' if self.gpu.usable else 'none usable'} ({self.gpu.reason})")
        if not self.active:
            lines.append("  no model session created yet")
        for name, (provider, reason) in sorted(self.active.items()):
            lines.append(f"  {name}: {provider}" + (f" (GPU fallback: {reason})" if reason else ""))
        return "\n".join(lines)


def provider_summary(probe_model: Path | None = None, *, use_gpu: bool = True) -> ProviderSummary:
    """Available vs active providers; with ``probe_model``, first build a session for it to find out."""
    if probe_model is not None:
        create_session(probe_model, use_gpu=use_gpu, threads=1)
    available = tuple(ort.get_available_providers())
    return ProviderSummary(
        onnxruntime_version=ort.__version__,
        available=available,
        gpu_wanted=tuple(wanted_gpu_providers()),
        active=dict(_active),
        gpu=probe_nvidia_gpu() if any(name in available for name in GPU_PROVIDERS) else None,
    )
