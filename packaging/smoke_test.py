"""Smoke test of a built app folder: `--version`, a headless scan with faces, `status --json`, `train`
(PyTorch is left out: one line that says why and how to get it), the window.

    python packaging/smoke_test.py [PATH_TO_EXECUTABLE]     (default: dist/faceorg/faceorg)

Not part of the test suite (it needs a PyInstaller build). Exits non-zero on the first failure.
Photos: a few LFW photos from ../shared/data when present (faces must be found), else generated ones.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("FACEORG_SHARED_DATA", REPO.parent / "shared" / "data"))


def run(exe: Path, *args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    start = time.perf_counter()
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, timeout=timeout)
    print(f"$ faceorg {' '.join(args)}  -> {proc.returncode} in {time.perf_counter() - start:.1f} s")
    if proc.returncode != 0:
        print(proc.stdout, proc.stderr, sep="\n", file=sys.stderr)
        raise SystemExit(f"FAILED: faceorg {' '.join(args)}")
    return proc


def photos(folder: Path) -> bool:
    """Fill ``folder`` with photos; True when they are real faces (LFW)."""
    folder.mkdir(parents=True)
    lfw = SHARED_DATA / "lfw" / "images"
    if lfw.is_dir():
        for name in ("George_W_Bush", "Colin_Powell", "Tony_Blair"):
            for src in sorted((lfw / name).glob("*.jpg"))[:3]:
                shutil.copy(src, folder / src.name)
        return True
    from PIL import Image

    for i in range(4):
        Image.new("RGB", (640, 480), (40 * i, 120, 200)).save(folder / f"plain_{i}.jpg")
    return False


def check_training_unavailable(exe: Path, db: str, env: dict[str, str]) -> None:
    """The bundle leaves out PyTorch: `train --depth thorough` (like the disabled menu entry) says why, in one
    line (the quick depth, which learning as you work runs, needs no PyTorch)."""
    proc = subprocess.run([str(exe), "--db", db, "train", "--depth", "thorough"], capture_output=True, text=True,
                          env=env, timeout=120)
    lines = proc.stderr.strip().splitlines()
    print(f"$ faceorg train --depth thorough  -> {proc.returncode}: {lines[-1] if lines else ''}")
    ok = (proc.returncode == 1 and len(lines) == 1 and "needs PyTorch" in lines[0]
          and "pip install faceorg" in lines[0] and "Traceback" not in proc.stderr)
    if not ok:
        print(proc.stdout, proc.stderr, sep="\n", file=sys.stderr)
        raise SystemExit("FAILED: `faceorg train --depth thorough` in the bundle must say in one line that it "
                         "needs PyTorch")


def main() -> int:
    exe = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "dist" / "faceorg" / "faceorg").resolve()
    if not exe.is_file():
        raise SystemExit(f"no built app at {exe}: build it with `pyinstaller packaging/faceorg.spec`")
    with tempfile.TemporaryDirectory(prefix="faceorg-smoke-") as tmp:
        root = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k not in ("FACEORG_MODELS_DIR", "PYTHONPATH")}
        env.update({"FACEORG_DATA_DIR": str(root / "data"), "QT_QPA_PLATFORM": "offscreen",
                    "XDG_CONFIG_HOME": str(root / "config")})
        version = run(exe, "--version", env=env).stdout.strip()
        assert version.startswith("faceorg "), version
        print(f"  {version}")
        real = photos(root / "photos")
        db = str(root / "library.sqlite")
        summary = json.loads(run(exe, "--db", db, "scan", str(root / "photos"), "--json", env=env).stdout)
        print(f"  scanned {summary['files_seen']} photos, {summary['faces_found']} faces")
        assert summary["failed"] == 0 and summary["files_seen"] > 0, summary
        if real:
            assert summary["faces_found"] >= summary["files_seen"], "the bundled models found too few faces"
        status = json.loads(run(exe, "--db", db, "status", "--json", env=env).stdout)
        assert status["photos"] == summary["files_seen"], status
        check_training_unavailable(exe, db, env)
        run(exe, "gui", "--db", db, "--exit-after", "1500", env=env, timeout=120)
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
