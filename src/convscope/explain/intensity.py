"""The ``image`` topic: an image as its (C, H, W) intensity matrix, I[c,i,j] = pixel (i, j) of channel c.

A grayscale image has C = 1, a colour one C = 3 (red, green, blue); 0 is dark, 255 bright
(65535 in a 16-bit image, 1 in an array of floats in 0..1). The figure draws every channel on
the same fixed scale, 0..white, with a colour bar and the channel's own tint, so a blue 200
looks as strong as a red 200. The text prints the part of a large picture that holds its
content (``text.crop``). Without a file, a built-in 8x8 example (a digit 7) is shown.
"""

import numpy as np

from .matrix import IMAGE_SUFFIXES, as_chw, existing, load, read_image
from .text import GRID_MAX
from .trace import INDEX_NOTE, Panel, Step, Trace, quiet

TINTS = {1: ("gray",), 3: ("Reds", "Greens", "Blues"), 4: ("Reds", "Greens", "Blues", "Greys")}

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
    a = as_chw(input, "input")
    return a, white_of(a)


def white_of(a):
    """The value of white of an array: 1 for floats in 0..1, 255 for 0..255, else its maximum."""
    finite = a[np.isfinite(a)]
    top = float(np.max(finite, initial=0.0))
    if finite.size and finite.min() >= 0 and top <= 1 and np.any(finite != np.round(finite)):
        return 1.0
    return 255.0 if top <= 255 else top


@quiet
def image(input=None):
    """The (C, H, W) intensity matrix of an image file, .npy array, inline matrix or the example."""
    a, white = _read(input)
    c, h, w = a.shape
    kind = _kind(c)
    names = ("red", "green", "blue", "alpha") if c in (3, 4) else ()
    steps = []
    for k in range(c):
        what = f"channel {k}" + (f" ({names[k]})" if names else "")
        text = f"I[{k}] = {what}: min {a[k].min():g}, max {a[k].max():g}, mean {a[k].mean():.4g}"
        steps.append(Step(f"I[{k}]", text, a[k], operands={"channel": k}, grids={f"I[{k}]": a[k]}))
    picture = a[0] if c == 1 else np.moveaxis(a[:3], 0, -1)
    depth = " (a 16-bit image)" if white == 65535 else ""
    notes = [
        INDEX_NOTE,
        f"I[c,i,j] = intensity of pixel (i, j) in channel c; 0 = dark, {white:g} = bright{depth}",
        "a batch of N images is (N, C, H, W), the layout every conv layer takes",
    ]
    if max(h, w) > GRID_MAX:
        notes.append(
            f"a {h}x{w} picture: the text shows {GRID_MAX}x{GRID_MAX} of it around its content;"
            f" `--digit` shows the 28x28 a digit model sees (the conversion `predict` applies)"
        )
    tints = TINTS.get(c, ("gray",) * c)
    return Trace(
        topic="image",
        title=f"{kind} image is a ({c}, {h}, {w}) array of intensities",
        notes=notes,
        steps=steps,
        output=a,
        panels=[
            [
                Panel("picture", picture, kind="image", scale=(0.0, white)),
                *(
                    Panel(
                        f"I[{k}]" + (f" ({names[k]})" if names else ""),
                        a[k],
                        scale=(0.0, white),
                        tint=tints[k],
                    )
                    for k in range(c)
                ),
            ]
        ],  # fmt: skip
    )
