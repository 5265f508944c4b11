"""Decoding memory: large non-JPEG photos are shrunk before conversion, and a byte budget bounds what all
worker threads decode at once."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceorg.imaging.budget import MemoryBudget, decoded_bytes
from faceorg.imaging.decode import load_working_image

REPO = Path(__file__).resolve().parents[1]


def gradient_png(path: Path, width: int, height: int, mode: str = "RGB") -> Path:
    """A large image that compresses well (quick to write, slow only to decode)."""
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    grey = ((x + y) / 2).astype(np.uint8)
    image = Image.fromarray(grey, "L")
    (image.convert(mode) if mode != "L" else image).save(path, compress_level=1)
    return path


def test_budget_bounds_concurrent_decodes(tmp_path: Path) -> None:
    paths = [gradient_png(tmp_path / f"{i}.png", 1200, 1000) for i in range(6)]
    with Image.open(paths[0]) as im:
        one = decoded_bytes(im)
    assert one == 1200 * 1000 * 4
    budget = MemoryBudget(int(one * 1.5))  # room for one decode at a time
    running, most = 0, 0
    lock = threading.Lock()
    real_load = Image.Image.load

    def counting_load(self):  # type: ignore[no-untyped-def]
        nonlocal running, most
        if self.size != (1200, 1000):
            return real_load(self)
        with lock:
            running += 1
            most = max(most, running)
        try:
            return real_load(self)
        finally:
            with lock:
                running -= 1

    Image.Image.load = counting_load  # type: ignore[method-assign]
    try:
        with ThreadPoolExecutor(4) as pool:
            images = list(pool.map(lambda p: load_working_image(p, max_side=300, budget=budget), paths))
    finally:
        Image.Image.load = real_load  # type: ignore[method-assign]
    assert [im.pixels.shape for im in images] == [(250, 300, 3)] * 6
    assert most == 1 and one <= budget.peak <= budget.total
    # A photo larger than the whole budget still decodes (alone).
    small = MemoryBudget(1024)
    assert load_working_image(paths[0], max_side=300, budget=small).pixels.shape == (250, 300, 3)
    assert small.peak == 1024


def test_budget_lets_decodes_overlap_when_there_is_room() -> None:
    budget = MemoryBudget(100)
    inside = threading.Barrier(3, timeout=5)

    def hold() -> None:
        with budget.reserve(30):
            inside.wait()  # all three hold their share at once

    threads = [threading.Thread(target=hold) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert budget.peak == 90


# The peak resident memory of this process (VmHWM: unlike ru_maxrss, not inherited from pytest).
PEAK = """
import sys
from faceorg.imaging.decode import load_working_image

def peak():
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM:"))

load_working_image(sys.argv[2], max_side=64)  # warm up on a tiny PNG: imports, Pillow's plugins
before = peak()
image = load_working_image(sys.argv[1], max_side=1024)
print(peak() - before, image.pixels.shape)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("mode,most", [("RGB", 1.4), ("I;16", 2.0)])
def test_large_png_is_shrunk_before_it_is_converted(mode: str, most: float, tmp_path: Path) -> None:
    """Peak memory of decoding a 4000x3000 PNG stays near its decoded size (it was 2.3x for RGB, 5x for
    16-bit greyscale)."""
    path = tmp_path / "big.png"
    if mode == "I;16":
        x = np.linspace(0, 65535, 4000, dtype=np.float32)[None, :] * np.ones((3000, 1), np.float32)
        Image.fromarray(x.astype(np.uint16)).save(path, compress_level=1)
    else:
        gradient_png(path, 4000, 3000, mode)
    with Image.open(path) as im:
        decoded = decoded_bytes(im)
    tiny = gradient_png(tmp_path / "tiny.png", 64, 48)
    proc = subprocess.run(
        [sys.executable, "-c", PEAK, str(path), str(tiny)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    grown, shape = proc.stdout.split(" ", 1)
    assert shape.strip() == "(768, 1024, 3)"
    assert int(grown) < most * decoded, (int(grown) >> 20, decoded >> 20)
