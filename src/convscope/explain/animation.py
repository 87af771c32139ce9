"""A trace's animation as GIF bytes: the window sliding over the input, one frame per output
element, the output filling in as it goes (the way lecture slides animate it).

Each frame's caption writes the current cell out (the sum of products, or the pooled values).

Speed: the static parts (input, kernel, axes) are drawn once; each frame restores that
background and redraws only the moving artists (window boxes, the output image, its new
number) on the Agg canvas -- blitting, as matplotlib's animation does. The caption is drawn by
Pillow onto a strip below the figure (matplotlib's text layout would dominate the time). Frames
are assembled by Pillow with one shared palette. A 28x28 conv (676 frames) takes a few seconds.
"""

import io

import numpy as np

from ..errors import ConvscopeError
from ..ops.geometry import span, window
from .figure import (
    FOCUS_COLOUR,
    NUMBERS_MAX,
    _cell_patch,
    new_figure,
    symmetric_norm,
    write_numbers,
)
from .grid import fmt, term

CAPTION_TERMS = 9  # products written out in a frame's caption
CAPTION_CHANNELS = 3  # pooling: one caption line per channel, up to this many
CAPTION_POINTS = 11  # caption font size

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

    scene = _Scene(anim, dpi)
    frames = [scene.frame(k) for k in range(anim.frames)]
    palette = frames[0].quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    frames = [f.quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    duration = int(np.clip(1000 * max_seconds / len(frames), 40, 700))
    buf = io.BytesIO()
    frames[0].save(
        buf, format="GIF", save_all=True, append_images=frames[1:], duration=duration, loop=0
    )
    return buf.getvalue()


class _Scene:
    """The figure and its moving artists; ``frame(k)`` returns frame k as a PIL image."""

    def __init__(self, anim, dpi):
        from matplotlib import font_manager
        from PIL import ImageFont

        self.anim = anim
        src, ker, out = anim.source, anim.kernel, anim.output
        panels = [*range(src.shape[0])] + ([*range(ker.shape[0])] if ker is not None else [])
        ncols = len(panels) + out.shape[0]
        ow = out.shape[2]
        self.captions = [
            f"{cell_caption(anim, *divmod(k, ow))}\n(frame {k + 1}/{anim.frames})"
            for k in range(anim.frames)
        ]
        mono = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans Mono"))
        self.font = ImageFont.truetype(mono, round(CAPTION_POINTS * dpi / 72))
        widest = max(len(line) for text in self.captions for line in text.splitlines())
        lines = max(text.count("\n") + 1 for text in self.captions)
        caption_width = (widest * self.font.getlength("0") + 20) / dpi
        self.strip = lines * 1.35 * CAPTION_POINTS / 72 + 0.1  # inches below the panels
        self.fig = new_figure(max(3.0 * ncols, 8.0, caption_width), 3.2 + self.strip, dpi)
        axes = [self.fig.add_subplot(1, ncols, k + 1) for k in range(ncols)]
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
        self.boxes = []
        names = anim.names
        for c in range(src.shape[0]):
            ax = axes[c]
            _static_grid(ax, src[c], f"{names[0]}" + (f"[{c}]" if src.shape[0] > 1 else ""))
            for i, j in anim.muted:
                ax.add_patch(_cell_patch(i, j, "#9aa5b1", fill=True))
            self.boxes.append(self._window_box(ax))
        if ker is not None:
            for c in range(ker.shape[0]):
                tag = f"[{c}]" if ker.shape[0] > 1 else ""
                _static_grid(axes[src.shape[0] + c], ker[c], f"{names[1]}{tag}")
        self.outputs = []
        for c in range(out.shape[0]):
            ax = axes[len(panels) + c]
            ax.set_title(names[2] + (f"[{c}]" if out.shape[0] > 1 else ""), fontsize=11)
            image = ax.imshow(np.full(out.shape[1:], np.nan), cmap="coolwarm",
                              norm=symmetric_norm(out[c]), alpha=0.55, animated=True,
                              interpolation="nearest")  # fmt: skip
            ax.set_xlim(-0.5, out.shape[2] - 0.5)
            ax.set_ylim(out.shape[1] - 0.5, -0.5)
            texts = {}
            if max(out.shape[1:]) <= NUMBERS_MAX:
                for i, j in np.ndindex(*out.shape[1:]):
                    texts[i, j] = ax.text(j, i, "", ha="center", va="center", fontsize=10,
                                          animated=True)  # fmt: skip
            self.outputs.append((image, texts))
        self.fig.suptitle(anim.caption, fontsize=11)
        self.fig.tight_layout(rect=(0, self.strip / (3.2 + self.strip), 1, 1))
        self.fig.canvas.draw()
        self.background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
        self.shown = np.full(out.shape, np.nan)

    def _window_box(self, ax):
        from matplotlib.patches import Rectangle

        (kh, kw), d = self.anim.window, self.anim.dilation
        box = Rectangle((-0.5, -0.5), span(kw, d), span(kh, d), fill=False,
                        edgecolor=FOCUS_COLOUR, linewidth=3, animated=True)  # fmt: skip
        ax.add_patch(box)
        return box

    def frame(self, k):
        from PIL import Image, ImageDraw

        anim, canvas = self.anim, self.fig.canvas
        ow = anim.output.shape[2]
        i, j = divmod(k, ow)
        self.shown[:, i, j] = anim.output[:, i, j]
        canvas.restore_region(self.background)
        rows, cols = _window(anim, i, j)
        for box in self.boxes:
            box.set_xy((cols.start - 0.5, rows.start - 0.5))
            box.axes.draw_artist(box)
        for c, (image, texts) in enumerate(self.outputs):
            image.set_data(self.shown[c])
            image.axes.draw_artist(image)
            if texts:
                texts[i, j].set_text(fmt(anim.output[c, i, j]))
                for (r, q), text in texts.items():
                    if r * ow + q <= k:
                        text.axes.draw_artist(text)
        rgba = np.asarray(canvas.buffer_rgba())
        image = Image.fromarray(rgba[..., :3].copy())
        top = image.height - round(self.strip * self.fig.dpi) + 4
        ImageDraw.Draw(image).multiline_text((image.width / 2, top), self.captions[k], fill="black",
                                             font=self.font, anchor="ma", align="center")  # fmt: skip
        return image


def cell_caption(anim, i, j):
    """Output cell (i, j) written out: 'Z[i,j] = (a*w) + ... + b = v', or 'Y[c,i,j] = max(...) = v'."""
    window = anim.source[(slice(None), *_window(anim, i, j))]
    if anim.op == "sum":
        terms = [
            f"({term(a)}*{term(w)})"
            for a, w in zip(window.ravel(), anim.kernel.ravel(), strict=True)
        ]
        if len(terms) > CAPTION_TERMS:
            terms = [*terms[: CAPTION_TERMS - 1], f"... ({len(terms) - CAPTION_TERMS + 1} more)"]
        if anim.bias is not None:
            terms.append(term(anim.bias))
        return f"{anim.names[2]}[{i},{j}] = {' + '.join(terms)} = {fmt(anim.output[0, i, j])}"
    lines = []
    for c in range(min(anim.output.shape[0], CAPTION_CHANNELS)):
        values = ", ".join(fmt(v) for v in window[c].ravel())
        lines.append(
            f"{anim.names[2]}[{c},{i},{j}] = {anim.op}({values}) = {fmt(anim.output[c, i, j])}"
        )
    return "\n".join(lines)


def _window(anim, i, j):
    """The (rows, cols) slices of the source that output cell (i, j) reads."""
    (kh, kw), s, d = anim.window, anim.stride, anim.dilation
    return window(i, kh, s, d), window(j, kw, s, d)


def _static_grid(ax, grid, title):
    ax.set_title(title, fontsize=11)
    ax.imshow(grid, cmap="coolwarm", norm=symmetric_norm(grid), alpha=0.55)
    if max(grid.shape) <= NUMBERS_MAX:
        write_numbers(ax, grid)
