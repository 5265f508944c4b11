"""The hard library: LFW people with many photos, degraded like old scans and small faces in group shots.

Everything is seeded and independent of processing order: a person's 70/30 split depends only on the
seed and the person's name, a photo's degradation only on the seed and the file name.

Recipe per photo (the clean LFW photo is 250x250 with one roughly centred face):

1. Face width ``w`` of the clean photo: the box width of the detector's central face (the app's own
   RetinaFace at its default settings), or ``FALLBACK_FACE_WIDTH`` when it finds none.
2. Target face width ``U(25, 40)`` px: the whole photo is scaled by ``target / w`` (Lanczos), so a
   250 px photo becomes about 60-110 px.
3. Half of the photos (a fair coin) become greyscale (stored as 8-bit grey JPEG, as scans are).
4. Brightness times ``U(0.6, 1.4)`` (PIL ``ImageEnhance.Brightness``).
5. JPEG at quality ``randint(25, 50)`` inclusive, no chroma subsampling change (Pillow defaults).

The app then reads these small files as it would any photo: the detector upscales the working image
(by at most 1.5x for the overview pass, then a small-face pass) exactly as in real use.
"""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageEnhance

from faceorg.files import write_text_atomic

if TYPE_CHECKING:
    from faceorg.detect.retinaface import RetinaFaceDetector

MIN_PHOTOS = 10
LATER_FRACTION = 0.3
FACE_PX = (25.0, 40.0)
JPEG_QUALITY = (25, 50)
BRIGHTNESS = 0.4  # +/- 40 %
GREY_SHARE = 0.5
FALLBACK_FACE_WIDTH = 92.6  # median central-face box width the detector finds on clean LFW photos


@dataclass(frozen=True)
class LfwPhoto:
    """One source photo: ``person`` is the LFW folder name (the identity)."""

    person: str
    path: Path

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class Degradation:
    """What was done to one photo (seeded by its file name)."""

    clean_face_px: float
    face_px: float
    side: int
    grey: bool
    brightness: float
    jpeg_quality: int


def _rng(seed: int, *parts: str) -> np.random.Generator:
    return np.random.default_rng([seed, *(zlib.crc32(p.encode()) for p in parts)])


def people_with_many_photos(images: Path, min_photos: int = MIN_PHOTOS) -> dict[str, list[LfwPhoto]]:
    """LFW people (folder names) with at least ``min_photos`` photos, photos sorted by name."""
    out: dict[str, list[LfwPhoto]] = {}
    for folder in sorted(p for p in images.iterdir() if p.is_dir()):
        photos = sorted(folder.glob("*.jpg"))
        if len(photos) >= min_photos:
            out[folder.name] = [LfwPhoto(folder.name, p) for p in photos]
    return out


def choose_people(people: dict[str, list[LfwPhoto]], n: int | None, seed: int) -> dict[str, list[LfwPhoto]]:
    """All people, or a seeded subset of ``n`` of them (for quick runs)."""
    if n is None or n >= len(people):
        return people
    names = sorted(people)
    chosen = sorted(_rng(seed, "people").choice(names, size=n, replace=False).tolist())
    return {name: people[name] for name in chosen}


def split_later(people: dict[str, list[LfwPhoto]], seed: int,
                later_fraction: float = LATER_FRACTION) -> tuple[list[LfwPhoto], list[LfwPhoto]]:
    """Per person: ``round(later_fraction * n)`` photos arrive later, the rest are the library (seeded)."""
    library: list[LfwPhoto] = []
    later: list[LfwPhoto] = []
    for name, photos in people.items():
        order = _rng(seed, "split", name).permutation(len(photos))
        n_later = int(round(later_fraction * len(photos)))
        later += [photos[i] for i in sorted(order[:n_later])]
        library += [photos[i] for i in sorted(order[n_later:])]
    return library, later


def degradation_for(photo: LfwPhoto, clean_face_px: float, seed: int) -> Degradation:
    """The seeded recipe for one photo (see the module docstring)."""
    rng = _rng(seed, "degrade", photo.name)
    face = float(rng.uniform(*FACE_PX))
    grey = bool(rng.random() < GREY_SHARE)
    brightness = float(rng.uniform(1.0 - BRIGHTNESS, 1.0 + BRIGHTNESS))
    quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
    with Image.open(photo.path) as im:
        side = max(im.size)
    width = clean_face_px if clean_face_px > 0 else FALLBACK_FACE_WIDTH
    return Degradation(clean_face_px=float(clean_face_px), face_px=face,
                       side=max(16, int(round(side * face / width))), grey=grey, brightness=brightness,
                       jpeg_quality=quality)


def degrade(photo: LfwPhoto, recipe: Degradation) -> bytes:
    """The degraded JPEG bytes of ``photo``."""
    with Image.open(photo.path) as im:
        im = im.convert("RGB")
        scale = recipe.side / max(im.size)
        size = (max(1, round(im.size[0] * scale)), max(1, round(im.size[1] * scale)))
        small = im.resize(size, Image.Resampling.LANCZOS)
    if recipe.grey:
        small = small.convert("L")
    small = ImageEnhance.Brightness(small).enhance(recipe.brightness)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=recipe.jpeg_quality)
    return out.getvalue()


def central_face_width(detector: RetinaFaceDetector) -> Callable[[Path], float | None]:
    """A ``detect_width`` for :func:`clean_face_widths`: the box width of the photo's central face (None: none)."""
    from faceorg.eval.lfw import central_face
    from faceorg.imaging.decode import load_working_image

    def width(path: Path) -> float | None:
        img = load_working_image(path, max_side=None).pixels
        det = central_face(detector.detect(img), img.shape[1], img.shape[0])
        return det.box[2] if det is not None else None

    return width


def clean_face_widths(photos: list[LfwPhoto], detect_width: Callable[[Path], float | None],
                      cache_file: Path | None, progress: Callable[[int, int], None] | None = None) -> dict[str, float]:
    """Central-face box width (px) of each clean photo, keyed by file name (0.0: no face found).

    ``cache_file`` (JSON) keeps earlier measurements; only missing photos are measured.
    """
    cache: dict[str, float] = {}
    if cache_file is not None and cache_file.is_file():
        cache = {k: float(v) for k, v in json.loads(cache_file.read_text()).items()}
    todo = [p for p in photos if p.name not in cache]
    for i, photo in enumerate(todo):
        width = detect_width(photo.path)
        cache[photo.name] = float(width) if width else 0.0
        if progress is not None and (i % 200 == 0 or i == len(todo) - 1):
            progress(i + 1, len(todo))
    if todo and cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(cache_file, json.dumps(cache, sort_keys=True))
    return {p.name: cache[p.name] for p in photos}


def write_photos(photos: list[LfwPhoto], folder: Path, widths: dict[str, float],
                 seed: int) -> dict[str, Degradation]:
    """Write every photo degraded into ``folder/<person>/<file>``; returns the recipe per file name."""
    recipes: dict[str, Degradation] = {}
    for photo in photos:
        recipe = degradation_for(photo, widths.get(photo.name, 0.0), seed)
        target = folder / photo.person / photo.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(degrade(photo, recipe))
        recipes[photo.name] = recipe
    return recipes


def recipe_summary(recipes: dict[str, Degradation]) -> dict[str, float]:
    """Ranges of the applied recipe, for the report."""
    rows = [asdict(r) for r in recipes.values()]
    if not rows:
        return {}
    sides = np.array([r["side"] for r in rows])
    clean = np.array([r["clean_face_px"] for r in rows])
    return {
        "photos": len(rows),
        "side_px_min": int(sides.min()), "side_px_median": float(np.median(sides)), "side_px_max": int(sides.max()),
        "clean_face_px_median": float(np.median(clean[clean > 0])) if (clean > 0).any() else 0.0,
        "clean_face_not_found": int(np.count_nonzero(clean <= 0)),
        "grey_share": float(np.mean([r["grey"] for r in rows])),
        "jpeg_quality_min": int(min(r["jpeg_quality"] for r in rows)),
        "jpeg_quality_max": int(max(r["jpeg_quality"] for r in rows)),
    }
