"""End-to-end face pipeline speed: decode, detect, align, embed and store, on 12-megapixel photos.

    python benchmarks/pipeline_bench.py [--photos 24] [--json] [--data ../shared/data]

The photos are made from the shared data: a background from ``dogs.jpg`` (no human face) scaled to
4000x3000 with 1 to 5 LFW portraits pasted in at natural sizes (faces about 100-280 px wide), saved as
JPEG quality 90. Prints a table (or one JSON object with ``photos_per_s`` and ``ort_vs_torch_speedup``).
``ort_vs_torch_speedup`` compares what the app runs (the embedder's int8 copy on onnxruntime) with the
same model in torch; ``ort_float32_vs_torch_speedup`` compares the float32 model on both.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faceorg.pipeline.analyzer import OnnxFaceAnalyzer  # noqa: E402
from faceorg.pipeline.factory import analyzer_for_library  # noqa: E402
from faceorg.scan.scanner import ScanSummary, scan_library  # noqa: E402
from faceorg.store import open_library  # noqa: E402
from faceorg.store.folders import add_folder  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def make_photos(data: Path, folder: Path, count: int, seed: int = 0) -> int:
    """Write ``count`` 12 MP photos with 1-5 faces each; returns the number of faces pasted."""
    rng = np.random.default_rng(seed)
    background = Image.open(data / "photos-annotated" / "dogs.jpg").convert("RGB")
    people = sorted((data / "lfw" / "images").iterdir())
    faces = 0
    for i in range(count):
        bg = ImageOps.mirror(background) if i % 2 else background
        canvas = bg.resize((4000, 3000), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(2))
        n = int(rng.integers(1, 6))
        for k in range(n):
            person = people[int(rng.integers(len(people)))]
            portrait = Image.open(sorted(person.iterdir())[0]).convert("RGB")
            size = int(rng.integers(300, 700))
            x = int(50 + k * 3900 / n + rng.integers(0, max(1, 3900 // n - size - 50)))
            y = int(rng.integers(100, 3000 - size - 100))
            canvas.paste(portrait.resize((size, size), Image.Resampling.BICUBIC), (x, y))
        canvas.save(folder / f"IMG_{i:04d}.jpg", quality=90)
        faces += n
    return faces


def ort_ms_per_face(model: Path, chips: np.ndarray, threads: int) -> float:
    """ms per face for one ONNX embedder on onnxruntime's CPU provider, batch 32."""
    from faceorg.embed.embedder import Embedder

    embedder = Embedder(model, use_gpu=False, threads=threads)
    embedder.embed(chips[:32])
    start = time.perf_counter()
    for _ in range(3):
        embedder.embed(chips)
    return (time.perf_counter() - start) * 1000 / (3 * len(chips))


def embed_speed(chips: np.ndarray, threads: int) -> tuple[float, float, float]:
    """ms per face for onnxruntime (the int8 copy the app runs, and the float32 model) and for the
    same model in torch (eager, float32, no grad), batch 32."""
    import torch

    from faceorg.train.dlib_resnet import DlibResNet
    from faceorg.weights.fetch import require_model
    from faceorg.weights.registry import BASE_EMBEDDER_FILE, BASE_EMBEDDER_INT8_FILE, DLIB_RESNET_FILE

    int8_ms = ort_ms_per_face(require_model(BASE_EMBEDDER_INT8_FILE), chips, threads)
    fp32_ms = ort_ms_per_face(require_model(BASE_EMBEDDER_FILE), chips, threads)
    torch.set_num_threads(threads)
    model = DlibResNet.from_dat(require_model(DLIB_RESNET_FILE)).eval()
    x = torch.from_numpy(np.ascontiguousarray(chips.astype(np.float32).transpose(0, 3, 1, 2)))
    with torch.no_grad():
        model(x[:32])
        start = time.perf_counter()
        for _ in range(3):
            for b in range(0, len(x), 32):
                model(x[b:b + 32])
    torch_ms = (time.perf_counter() - start) * 1000 / (3 * len(chips))
    return int8_ms, fp32_ms, torch_ms


@dataclass
class TimedScan:
    """One warm scan of pasted 12 MP photos: what was found and how long each stage took."""

    pasted: int
    summary: ScanSummary
    seconds: float
    provider: str
    ms_per_photo_by_stage: dict[str, float]
    chips: np.ndarray


def timed_scan(
    data: Path, work: Path, photos: int, *, chips: int,
    check_analyzer: Callable[[OnnxFaceAnalyzer], None] | None = None,
) -> TimedScan:
    """Scan ``photos`` pasted photos in a new library under ``work`` after a 2-photo warm-up scan (models
    loaded, caches warm), timing only the second scan; ``chips`` of the faces' chips come back for embedding
    speed checks. ``check_analyzer`` may refuse the analyzer (e.g. not on the GPU) before anything is timed."""
    from faceorg.pipeline.analyzer import decode_chip
    from faceorg.store.chips import load_chips

    folder, warm = work / "photos", work / "warm"
    folder.mkdir()
    warm.mkdir()
    pasted = make_photos(data, folder, photos)
    make_photos(data, warm, 2, seed=99)
    with open_library(work / "bench.sqlite") as lib:
        add_folder(lib, warm)
        analyzer = analyzer_for_library(lib)
        if check_analyzer is not None:
            check_analyzer(analyzer)
        scan_library(lib, analyzer=analyzer)  # loads the models, warms the caches
        analyzer.timings.clear()
        add_folder(lib, folder)
        start = time.perf_counter()
        summary = scan_library(lib, analyzer=analyzer)
        seconds = time.perf_counter() - start
        stages = {k: round(v * 1000 / photos, 1) for k, v in {**summary.timings, **analyzer.timings}.items()}
        loaded = list(load_chips(lib, range(1, 4 * chips + 8)).values())[:chips]
        return TimedScan(pasted, summary, seconds, analyzer.embedder.provider, stages,
                         np.stack([decode_chip(c) for c in loaded]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=24)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    threads = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        scan = timed_scan(args.data, Path(tmp), args.photos, chips=64)
    pasted, summary, seconds, provider, chips = scan.pasted, scan.summary, scan.seconds, scan.provider, scan.chips
    ort_ms, fp32_ms, torch_ms = embed_speed(chips, threads)
    per_photo = scan.ms_per_photo_by_stage
    result = {
        "photos": args.photos,
        "faces_pasted": pasted,
        "faces_found": summary.faces_found,
        "seconds": round(seconds, 2),
        "photos_per_s": round(args.photos / seconds, 2),
        "provider": provider,
        "ms_per_photo_by_stage": per_photo,
        "embed_ms_per_face_ort": round(ort_ms, 2),
        "embed_ms_per_face_torch": round(torch_ms, 2),
        "ort_vs_torch_speedup": round(torch_ms / ort_ms, 2),
        "embed_ms_per_face_ort_float32": round(fp32_ms, 2),
        "ort_float32_vs_torch_speedup": round(torch_ms / fp32_ms, 2),
        "ort_precision": "int8",
        "threads": threads,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.photos} photos of 12 MP, {pasted} faces pasted, {summary.faces_found} found, provider {provider}")
    print(f"{'stage':<16} {'ms/photo':>9}")
    for stage in ("read", "detect", "align", "embed", "quality+encode", "store"):
        print(f"{stage:<16} {per_photo.get(stage, 0.0):9.1f}")
    print(
        f"end to end: {seconds:.2f} s, {result['photos_per_s']} photos/s "
        "(reading runs in parallel with the other stages)"
    )
    print(f"{'embedding':<28} {'ms/face':>8} {'vs torch':>9}")
    for label, ms in (
        ("onnxruntime int8 (the app)", ort_ms),
        ("onnxruntime float32", fp32_ms),
        ("torch eager float32", torch_ms),
    ):
        print(f"{label:<28} {ms:8.2f} {torch_ms / ms:8.2f}x")


if __name__ == "__main__":
    main()
