"""Where an explanation's numbers come from: inline matrices, .npy files, images, or a seeded default.

Inline grammar (what ``--input``/``--kernel``/``--grad`` accept)::

    "0 2 -3; -2 -2 -2; 1 0 1"          3x3: values split by spaces or commas, rows by ";"
    "1 2; 3 4 | 5 6; 7 8"              (2, 2, 2): channels split by "|"
    "1 0; 0 1 || 0 1; 1 0"             (2, 1, 2, 2): filters split by "||" (each may have channels)

A ``.npy`` file is read with ``allow_pickle=False``; an image file (PNG, JPEG, ...) becomes its
(C, H, W) intensity matrix 0..255 through Pillow (imported only then). A picture above
PIXELS_MAX is refused from its header, before anything is decoded (a decompression bomb, a
4 MB PNG of 30000x30000 pixels, costs nothing): the same 25-megapixel cap ``convscope.data``
puts on the pictures ``predict`` reads (explain may not import it: it is a sibling layer).
"""

import os
import warnings

import numpy as np

from ..errors import ConvscopeError, DataError, ShapeError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


def parse_inline(text, name="matrix"):
    """Parse the inline grammar above into a float64 array of 2, 3 or 4 dimensions."""
    filters = [_parse_channels(part, name) for part in text.split("||")]
    if len(filters) == 1:
        return filters[0]
    _same_shapes(name, "filter", [f.shape for f in filters], '"||"')
    return np.stack([f if f.ndim == 3 else f[None] for f in filters])


def _parse_channels(text, name):
    channels = [_parse_rows(part, name) for part in text.split("|")]
    if len(channels) == 1:
        return channels[0]
    _same_shapes(name, "channel", [c.shape for c in channels], '"|"')
    return np.stack(channels)


def _parse_rows(text, name):
    rows = [r for r in (line.replace(",", " ").split() for line in text.split(";"))]
    if rows and not rows[-1]:
        rows.pop()  # a trailing ";" is harmless
    if not rows or any(not r for r in rows):
        raise ShapeError(
            f"{name}: empty row in {text.strip()!r}; write rows as numbers separated by spaces,"
            f' rows separated by ";", e.g. "0 2 -3; -2 -2 -2; 1 0 1"'
        )
    lengths = [len(r) for r in rows]
    if len(set(lengths)) > 1:
        raise ShapeError(
            f"{name}: rows have different lengths {tuple(lengths)} in {text.strip()!r};"
            f" every row needs the same number of values"
        )
    try:
        return np.array([[float(v) for v in r] for r in rows], dtype=np.float64)
    except ValueError as exc:
        raise ShapeError(
            f"{name}: {exc.args[0]}; values must be numbers such as 3, -2 or 0.5"
        ) from None


def _same_shapes(name, what, shapes, sep):
    if len(set(shapes)) > 1:
        listed = ", ".join("x".join(map(str, s)) for s in shapes)
        raise ShapeError(f"{name}: every {what} split by {sep} needs the same shape, got {listed}")


PIXELS_MAX = 25_000_000  # = convscope.data.image.MAX_PIXELS (a test keeps them equal)
GRAY_MODES = ("1", "L", "LA")  # 8-bit gray (alpha dropped)
WIDE_MODES = ("I", "F")  # 16/32-bit integer or float gray: values kept as stored (I;16 -> I)


def read_image(path):
    """(intensities (C, H, W) float64, white) of an image file: grayscale C=1, colour C=3.

    8-bit images (and palette images, through their palette as RGB) give 0..255 and white=255;
    16-bit grayscale keeps its 0..65535 values (white=65535), float images their own values.
    """
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as exc:  # pragma: no cover - pillow is a dependency
        raise DataError(f"reading {path} needs Pillow: pip install pillow") from exc
    try:
        with warnings.catch_warnings():  # our cap is below Pillow's warning threshold
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except Image.DecompressionBombError:  # Pillow's own limit, far above ours
        over = 2 * Image.MAX_IMAGE_PIXELS // 1_000_000
        raise DataError(f"{path}: {_too_large(f'over {over} megapixels (a decompression bomb)')}") from None  # fmt: skip
    except UnidentifiedImageError:
        raise DataError(f"{path}: not an image Pillow can read (PNG, JPEG, BMP, ...)") from None
    try:
        with img:
            w, h = img.size
            if w * h > PIXELS_MAX:
                raise DataError(f"{path}: {_too_large(f'{w}x{h} pixels')}")
            mode = img.mode
            if mode.startswith("I;16") or mode in WIDE_MODES:
                arr = np.asarray(img, dtype=np.float64)
                top = float(np.max(arr, initial=0.0))
                white = max(1.0, top) if mode == "F" else max(65535.0, top)
            else:
                arr = np.asarray(img.convert("L" if mode in GRAY_MODES else "RGB"), np.float64)
                white = 255.0
    except (OSError, SyntaxError, ValueError) as exc:  # a truncated or corrupt file
        raise DataError(f"{path}: not a readable image ({exc})") from None
    return (arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)), white


def _too_large(what):
    return (
        f"{what}: more than the {PIXELS_MAX // 1_000_000}-megapixel limit for pictures; shrink"
        f" it first (explain shows pixels one by one: a few hundred a side is plenty)"
    )


def load_image(path):
    """An image file as its (C, H, W) intensity matrix (see ``read_image``)."""
    return read_image(path)[0]


def load_npy(path):
    """A .npy array as float64 (never unpickles objects)."""
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise DataError(f"{path}: not a plain numeric .npy array ({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{path}: holds {arr.dtype} values; explain needs numbers")
    return arr.astype(np.float64)


def load(spec, name, default=None):
    """The array a command-line value names: inline text, a .npy path or an image path.

    ``spec=None`` gives ``default`` (already an array, e.g. a seeded random one).
    """
    if spec is None:
        return default
    text = str(spec).strip()
    lower = text.lower()
    if lower.endswith(".npy"):
        return load_npy(existing(text, name))
    if lower.endswith(IMAGE_SUFFIXES):
        return load_image(existing(text, name))
    return parse_inline(text, name)


def existing(path, name):
    if not os.path.isfile(path):
        raise DataError(
            f"{name}: no such file {path!r}; give a .npy/image path or an inline matrix"
        )
    return path


def seeded(shape, seed, low=-3, high=3):
    """Small integers low..high from a seeded generator: defaults a person can multiply by hand."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConvscopeError(f"seed must be an integer >= 0, got {seed!r}; e.g. seed=3")
    rng = np.random.default_rng(seed)
    return rng.integers(low, high + 1, size=shape).astype(np.float64)


def as_chw(a, name):
    """(H, W) -> (1, H, W); (C, H, W) stays; anything else is a ShapeError."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 2:
        return a[None]
    if a.ndim == 3:
        return a
    raise ShapeError(
        f"{name}: expected a matrix (H, W) or channels (C, H, W), got shape {a.shape};"
        f' split channels with "|" and rows with ";"'
    )


def biases(topic, bias, nfilters):
    """One bias per filter as float64 (nfilters,): zeros when None, else a spec or array."""
    if bias is None:
        return np.zeros(nfilters)
    b = load(bias, "bias") if isinstance(bias, str) else np.asarray(bias, dtype=np.float64)
    b = np.ravel(b).astype(np.float64)
    if b.size != nfilters:
        raise ShapeError(
            f"{topic}: {b.size} bias value(s) for {nfilters} filter(s); give one per filter,"
            f" e.g. --bias '{' '.join(['0'] * nfilters)}'"
        )
    return b
