"""The ``image`` topic: an image as its (C, H, W) intensity matrix, I[c][i][j] = pixel (i, j) of channel c.

A grayscale image has C = 1, a colour one C = 3 (red, green, blue); 0 is dark, 255 bright.
Without a file, a built-in 8x8 example (a digit 7) is shown.
"""

import numpy as np

from .matrix import as_chw, load
from .trace import INDEX_NOTE, Panel, Step, Trace

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


def image(input=None):
    """The (C, H, W) intensity matrix of an image file, .npy array, inline matrix or the example."""
    a = as_chw(
        SEVEN if input is None else (load(input, "input") if isinstance(input, str) else input),
        "input",
    )
    c, h, w = a.shape
    kind = {1: "grayscale", 3: "RGB colour", 4: "RGBA"}.get(c, f"{c}-channel")
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
        steps.append(Step(f"I[{k}]", text, a[k], operands={f"I[{k}]": corner}))
    picture = a[0] if c == 1 else np.moveaxis(a[:3], 0, -1)
    return Trace(
        topic="image",
        title=f"{'an' if kind[0] in 'AEIOU' else 'a'} {kind} image is a ({c}, {h}, {w}) array of intensities",
        notes=[
            INDEX_NOTE,
            "I[c][i][j] = intensity of pixel (i, j) in channel c; 0 = dark, 255 = bright",
            "a batch of N images is (N, C, H, W), the layout every conv layer takes",
        ],
        steps=steps,
        output=a,
        panels=[
            [Panel("picture", picture, kind="image"), *(Panel(f"I[{k}]", a[k]) for k in range(c))]
        ],
    )
