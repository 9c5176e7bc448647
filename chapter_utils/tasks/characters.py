"""An Omniglot-like family of characters rendered from matplotlib's own fonts (notebook 09).

Omniglot (Lake et al., 2015) — 1623 hand-drawn characters from 50 alphabets — is the
benchmark that made MAML, Meta-SGD and Reptile famous, but it cannot be downloaded
here. matplotlib, however, ships the DejaVu and STIX fonts, which cover the letters
of many scripts. Each character is rendered in every face (sans, serif, mono;
regular, bold, oblique) that has it, framed exactly as a reader's drawing is framed
(:func:`frame_character`), and then distorted at random — rotation, shear, scale,
shift, stroke thickness and a little noise — into :data:`VARIANTS` 28 × 28 images
per character, the way Omniglot has 20 drawings per character.

The split is by **script**, as Omniglot's is by alphabet: a network is meta-trained
on the characters of :data:`TRAIN_SCRIPTS` and tested on :data:`TEST_SCRIPTS`, whose
characters it has never seen. Characters that look alike across or within scripts
(Latin ``A``, Greek ``Α``, Cyrillic ``А``; ``o`` and ``O`` once framed) are kept
once: the first seen, in the order of :data:`SCRIPTS`, so held-out look-alikes of
training characters are dropped.

Only fonts in matplotlib's ``mpl-data`` are used (never system fonts), through
matplotlib's own FreeType wrapper, so the same matplotlib gives the same images on
any machine. Everything is seeded; the rendered set is cached per process
(:func:`character_set`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from functools import cache, lru_cache
from typing import Mapping

import numpy as np

from chapter_utils.checks import RngLike, as_generator, check_positive_int

#: Image side in pixels (Omniglot as the papers use it: 28 × 28).
SIZE = 28
#: Fraction of the side the larger side of a character's ink box fills after framing
#: (MNIST's 20-in-28 convention).
BOX = 20 / 28
#: Distorted images rendered per character (Omniglot has 20 drawings per character).
VARIANTS = 20

#: The scripts and the Unicode ranges their letters come from (inclusive).
SCRIPTS: Mapping[str, tuple[tuple[int, int], ...]] = {
    "Latin": ((0x41, 0x5A), (0x61, 0x7A)),
    "Greek": ((0x391, 0x3A9), (0x3B1, 0x3C9)),
    "Cyrillic": ((0x410, 0x44F),),
    "Armenian": ((0x531, 0x556), (0x561, 0x586)),
    "Hebrew": ((0x5D0, 0x5EA),),
    "Arabic": ((0x621, 0x64A),),
    "Lao": ((0xE81, 0xEAE),),
    "Ogham": ((0x1681, 0x169A),),
    "Canadian syllabics": ((0x1401, 0x167F),),
    "Georgian": ((0x10D0, 0x10FA),),
    "Tifinagh": ((0x2D30, 0x2D67),),
    "N'Ko": ((0x7CA, 0x7EA),),
}
#: Scripts whose characters are only ever seen at test time (the held-out split).
TEST_SCRIPTS = ("Georgian", "Tifinagh", "N'Ko")
#: Scripts meta-training draws from.
TRAIN_SCRIPTS = tuple(s for s in SCRIPTS if s not in TEST_SCRIPTS)

#: The faces, as files in matplotlib's mpl-data/fonts/ttf.
FACES = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf", "STIXGeneral.ttf", "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
)
#: Pixels per em of the high-resolution glyph rasters that get framed.
RASTER_PX = 64
#: Two characters whose framed images (in the first face that has both) correlate above
#: this are look-alikes; only the first is kept.
LOOKALIKE_CORRELATION = 0.9
#: Ink below this counts as background when :func:`frame_character` finds the ink's box.
INK_THRESHOLD = 0.1
#: Largest displacement (pixels) of the elastic warp, and the smoothness (pixels) of its field.
ELASTIC_PIXELS, ELASTIC_SMOOTHNESS = 2.0, 4.0


# -- framing: the one normalisation shared by rendered glyphs and drawings -----------------------
def frame_character(ink: np.ndarray, size: int = SIZE) -> np.ndarray:
    """An ink array of any size, framed as every character image here is framed.

    ``ink`` is 2-D, floats in [0, 1], ink 1 on background 0 (a rendered glyph or a
    reader's drawing). The ink's bounding box (pixels above :data:`INK_THRESHOLD`) is
    cropped, resized with antialiasing so its larger side fills ``BOX · size`` pixels
    (aspect kept), centred in a ``(size, size)`` image, and scaled so its darkest
    pixel is 1. The renderer frames every glyph with this function before distorting
    it, so a drawing framed here is an undistorted character to the network.

    Raises:
        ValueError: if ``ink`` is not 2-D, has values outside [0, 1] or non-finite ones,
            or has no ink ("empty drawing").
    """
    from PIL import Image

    size = check_positive_int(size, "size")
    ink = np.asarray(ink, dtype=float)
    if ink.ndim != 2:
        raise ValueError(f"ink must be a 2-D array (rows, columns), got shape {ink.shape}")
    if not np.all(np.isfinite(ink)) or ink.min(initial=0.0) < 0 or ink.max(initial=0.0) > 1:
        raise ValueError("ink values must be finite and in [0, 1] (ink 1 on background 0)")
    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    if rows.size == 0:
        raise ValueError("empty drawing: no ink above the threshold "
                         f"{INK_THRESHOLD} (ink must be 1 on background 0)")
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = crop.shape
    box = BOX * size
    scale = box / max(h, w)
    new_h, new_w = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    resized = Image.fromarray(crop.astype(np.float32), mode="F").resize((new_w, new_h),
                                                                         Image.BILINEAR)
    out = np.zeros((size, size), dtype=np.float32)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    out[top:top + new_h, left:left + new_w] = np.asarray(resized)
    out = np.clip(out, 0.0, 1.0)
    peak = out.max()
    if peak <= 0:
        raise ValueError("empty drawing: the ink vanished when framed")
    return out / peak


# -- rendering ------------------------------------------------------------------------------------
def font_dir() -> str:
    """matplotlib's own TrueType folder (mpl-data/fonts/ttf): the only fonts used."""
    import matplotlib
    return os.path.join(matplotlib.get_data_path(), "fonts", "ttf")


@cache
def _font(face: str):
    from matplotlib.ft2font import FT2Font
    font = FT2Font(os.path.join(font_dir(), face))
    font.set_size(RASTER_PX, 72)
    return font


@cache
def _charmap(face: str) -> frozenset:
    return frozenset(_font(face).get_charmap())


def glyph_raster(char: str, face: str) -> np.ndarray:
    """The antialiased raster of ``char`` in ``face`` at :data:`RASTER_PX` px/em, ink in [0, 1]."""
    font = _font(face)
    font.set_text(char, 0.0)
    font.draw_glyphs_to_bitmap(antialiased=True)
    return np.asarray(font.get_image(), dtype=np.float32) / 255.0


def distort(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random distortion of a framed ``(SIZE, SIZE)`` image: rotation (±15°), shear
    (±0.3), scale (0.75–1.1 per axis), shift (±2 px), an elastic warp (a smooth random
    displacement of up to :data:`ELASTIC_PIXELS` px), thinner or thicker strokes, and a
    little pixel noise; the result is clipped to [0, 1]."""
    from scipy import ndimage

    angle = np.deg2rad(rng.uniform(-15, 15))
    shear = rng.uniform(-0.3, 0.3)
    sy, sx = rng.uniform(0.75, 1.1, size=2)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    forward = rot @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([sy, sx])
    inverse = np.linalg.inv(forward)
    centre = np.array([(SIZE - 1) / 2, (SIZE - 1) / 2])
    shift = rng.uniform(-2, 2, size=2)
    offset = centre - inverse @ (centre + shift)
    out = ndimage.affine_transform(image, inverse, offset=offset, order=1, mode="constant")
    # an elastic warp: a smooth random displacement field, as a hand would wobble
    field = [ndimage.gaussian_filter(rng.standard_normal((SIZE, SIZE)), ELASTIC_SMOOTHNESS)
             for _ in range(2)]
    field = [f * ELASTIC_PIXELS / (np.abs(f).max() + 1e-9) for f in field]
    grid = np.mgrid[0:SIZE, 0:SIZE].astype(float)
    out = ndimage.map_coordinates(out, [grid[0] + field[0], grid[1] + field[1]], order=1,
                                  mode="constant")
    thickness = rng.uniform(-1, 1)
    if thickness > 0:         # thicker: blur and brighten
        out = np.clip(ndimage.gaussian_filter(out, 0.5 + 0.4 * thickness) * (1 + 1.2 * thickness), 0, 1)
    else:                     # thinner: raise the threshold of what counts as ink
        cut = 0.35 * -thickness
        out = np.clip((out - cut) / (1 - cut), 0, 1)
    out = out + rng.normal(0, rng.uniform(0, 0.05), size=out.shape)
    return np.clip(out, 0, 1).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class CharacterSet:
    """The rendered family: ``images[c, v]`` is variant ``v`` of character ``c`` (uint8, 0–255).

    ``chars[c]`` is the character, ``scripts[c]`` its script, ``faces[c]`` how many faces
    have it; ``seconds`` is how long rendering took.
    """

    images: np.ndarray
    chars: tuple[str, ...]
    scripts: tuple[str, ...]
    faces: tuple[int, ...]
    dropped: int
    seconds: float

    def indices(self, split: str) -> np.ndarray:
        """Characters of ``"train"`` (:data:`TRAIN_SCRIPTS`) or ``"test"`` (:data:`TEST_SCRIPTS`)."""
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        wanted = TRAIN_SCRIPTS if split == "train" else TEST_SCRIPTS
        return np.array([i for i, s in enumerate(self.scripts) if s in wanted])

    def fingerprint(self) -> str:
        """A short hash of which characters were kept, in which scripts, and their images.

        The rendering depends on matplotlib's fonts and FreeType, so another matplotlib can
        render a different family (other look-alikes dropped); notebook 09 compares this with
        the fingerprint recorded beside the shipped learners before it checks recorded scores."""
        digest = hashlib.sha256("\n".join(f"{c}\t{s}" for c, s in zip(self.chars, self.scripts))
                                .encode("utf-8"))
        digest.update(np.ascontiguousarray(self.images).tobytes())
        return digest.hexdigest()[:16]

    def counts(self) -> dict[str, int]:
        """Characters kept per script, in the order of :data:`SCRIPTS`."""
        return {s: sum(1 for x in self.scripts if x == s) for s in SCRIPTS}


def _candidates() -> list[tuple[str, str, list[str]]]:
    out = []
    for script, ranges in SCRIPTS.items():
        for a, b in ranges:
            for cp in range(a, b + 1):
                faces = [f for f in FACES if cp in _charmap(f)]
                if faces:
                    out.append((chr(cp), script, faces))
    return out


def character_set(variants: int = VARIANTS, seed: int = 0) -> CharacterSet:
    """Render (once per process) every character of :data:`SCRIPTS` in ``variants`` distorted
    images; deterministic given ``variants``, ``seed`` and the matplotlib version."""
    return _character_set(check_positive_int(variants, "variants"), int(seed))


@lru_cache(maxsize=4)
def _character_set(variants: int, seed: int) -> CharacterSet:
    start = time.perf_counter()
    candidates = _candidates()
    kept, images = [], []
    bases = np.empty((len(candidates), SIZE * SIZE), dtype=np.float32)   # each kept first face, normalised
    dropped = 0
    for char, script, faces in candidates:
        framed = []
        for face in faces:
            raster = glyph_raster(char, face)
            if raster.max() > INK_THRESHOLD:
                framed.append(frame_character(raster))
        if not framed:
            continue
        base = framed[0] - framed[0].mean()
        base = base / (np.linalg.norm(base) + 1e-9)
        if kept and np.max(bases[:len(kept)] @ base.ravel()) > LOOKALIKE_CORRELATION:
            dropped += 1
            continue
        bases[len(kept)] = base.ravel()
        rng = np.random.default_rng([seed, ord(char)])
        picks = [framed[i % len(framed)] for i in rng.permutation(max(variants, len(framed)))[:variants]]
        images.append(np.stack([np.round(255 * distort(p, rng)) for p in picks]).astype(np.uint8))
        kept.append((char, script, len(framed)))
    chars, scripts, counts = zip(*kept)
    return CharacterSet(np.stack(images), chars, scripts, counts, dropped,
                        time.perf_counter() - start)


# -- N-way K-shot tasks ---------------------------------------------------------------------------
class CharacterTasks:
    """N-way K-shot classification tasks drawn from one split of :func:`character_set`.

    A task picks ``n_way`` characters of the split, labels them 0..N−1 in random order,
    and draws ``shots`` support and ``query`` query images of each (distinct variants).
    """

    def __init__(self, split: str = "train", variants: int = VARIANTS, seed: int = 0) -> None:
        self.split = split
        self.set = character_set(variants, seed)
        self.classes = self.set.indices(split)

    def __repr__(self) -> str:
        return f"CharacterTasks(split={self.split!r}, characters={self.classes.size})"

    def sample(self, tasks: int, n_way: int, shots: int, query: int, rng: RngLike = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``tasks`` tasks at once: support images ``(T, N·K, 28, 28)`` float32 in [0, 1] with
        labels ``(T, N·K)`` int32, and query images ``(T, N·Q, 28, 28)`` with labels; class-major."""
        tasks, n_way = check_positive_int(tasks, "tasks"), check_positive_int(n_way, "n_way")
        shots, query = check_positive_int(shots, "shots"), check_positive_int(query, "query")
        variants = self.set.images.shape[1]
        if shots + query > variants:
            raise ValueError(f"shots + query must be at most {variants} (variants per character)")
        if n_way > self.classes.size:
            raise ValueError(f"n_way must be at most {self.classes.size} for this split")
        gen = as_generator(rng)
        chars = np.stack([gen.choice(self.classes, n_way, replace=False) for _ in range(tasks)])
        order = np.argsort(gen.random((tasks, n_way, variants)), axis=-1)[..., :shots + query]
        picked = self.set.images[chars[..., None], order].astype(np.float32) / 255.0
        labels = np.broadcast_to(np.arange(n_way, dtype=np.int32)[None, :, None],
                                 (tasks, n_way, shots + query))
        def flat(a, n):
            return a.reshape(tasks, n_way * n, *a.shape[3:])
        return (flat(picked[:, :, :shots], shots), flat(labels[:, :, :shots], shots),
                flat(picked[:, :, shots:], query), flat(labels[:, :, shots:], query))
