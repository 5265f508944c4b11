"""Measure the base embedder's activation ranges for its int8 copy (writes the file shipped in the package).

    python scripts/calibrate_embedder.py [--data ../shared/data/lfw] [--faces 400] [--out PATH]

Calibration faces: the central faces of ``--faces`` LFW photos (seeded choice) that appear in no pair of
``pairs.txt``, so the LFW evaluation never sees a face its ranges were measured on. Only the ranges
(min/max per tensor, a few KB of numbers) are written; no face data goes into the repository.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

from faceorg.detect.align import align_chip
from faceorg.embed import BASE_RANGES_FILE
from faceorg.embed.quantize import quantize_embedder
from faceorg.eval.lfw import central_face, read_pairs
from faceorg.imaging.decode import load_working_image
from faceorg.pipeline.factory import build_detector
from faceorg.settings import Settings
from faceorg.weights.fetch import require_model
from faceorg.weights.registry import BASE_EMBEDDER_FILE

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw"


def calibration_photos(data: Path, count: int, seed: int = 0) -> list[Path]:
    pairs = read_pairs(data / "pairs.txt")
    in_pairs = {key for p in pairs for key in (p.a, p.b)}
    photos = [p for p in sorted((data / "images").glob("*/*.jpg"))
              if (p.parent.name, int(p.stem.rsplit("_", 1)[1])) not in in_pairs]
    random.Random(seed).shuffle(photos)
    return photos[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--faces", type=int, default=400)
    parser.add_argument("--out", type=Path, default=BASE_RANGES_FILE)
    args = parser.parse_args()
    detector, _ = build_detector(Settings())
    chips = []
    for path in calibration_photos(args.data, args.faces):
        image = load_working_image(path, max_side=None).pixels
        det = central_face(detector.detect(image), image.shape[1], image.shape[0])
        if det is not None:
            chips.append(align_chip(image, np.asarray(det.landmarks, np.float32)))
    with tempfile.TemporaryDirectory() as tmp:  # the int8 model itself is made by `faceorg models fetch`
        quantize_embedder(require_model(BASE_EMBEDDER_FILE), Path(tmp) / "check.onnx", chips=np.stack(chips),
                          save_ranges=args.out)
    print(f"ranges measured on {len(chips)} faces written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
