"""Reading one picture with Pillow and converting it to a (C, H, W) uint8 array.

Pictures are capped at MAX_PIXELS (25 megapixels, e.g. 5000x5000) *before* they are decoded:
Pillow reads the size from the header, a JPEG above the cap is decoded at 1/2, 1/4 or 1/8
scale (``Image.draft``, nearly free), anything else above it is refused with a sentence. So a
decompression bomb (a 4 MB PNG of 30000x30000 pixels) costs nothing.

16-bit and 32-bit pictures (Pillow modes I;16, I;16B, I, F) are scaled to 0..255 from the
range of their type - 16-bit by 255/65535; "I" by 255/255 or 255/65535, whichever range holds
its maximum; "F" likewise from 0..1, 0..255 or 0..65535 - never clipped at 255 as Pillow's
``convert("L")`` would.
"""

import warnings
from pathlib import Path

import numpy as np

from ..errors import DataError

MAX_PIXELS = 25_000_000


def open_image(path):
    """A decoded PIL image; DataError naming the file when Pillow cannot read it or it is
    larger than MAX_PIXELS (after a JPEG's reduced decoding)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such image file")
    try:
        with warnings.catch_warnings():  # our cap is below Pillow's warning threshold
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                _fit_the_cap(img, path)
                img.load()
                return img.copy()
    except Image.DecompressionBombError:  # Pillow's own limit, far above ours
        over = 2 * Image.MAX_IMAGE_PIXELS // 1_000_000
        raise DataError(f"{path}: {_too_large(f'over {over} megapixels (a decompression bomb)')}") from None  # fmt: skip
    except DataError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path}: not a readable PNG/JPEG image ({exc})") from None


def _fit_the_cap(img, path):
    """Decode a JPEG above MAX_PIXELS at a reduced scale; refuse any other picture above it."""
    w, h = img.size
    if w * h <= MAX_PIXELS:
        return
    if img.format == "JPEG":
        k = next((k for k in (2, 4, 8) if w * h <= MAX_PIXELS * k * k), 8)
        img.draft(img.mode, (w // k, h // k))
    if img.size[0] * img.size[1] > MAX_PIXELS:
        raise DataError(f"{path}: {_too_large(f'{w}x{h} pixels')}")


def _too_large(what):
    return (
        f"{what}: more than the {MAX_PIXELS // 1_000_000}-megapixel limit for pictures;"
        f" shrink it first (a digit needs a few hundred pixels a side at most)"
    )


def to_array(img, size, channels=1):
    """PIL image -> uint8 (C, H, W) at size (H, W); transparency is composited on white."""
    from PIL import Image

    img = _eight_bit(img)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    img = img.convert("L" if channels == 1 else "RGB")
    h, w = size
    if img.size != (w, h):
        img = img.resize((w, h), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


def _eight_bit(img):
    """A 16/32-bit grayscale image as mode "L", scaled from its type's range (not clipped)."""
    from PIL import Image

    if not (img.mode in ("I", "F") or img.mode.startswith("I;16")):
        return img
    values = np.nan_to_num(np.asarray(img, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    peak = float(values.max(initial=0))
    if img.mode.startswith("I;16"):
        top = 65535.0
    else:
        ranges = (1.0, 255.0, 65535.0) if img.mode == "F" else (255.0, 65535.0)
        top = next((r for r in ranges if peak <= r), peak)
    scaled = np.rint(np.clip(values * (255.0 / top), 0, 255)).astype(np.uint8)
    return Image.fromarray(scaled)  # a 2-D uint8 array: mode "L"
