"""benchmarks/gpu_check.py on a machine without a usable NVIDIA GPU: one clear line, a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_gpu_check_refuses_without_a_gpu() -> None:
    # FACEORG_GPU=0 makes the GPU probe report no usable GPU, as on a machine without one.
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--json"], cwd=REPO,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO), "FACEORG_GPU": "0"})
    assert done.returncode == 1
    assert done.stdout == ""  # no figures at all, least of all CPU ones labelled as GPU ones
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu_check: error: no usable NVIDIA GPU"), done.stderr



def test_the_end_to_end_check_refuses_a_scan_that_runs_on_the_cpu(
        tmp_path: Path, shared_data: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Past the probe (say a GPU is present but onnxruntime cannot use it), the timed scan must stop before
    # timing anything when its embedder is on the CPU, rather than report CPU figures as GPU ones.
    from faceorg.embed.runtime import probe_nvidia_gpu

    if probe_nvidia_gpu().usable:
        pytest.skip("this machine has a usable NVIDIA GPU: the scan would run on it")
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    import gpu_check

    with pytest.raises(gpu_check.CheckFailed, match="runs on CPUExecutionProvider, not on the GPU"):
        gpu_check.end_to_end(shared_data, 2, tmp_path)
