"""benchmarks/gpu_check.py on a machine without a usable NVIDIA GPU: one clear line, a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
