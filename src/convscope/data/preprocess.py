"""Turn any picture of a digit into an MNIST-style 28x28 image, the way MNIST itself was made.

1. grayscale (transparency composited on white); a picture more than WORK_SIDE (2048) pixels
   a side is first shrunk by an integer factor (a box filter: its digit ends up 20 pixels
   tall anyway), which keeps the float work of a 25-megapixel photo small;
2. dark background: if the border is light (median > 127), invert;
3. subtract the background level and stretch the ink to 0..255;
4. crop to the ink's bounding box (pixels above 10% of the maximum) and resize it,
   keeping the aspect ratio, so that its longer side is 20 pixels;
5. paste it into a black 28x28 field so that its centre of mass sits at the centre (13.5, 13.5).

``load_image(path, shape)`` is the one rule ``predict``, ``eval`` and ``train`` apply to a picture
file: for a digit model (input ``MNIST_SHAPE`` = (1, 28, 28)) the steps above, for any other
input shape a plain conversion to C channels and a resize to H x W.
"""

import numpy as np

from ..errors import DataError
from .image import open_image, to_array

FIELD, BOX = 28, 20
WORK_SIDE = 2048
MNIST_SHAPE = (1, FIELD, FIELD)


def mnist_style(image, name="image"):
    """PIL image or 2-D array (any size) -> uint8 (1, 28, 28), white digit on black."""
    gray = _grayscale(image)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 127:
        gray = 255.0 - gray
        border = 255.0 - border
    ink = np.clip(gray - np.median(border), 0, None)
    peak = ink.max()
    if peak <= 0:
        raise DataError(f"{name}: no digit found (the image is a single flat colour)")
    ink *= 255.0 / peak
    rows = np.flatnonzero((ink > 25.5).any(axis=1))
    cols = np.flatnonzero((ink > 25.5).any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    box = _resize_longer_side(crop, BOX)
    return _centre_by_mass(box)[None]


def load_digit_image(path):
    """Read a PNG/JPEG file and apply ``mnist_style``; DataError naming the file if unreadable."""
    return mnist_style(open_image(path), name=str(path))


def load_image(path, shape=MNIST_SHAPE):
    """uint8 (C, H, W) = ``shape`` for a model with that input: ``load_digit_image`` for
    (1, 28, 28), otherwise grayscale (C=1) or RGB (C=3) resized (bilinear) to H x W."""
    shape = tuple(int(s) for s in shape)
    if shape == MNIST_SHAPE:
        return load_digit_image(path)
    channels, h, w = shape
    if channels not in (1, 3):
        raise DataError(f"{path}: images become 1 (grayscale) or 3 (RGB) channels, not {channels}")
    return to_array(open_image(path), (h, w), channels)


def _grayscale(image):
    if isinstance(image, np.ndarray):
        arr = image.astype(np.float64)
        if arr.ndim == 3:  # (H, W, C) colour array
            arr = arr[..., :3].mean(axis=2)
        if arr.ndim != 2:
            raise DataError(f"mnist_style: expected a 2-D image, got shape {image.shape}")
        return arr
    gray = to_array(image, (image.height, image.width))[0]
    factor = -(-max(gray.shape) // WORK_SIDE)
    if factor > 1:
        from PIL import Image

        gray = np.asarray(Image.fromarray(gray).reduce(factor))
    return gray.astype(np.float64)


def _resize_longer_side(crop, side):
    from PIL import Image

    h, w = crop.shape
    scale = side / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    img = Image.fromarray(crop.astype(np.float32))
    return np.asarray(img.resize((nw, nh), Image.Resampling.LANCZOS), dtype=np.float64).clip(0, 255)


def _centre_by_mass(box):
    h, w = box.shape
    mass = box.sum()
    cy = (box.sum(axis=1) @ np.arange(h)) / mass
    cx = (box.sum(axis=0) @ np.arange(w)) / mass
    centre = (FIELD - 1) / 2
    top = int(np.clip(round(centre - cy), 0, FIELD - h))
    left = int(np.clip(round(centre - cx), 0, FIELD - w))
    out = np.zeros((FIELD, FIELD))
    out[top : top + h, left : left + w] = box
    return np.rint(out).astype(np.uint8)
