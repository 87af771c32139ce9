"""The ``image`` topic: an image as its (C, H, W) intensity matrix, I[c,i,j] = pixel (i, j) of channel c.

A grayscale image has C = 1, a colour one C = 3 (red, green, blue); 0 is dark, 255 bright
(65535 in a 16-bit image).
Without a file, a built-in 8x8 example (a digit 7) is shown.
"""

import numpy as np

from .matrix import IMAGE_SUFFIXES, as_chw, existing, load, read_image
from .trace import INDEX_NOTE, Panel, Step, Trace, quiet

SHOW_MAX = 32  # larger images print their top-left corner only

SEVEN = np.array(
    [
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0, 40, 200, 255, 255, 255, 120, 0],
        [0, 0, 0, 0, 10, 230, 90, 0],
        [0, 0, 0, 0, 120, 200, 0, 0],
        [0, 0, 0, 30, 240, 60, 0, 0],
        [0, 0, 0, 160, 170, 0, 0, 0],
        [0, 0, 20, 250, 40, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
    ],
    dtype=np.float64,
)


KINDS = {1: "a grayscale", 3: "an RGB colour", 4: "an RGBA"}


def _kind(c):
    """'a grayscale', 'an RGB colour', 'an 8-channel', 'a 2-channel' ..."""
    if c in KINDS:
        return KINDS[c]
    spoken_vowel = str(c).startswith("8") or c in (11, 18)
    return f"{'an' if spoken_vowel else 'a'} {c}-channel"


def _read(input):
    """(C, H, W) intensities and the value of white (255, or 65535 for a 16-bit image)."""
    if input is None:
        return SEVEN[None], 255.0
    if isinstance(input, str):
        if input.strip().lower().endswith(IMAGE_SUFFIXES):
            return read_image(existing(input.strip(), "input"))
        input = load(input, "input")
    return as_chw(input, "input"), 255.0


@quiet
def image(input=None):
    """The (C, H, W) intensity matrix of an image file, .npy array, inline matrix or the example."""
    a, white = _read(input)
    c, h, w = a.shape
    kind = _kind(c)
    names = ("red", "green", "blue", "alpha") if c in (3, 4) else ()
    steps = []
    for k in range(c):
        corner = a[k, :SHOW_MAX, :SHOW_MAX]
        what = f"channel {k}" + (f" ({names[k]})" if names else "")
        cut = (
            f", top-left {corner.shape[0]}x{corner.shape[1]} shown"
            if corner.shape != (h, w)
            else ""
        )
        text = (
            f"I[{k}] = {what}: min {a[k].min():g}, max {a[k].max():g}, mean {a[k].mean():.4g}{cut}"
        )
        steps.append(
            Step(f"I[{k}]", text, a[k], operands={"channel": k}, grids={f"I[{k}]": corner})
        )
    picture = (a[0] if c == 1 else np.moveaxis(a[:3], 0, -1)) * (255.0 / white)
    depth = " (a 16-bit image)" if white == 65535 else ""
    return Trace(
        topic="image",
        title=f"{kind} image is a ({c}, {h}, {w}) array of intensities",
        notes=[
            INDEX_NOTE,
            f"I[c,i,j] = intensity of pixel (i, j) in channel c; 0 = dark, {white:g} = bright{depth}",
            "a batch of N images is (N, C, H, W), the layout every conv layer takes",
        ],
        steps=steps,
        output=a,
        panels=[
            [Panel("picture", picture, kind="image"), *(Panel(f"I[{k}]", a[k]) for k in range(c))]
        ],
    )
