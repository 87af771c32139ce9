"""A trace's animation as GIF bytes: the window sliding over the input, one frame per output
element, the output filling in as it goes (the way lecture slides animate it).

Each animation (and the one it is followed by, ``then``) is drawn by a ``scene.Scene``; the
frames of all of them are assembled by Pillow with one shared palette.
"""

import io

import numpy as np

from ..errors import ConvscopeError
from .captions import cell_caption, frame_cell

FRAMES_MAX = 1024  # longer animations are refused: nobody watches them, and they take minutes


def check_animation(trace):
    """ConvscopeError if the trace has no animation or one of more than FRAMES_MAX frames."""
    from . import unsupported_files

    if trace.graph:
        return None  # the chain rule's walk: one frame per node
    anim = trace.animation
    if anim is None:
        raise ConvscopeError(unsupported_files(trace.topic, gif=True))
    if anim.frames > FRAMES_MAX:
        oh, ow = anim.output.shape[1:]
        raise ConvscopeError(
            f"explain {trace.topic}: the animation would have {anim.frames} frames (one per"
            f" cell of the {oh}x{ow} output), more than {FRAMES_MAX}; use a smaller input (e.g."
            f" --size 16), a larger stride, or --at i,j with --png for one cell"
        )
    return anim


def render(trace, dpi=90, max_seconds=20.0):
    """GIF bytes with ``trace.animation.frames`` frames; ConvscopeError if the topic has none
    or it would be longer than FRAMES_MAX frames."""
    anim = check_animation(trace)
    from PIL import Image

    from .scene import Scene

    frames, firsts = [], []
    while anim is not None:
        scene = Scene(anim, dpi)
        own = [scene.frame(k) for k in range(anim.frames - (anim.then.frames if anim.then else 0))]
        firsts.append(own[0])
        frames += own
        anim = anim.then
    width, height = max(f.width for f in frames), max(f.height for f in frames)
    frames = [_on_canvas(f, width, height) for f in frames]
    sample = Image.new("RGB", (width, height * len(firsts)), "white")
    for k, first in enumerate(firsts):
        sample.paste(_on_canvas(first, width, height), (0, k * height))
    palette = sample.quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    frames = [f.quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    duration = int(np.clip(1000 * max_seconds / len(frames), 40, 700))
    buf = io.BytesIO()
    frames[0].save(
        buf, format="GIF", save_all=True, append_images=frames[1:], duration=duration, loop=0
    )
    return buf.getvalue()


def _on_canvas(image, width, height):
    """``image`` centred on a white width x height canvas (scenes of one GIF differ in size)."""
    from PIL import Image

    if image.size == (width, height):
        return image
    canvas = Image.new("RGB", (width, height), "white")
    canvas.paste(image, ((width - image.width) // 2, 0))
    return canvas


__all__ = ["FRAMES_MAX", "cell_caption", "check_animation", "frame_cell", "render"]
