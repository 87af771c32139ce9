"""What a request may carry, checked at the boundary: one sentence per fault, with its status.

    pixels(value, shape)        the picture as the model gets it: integers 0..255, (C, H, W)
    picture(data, shape)        uploaded bytes (PNG, JPEG, ...) converted as ``convscope predict``
                                converts a file; at most MAX_BYTES and MAX_SIDE x MAX_SIDE pixels
    integer(value, name, low, high), number(...), cell(value)

Every fault is a :class:`RequestError` (a ConvscopeError) whose ``status`` is the HTTP answer.
"""

import io
import numbers

import numpy as np

from ..errors import ConvscopeError

MAX_BYTES = 10 * 1024 * 1024  # an upload: 10 MB (10,485,760 bytes)
MAX_SIDE = 4096  # pixels per side of an uploaded picture
MAX_JSON_BYTES = 1024 * 1024


class Upload(bytes):
    """The body of a request that sent a picture (not JSON)."""


class RequestError(ConvscopeError):
    """A request the server refuses: ``status`` 400 unless a subclass says otherwise."""

    status = 400


class TooLarge(RequestError):
    status = 413


class NotAnImage(RequestError):
    status = 415


def pixels(value, shape):
    """(C, H, W) uint8 from nested lists of integers 0..255 ((H, W) for one channel)."""
    dims = "x".join(map(str, shape))
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise RequestError(
            f"pixels: expected a {dims} array of numbers (nested lists), got {_kind(value)}"
        ) from None
    if arr.ndim == 2 and shape[0] == 1:
        arr = arr[None]
    if arr.shape != tuple(shape):
        raise RequestError(
            f"pixels: the model takes a {dims} picture (C x H x W) but the request has shape"
            f" {'x'.join(map(str, arr.shape)) or 'scalar'}; send the grid /api/forward returns"
            f" under input.pixels"
        )
    bad = ~np.isfinite(arr) | (arr < 0) | (arr > 255) | (arr != np.round(arr))
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        raise RequestError(
            f"pixels: every value must be an integer 0..255 (0 = background, 255 = ink), but"
            f" {np.count_nonzero(bad)} are not, e.g. {arr[at]!r} at {list(at)}"
        )
    return arr.astype(np.uint8)


def picture(data, shape):
    """Uploaded image bytes -> (pixels (C, H, W) uint8, facts about the picture).

    A (1, 28, 28) model gets MNIST's conversion (``data.mnist_style``: grayscale, dark
    background, the digit fitted into 20x20 and centred by mass); any other model a plain
    conversion to C channels and a resize to H x W -- what ``data.load_image`` does to a file.
    """
    from PIL import Image, UnidentifiedImageError

    from ..data import MNIST_SHAPE, mnist_style
    from ..data.image import to_array

    if len(data) > MAX_BYTES:
        raise TooLarge(
            f"the upload is {len(data):,} bytes; pictures are limited to 10 MB"
            f" ({MAX_BYTES:,} bytes): use a smaller PNG or JPEG"
        )
    if not data:
        raise NotAnImage("the upload is empty; send the bytes of a PNG or JPEG picture")
    try:
        img = Image.open(io.BytesIO(data))
        width, height = img.size
    except (UnidentifiedImageError, OSError, ValueError):
        raise NotAnImage(
            f"the upload ({len(data):,} bytes) is not a picture Pillow can read; upload a PNG or"
            f" JPEG (BMP, GIF and WebP work too)"
        ) from None
    if width > MAX_SIDE or height > MAX_SIDE:
        raise TooLarge(
            f"the picture is {width}x{height} pixels; the limit is {MAX_SIDE}x{MAX_SIDE}: scale"
            f" it down (a digit needs no more than a few hundred pixels)"
        )
    try:
        img.load()
        shape = tuple(shape)
        if shape == MNIST_SHAPE:
            arr = mnist_style(img, name="the picture")
        else:
            arr = to_array(img, shape[1:], shape[0])
    except ConvscopeError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise NotAnImage(
            f"the picture could not be decoded ({exc}); upload another PNG or JPEG"
        ) from None
    return arr, {"width": width, "height": height, "format": img.format, "mode": img.mode}


def integer(value, name, low, high):
    """An integer low..high (booleans and fractions refused)."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok or not low <= value <= high:
        raise RequestError(f"{name}: expected an integer from {low} to {high}, got {value!r}")
    return int(value)


def number(value, name, low, high):
    """A finite number with low < value <= high."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not np.isfinite(value) or not low < value <= high:
        raise RequestError(
            f"{name}: expected a number above {low:g} and at most {high:g}, got {value!r}"
        )
    return float(value)


def cell(value, name="at"):
    """A list of integer indices (the layer checks the range)."""
    ok = isinstance(value, list) and 1 <= len(value) <= 4
    if not ok or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise RequestError(
            f"{name}: expected a list of integer indices such as [channel, row, column], got {value!r}"
        )
    return tuple(value)


def field(body, name, required=True, default=None):
    """body[name]; a sentence naming the field when it is missing."""
    if not isinstance(body, dict):
        raise RequestError(f"the request body must be a JSON object with fields, got {_kind(body)}")
    if name not in body:
        if required:
            raise RequestError(
                f"the request has no {name!r} field; see /api for each endpoint's fields"
            )
        return default
    return body[name]


def _kind(value):
    return f"a {type(value).__name__}" if not isinstance(value, (str, bytes)) else repr(value)[:40]
