"""The GPU path proven in one call, on a machine with an NVIDIA GPU (issue 14, item 5).

    python benchmarks/gpu_check.py [--data ../shared/data] [--photos 48] [--json] [--skip-train]

Checks, in order (any failure ends the run with one ``gpu_check: error: ...`` line and exit status 1):

1. a usable NVIDIA GPU (``probe_nvidia_gpu``) and onnxruntime's CUDA provider: without them the check
   refuses at once, so a CPU machine never produces CPU figures labelled as GPU ones;
2. detection and embedding sessions built as the app builds them (``build_detector``/``build_embedder``
   with the GPU on) must report a GPU provider first in ``session.get_providers()``: no silent fallback;
3. end to end: 12 MP photos with 1-5 LFW faces (``pipeline_bench.make_photos``) scanned into a fresh
   library: photos/s and the stage timings; the embedder's ms per face (int8 copy the app runs, and the
   float32 model) on the GPU, batch 32, on chips from that scan;
4. the thorough retraining depth on the GPU (torch on CUDA): ``faceorg train --dataset DIR --depth
   thorough --dry-run --json`` on the LFW people with at least 20 photos, timed;
5. LFW 10-fold accuracy (``faceorg eval lfw --json``) with the GPU and with ``FACEORG_GPU=0`` (CPU):
   the two must agree within 0.1 points.

Budget: under ~8 minutes on one H100 (the CPU LFW run takes most of it). ``--json`` prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

DEFAULT_DATA = REPO.parent / "shared" / "data"
GPU_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider")
LFW_TOLERANCE_POINTS = 0.1
TRAIN_MIN_PHOTOS = 20


class CheckFailed(Exception):
    """A check that failed: its message is the one line printed."""


def gpu_refusal() -> str | None:
    """Why this machine cannot run the check (no usable NVIDIA GPU, no CUDA provider), or None."""
    import onnxruntime as ort

    from faceorg.embed.runtime import probe_nvidia_gpu

    probe = probe_nvidia_gpu()
    if not probe.usable:
        return f"no usable NVIDIA GPU on this machine ({probe.reason}); run it where one is"
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return (f"onnxruntime {ort.__version__} has no CUDA provider (available: "
                f"{', '.join(ort.get_available_providers())}); install onnxruntime-gpu")
    return None


def check_providers() -> dict[str, Any]:
    """Detector and embedder sessions as the app builds them, GPU on; fails unless both run on the GPU."""
    from faceorg.pipeline.factory import build_detector, build_embedder
    from faceorg.settings import Settings

    settings = Settings(use_gpu=True)
    detector, _ = build_detector(settings)
    found: dict[str, Any] = {}
    for name, runtime in (("detector", detector.runtime), ("embedder", build_embedder(settings).runtime),
                          ("embedder_float32", build_embedder(settings, float32=True).runtime)):
        providers = list(runtime.session.get_providers())
        found[name] = providers
        if providers[0] not in GPU_PROVIDERS:
            raise CheckFailed(f"the {name} runs on {providers[0]}, not on the GPU: "
                              f"{runtime.fallback_reason or 'onnxruntime chose it'}")
    return found


def end_to_end(data: Path, photos: int, work: Path) -> dict[str, Any]:
    """Scan ``photos`` 12 MP photos on the GPU: photos/s, stage timings, and the embedder's ms per face."""
    from faceorg.pipeline.analyzer import OnnxFaceAnalyzer
    from faceorg.pipeline.factory import build_embedder
    from faceorg.settings import Settings
    from pipeline_bench import timed_scan

    def on_the_gpu(analyzer: OnnxFaceAnalyzer) -> None:
        if analyzer.embedder.provider not in GPU_PROVIDERS:
            raise CheckFailed(f"the scan's embedder runs on {analyzer.embedder.provider}, not on the GPU")

    scan = timed_scan(data, work, photos, chips=256, check_analyzer=on_the_gpu)
    chips, pasted, summary, seconds, stages = (
        scan.chips, scan.pasted, scan.summary, scan.seconds, scan.ms_per_photo_by_stage)
    per_face: dict[str, float] = {}
    for label, float32 in (("int8", False), ("float32", True)):
        embedder = build_embedder(Settings(use_gpu=True), float32=float32)
        embedder.embed(chips[:32])
        start = time.perf_counter()
        for _ in range(5):
            for b in range(0, len(chips), 32):
                embedder.embed(chips[b:b + 32])
        per_face[label] = round((time.perf_counter() - start) * 1000 / (5 * len(chips)), 3)
    return {"photos": photos, "faces_pasted": pasted, "faces_found": summary.faces_found,
            "seconds": round(seconds, 2), "photos_per_s": round(photos / seconds, 2),
            "ms_per_photo_by_stage": stages, "embed_ms_per_face": per_face}


def _faceorg(args: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    """Run ``python -m faceorg ARGS --json`` from this checkout; its one JSON document, or CheckFailed."""
    done = subprocess.run([sys.executable, "-m", "faceorg", *args, "--json"], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(REPO), **env})
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise CheckFailed(f"faceorg {' '.join(args[:3])} failed (exit {done.returncode}): {last}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def thorough_training(data: Path, work: Path) -> dict[str, Any]:
    """The thorough retraining depth on the GPU, on the LFW people with at least ``TRAIN_MIN_PHOTOS`` photos."""
    import torch

    if not torch.cuda.is_available():
        raise CheckFailed(f"torch {torch.__version__} sees no CUDA device: retraining would run on the CPU")
    dataset = work / "people"
    dataset.mkdir()
    for person in sorted((data / "lfw" / "images").iterdir()):
        if person.is_dir() and sum(1 for _ in person.iterdir()) >= TRAIN_MIN_PHOTOS:
            (dataset / person.name).symlink_to(person, target_is_directory=True)
    start = time.perf_counter()
    report = _faceorg(["--db", str(work / "train.sqlite"), "train", "--dataset", str(dataset),
                       "--depth", "thorough", "--dry-run"], {}, timeout=300)
    return {"seconds": round(time.perf_counter() - start, 1), "people": sum(1 for _ in dataset.iterdir()),
            "device": torch.cuda.get_device_name(0), "report": report}


def lfw_both(data: Path) -> dict[str, Any]:
    """LFW accuracy on the GPU and on the CPU; fails when they differ by more than the tolerance."""
    lfw = str(data / "lfw")
    out: dict[str, Any] = {}
    for label, setting in (("gpu", "1"), ("cpu", "0")):
        start = time.perf_counter()
        result = _faceorg(["eval", "lfw", "--data", lfw], {"FACEORG_GPU": setting}, timeout=400)
        out[label] = {"accuracy": round(100 * float(result["accuracy_mean"]), 3),
                      "seconds": round(time.perf_counter() - start, 1)}
    out["difference_points"] = round(abs(out["gpu"]["accuracy"] - out["cpu"]["accuracy"]), 3)
    if out["difference_points"] > LFW_TOLERANCE_POINTS:
        raise CheckFailed(f"LFW accuracy differs between GPU ({out['gpu']['accuracy']}%) and CPU "
                          f"({out['cpu']['accuracy']}%) by more than {LFW_TOLERANCE_POINTS} points")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--photos", type=int, default=48, help="12 MP photos scanned end to end")
    parser.add_argument("--skip-train", action="store_true", help="leave out the thorough retraining")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        refusal = gpu_refusal()
        if refusal:
            raise CheckFailed(refusal)
        started = time.perf_counter()
        result: dict[str, Any] = {"providers": check_providers()}
        with tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp:
            work = Path(tmp)
            result["end_to_end"] = end_to_end(args.data, args.photos, work)
            if not args.skip_train:
                result["thorough_training"] = thorough_training(args.data, work)
        result["lfw"] = lfw_both(args.data)
        result["seconds_total"] = round(time.perf_counter() - started, 1)
    except CheckFailed as failure:
        print(f"gpu_check: error: {failure}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result))
    else:
        e2e = result["end_to_end"]
        print(f"providers: {result['providers']}")
        print(f"end to end: {e2e['photos_per_s']} photos/s ({e2e['faces_found']} faces in {e2e['photos']} "
              f"photos); embedder ms per face: {e2e['embed_ms_per_face']}")
        if "thorough_training" in result:
            print(f"thorough retraining on {result['thorough_training']['device']}: "
                  f"{result['thorough_training']['seconds']} s")
        lfw = result["lfw"]
        print(f"LFW: GPU {lfw['gpu']['accuracy']}%, CPU {lfw['cpu']['accuracy']}% "
              f"(difference {lfw['difference_points']} points)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
