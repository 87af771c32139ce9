"""One animation drawn with matplotlib, frame by frame (``Scene.frame(k)`` -> a PIL image).

The panels are laid out as CS231n's demo: the input channels in a column, each filter's
channels in a column beside it, the output maps in the last column; the window is outlined
on every input channel (each tap too when dilated), the current filter and the current
output cell too. With ``slide`` a row below shows the cell as the slides do, window ⊙ W =
products, Σ + b. A stride's dropped positions are frames of their own, greyed; cells no
window reaches are grey from the start.

Speed: the static parts (inputs, kernels, axes) are drawn once; each frame restores that
background and redraws only the moving artists (boxes, the output images, their new numbers)
on the Agg canvas -- blitting, as matplotlib's animation does. The caption and the slide
row's numbers are drawn by Pillow (matplotlib's text layout would dominate the time).
"""

import textwrap

import numpy as np

from ..ops.geometry import span
from .captions import cell_caption, frame_cell, window_of
from .figure import (
    FOCUS_COLOUR,
    MUTED_COLOUR,
    NUMBERS_MAX,
    _cell_patch,
    new_figure,
    symmetric_norm,
    write_numbers,
)
from .grid import fmt

CAPTION_POINTS = 11  # caption font size
PANEL = 2.7  # inches per panel
SLIDE_MAX = 7  # the slide row is drawn for windows up to this size


class Scene:
    """The figure and its moving artists; ``frame(k)`` returns frame k as a PIL image."""

    def __init__(self, anim, dpi):
        from matplotlib import font_manager
        from PIL import ImageFont

        self.anim = anim
        src, out = anim.source, anim.output
        self.kernels = None if anim.kernel is None else \
            (anim.kernel if anim.kernel.ndim == 4 else anim.kernel[None])  # fmt: skip
        nf = 0 if self.kernels is None else self.kernels.shape[0]
        ds, (kh, kw) = anim.downsample, anim.window
        ncols, nrows = 2 + nf + (ds > 1), max(src.shape[0], out.shape[0])
        win = anim.window
        self.slide = anim.slide and anim.op == "sum" and src.shape[0] == 1 and max(win) <= SLIDE_MAX
        count = anim.frames - (anim.then.frames if anim.then else 0)
        self.captions = [
            f"{cell_caption(anim, i, j, f)}\n(frame {k + 1}/{count})"
            for k, (f, i, j) in ((k, frame_cell(anim, k)) for k in range(count))
        ]
        mono = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans Mono"))
        self.font = ImageFont.truetype(mono, round(CAPTION_POINTS * dpi / 72))
        widest = max(len(line) for text in self.captions for line in text.splitlines())
        lines = max(text.count("\n") + 1 for text in self.captions)
        caption_width = (widest * self.font.getlength("0") + 20) / dpi
        self.strip = lines * 1.35 * CAPTION_POINTS / 72 + 0.1  # inches below the panels
        panels_height = PANEL * nrows + 0.5 + (PANEL * 0.85 if self.slide else 0)
        self.height = panels_height + self.strip
        width = max(PANEL * ncols, PANEL * 4.6 if self.slide else 0, 8.0, caption_width)
        self.fig = new_figure(width, self.height, dpi)
        outer = self.fig.add_gridspec(1 + self.slide, 1,
                                      height_ratios=[nrows, 0.85] if self.slide else [1])  # fmt: skip
        grid = outer[0].subgridspec(nrows, ncols)
        self._draw_sources(grid)
        self._draw_kernels(grid)
        self._draw_outputs(grid, 1 + nf)
        if self.slide:
            self._draw_slide(outer[1].subgridspec(1, 4, wspace=0.9))
        chars = int(width * dpi / (0.62 * 11 * dpi / 72))  # characters of 11 pt across
        self.fig.suptitle("\n".join(textwrap.wrap(anim.caption, chars)), fontsize=11)
        self.fig.tight_layout(rect=(0, self.strip / self.height, 1, 1))
        self.fig.canvas.draw()
        self.background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
        if self.slide:  # the slide row's numbers are drawn by Pillow (matplotlib's text is slow)
            self.number_font = ImageFont.truetype(
                font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans")),
                round(10 * dpi / 72),
            )
            self.centres = [_centres(v[0].axes, (kh, kw)) for v in (self.window_view,
                                                                      self.products_view)]  # fmt: skip
            x, y = self.total_axes.transAxes.transform((0.0, 0.5))
            self.total_at = (x, self.fig.bbox.height - y)

    def _axes(self, spec, title):
        ax = self.fig.add_subplot(spec)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title, fontsize=11)
        return ax

    def _draw_sources(self, grid):
        anim, names = self.anim, self.anim.names
        self.boxes = []
        for c in range(anim.source.shape[0]):
            tag = f"[{c}]" if anim.source.shape[0] > 1 else ""
            ax = self._axes(grid[c, 0], f"{names[0]}{tag}")
            _static_grid(ax, anim.source[c])
            for i, j in anim.muted:
                ax.add_patch(_cell_patch(i, j, MUTED_COLOUR, fill=True))
            self.boxes.append(self._window_box(ax))

    def _draw_kernels(self, grid):
        self.kernel_boxes = []
        if self.kernels is None:
            return
        nf, c = self.kernels.shape[:2]
        name = self.anim.names[1]
        for f in range(nf):
            boxes = []
            for k in range(c):
                tag = f"[{f},{k}]" if nf > 1 else f"[{k}]" if c > 1 else ""
                ax = self._axes(grid[k, 1 + f], f"{name}{tag}")
                _static_grid(ax, self.kernels[f, k])
                if nf > 1:
                    boxes.append(_frame_box(ax, self.kernels.shape[2:]))
            self.kernel_boxes.append(boxes)

    def _draw_outputs(self, grid, column):
        anim = self.anim
        out, (oh, ow) = anim.output, anim.cells
        self.shown = np.full(out.shape, np.nan)
        self.revealed = np.zeros(out.shape, dtype=bool)
        self.shown[:, oh:, :], self.shown[:, :, ow:] = out[:, oh:, :], out[:, :, ow:]
        self.revealed[:, oh:, :] = self.revealed[:, :, ow:] = True
        ds, names = anim.downsample, anim.names
        self.dropped = {(i, j) for i, j in np.ndindex(oh, ow) if i % ds or j % ds}
        self.outputs, self.cell_boxes, self.kept = [], [], []
        for c in range(out.shape[0]):
            tag = f"[{c}]" if out.shape[0] > 1 else ""
            ax = self._axes(grid[c, column], names[2] + tag)
            static = [(i, j) for i, j in np.ndindex(*out.shape[1:]) if i >= oh or j >= ow]
            for i, j in static + sorted(self.dropped):
                ax.add_patch(_cell_patch(i, j, MUTED_COLOUR, fill=True))
            self.outputs.append(_filling(ax, out[c]))
            self.cell_boxes.append(_frame_box(ax, (1, 1)))
            if ds > 1:
                kept = out[c, ::ds, ::ds]
                title = names[3] if len(names) > 3 else f"{names[2]}[::{ds}, ::{ds}]"
                self.kept.append(_filling(self._axes(grid[c, column + 1], title + tag), kept))

    def _draw_slide(self, row):
        kh, kw = self.anim.window
        w = self.kernels[0, 0]
        top = float(np.max(np.abs(np.nan_to_num(self.anim.source)), initial=0.0))
        view = _filling(self._axes(row[0, 0], "window"), np.zeros((kh, kw)), top, numbers=False)
        self.window_view = view
        _operator(view[0].axes, "⊙")
        ax = self._axes(row[0, 1], self.anim.names[1])
        _static_grid(ax, w)
        _operator(ax, "=")
        scale = top * float(np.max(np.abs(np.nan_to_num(w)), initial=0.0))
        self.products_view = _filling(self._axes(row[0, 2], "products"), np.zeros((kh, kw)), scale,
                                      numbers=False)  # fmt: skip
        _operator(self.products_view[0].axes, "→")
        self.total_axes = self._axes(row[0, 3], "")
        self.total_axes.axis("off")

    def _window_box(self, ax):
        """The window's outline; with dilation > 1 (thin) plus one box per tap."""
        (kh, kw), d = self.anim.window, self.anim.dilation
        box = _frame_box(ax, (span(kh, d), span(kw, d)), 3 if d == 1 else 1)
        taps = [] if d == 1 else [(_frame_box(ax, (1, 1), 2.5), u * d, v * d)
                                  for u, v in np.ndindex(kh, kw)]  # fmt: skip
        return box, taps

    def frame(self, k):
        from PIL import Image, ImageDraw

        anim, canvas = self.anim, self.fig.canvas
        f, i, j = frame_cell(anim, k)
        dropped = (i, j) in self.dropped
        canvas.restore_region(self.background)
        rows, cols = window_of(anim, i, j)
        colour, style = (MUTED_COLOUR, "--") if dropped else (FOCUS_COLOUR, "-")
        for box, taps in self.boxes:
            for patch, (r, q) in [(box, (0, 0)), *((t, (u, v)) for t, u, v in taps)]:
                patch.set_xy((cols.start + q - 0.5, rows.start + r - 0.5))
                patch.set_edgecolor(colour)
                patch.set_linestyle(style)
                patch.axes.draw_artist(patch)
        for box in self.kernel_boxes[f] if len(self.kernel_boxes) > 1 else ():
            box.axes.draw_artist(box)
        filled = range(anim.output.shape[0]) if self.kernels is None else [f]
        for c in filled:
            self.shown[c, i, j] = anim.output[c, i, j]
            self.revealed[c, i, j] = True
        for c, view in enumerate(self.outputs):
            _draw_filling(view, self.shown[c], self.revealed[c])
            if c in filled:
                self.cell_boxes[c].set_xy((j - 0.5, i - 0.5))
                self.cell_boxes[c].axes.draw_artist(self.cell_boxes[c])
        s = anim.downsample
        for c, view in enumerate(self.kept):
            keep = self.revealed[c, ::s, ::s][: view[2].shape[0], : view[2].shape[1]]
            _draw_filling(view, np.where(keep, self.shown[c, ::s, ::s], np.nan), keep)
        slide = self._slide_frame(i, j) if self.slide else None
        rgba = np.asarray(canvas.buffer_rgba())
        image = Image.fromarray(rgba[..., :3].copy())
        draw = ImageDraw.Draw(image)
        top = image.height - round(self.strip * self.fig.dpi) + 4
        draw.multiline_text((image.width / 2, top), self.captions[k], fill="black",
                            font=self.font, anchor="ma", align="center")  # fmt: skip
        if slide is not None:
            for grid, centres in zip(slide[:2], self.centres, strict=True):
                for (r, q), (x, y) in centres.items():
                    draw.text((x, y), fmt(grid[r, q]), fill="black", font=self.number_font,
                              anchor="mm")  # fmt: skip
            draw.multiline_text(self.total_at, slide[2], fill="black", font=self.font, anchor="lm")
        return image

    def _slide_frame(self, i, j):
        """Draws the window and products images; returns (window, products, the sum's text)."""
        anim = self.anim
        win = anim.source[0][window_of(anim, i, j)]
        products = win * self.kernels[0, 0]
        everything = np.ones(win.shape, dtype=bool)
        _draw_filling(self.window_view, win, everything)
        _draw_filling(self.products_view, products, everything)
        bias = 0.0 if anim.bias is None else float(np.ravel(anim.bias)[0])
        total = (f"Σ products = {fmt(products.sum())}\n+ b = {fmt(bias)}\n"
                 f"{anim.names[2]}[{i},{j}] = {fmt(anim.output[0, i, j])}")  # fmt: skip
        return win, products, total


def _filling(ax, values, scale=None, numbers=True):
    """An output map that fills in: (image, {cell: text}, values)."""
    image = ax.imshow(np.full(values.shape, np.nan), cmap="coolwarm", alpha=0.55, animated=True,
                      norm=symmetric_norm(values if scale is None else np.array([scale])),
                      interpolation="nearest")  # fmt: skip
    ax.set_xlim(-0.5, values.shape[1] - 0.5)
    ax.set_ylim(values.shape[0] - 0.5, -0.5)
    texts = {}
    if numbers and max(values.shape) <= NUMBERS_MAX:
        for i, j in np.ndindex(*values.shape):
            texts[i, j] = ax.text(j, i, "", ha="center", va="center", fontsize=10, animated=True)
    return image, texts, values


def _centres(ax, shape):
    """{(r, q): (x, y)}: the pixel centre of each cell of an imshow grid in the figure image."""
    height = ax.figure.bbox.height
    return {(r, q): (x, height - y) for (r, q) in np.ndindex(*shape)
            for x, y in [ax.transData.transform((q, r))]}  # fmt: skip


def _draw_filling(view, shown, revealed):
    image, texts, _ = view
    image.set_data(shown)
    image.axes.draw_artist(image)
    for (r, q), text in texts.items():
        if revealed[r, q]:
            text.set_text(fmt(shown[r, q]))
            text.axes.draw_artist(text)


def _frame_box(ax, shape, width=3):
    """An animated outline of shape (h, w) cells at the top-left (moved with set_xy)."""
    from matplotlib.patches import Rectangle

    box = Rectangle((-0.5, -0.5), shape[1], shape[0], fill=False, edgecolor=FOCUS_COLOUR,
                    linewidth=width, animated=True)  # fmt: skip
    ax.add_patch(box)
    return box


def _operator(ax, symbol):
    ax.text(1.28, 0.5, symbol, ha="center", va="center", fontsize=22, transform=ax.transAxes)


def _static_grid(ax, grid):
    ax.imshow(grid, cmap="coolwarm", norm=symmetric_norm(grid), alpha=0.55)
    if max(grid.shape) <= NUMBERS_MAX:
        write_numbers(ax, grid)
