"""A trace's figure as PNG bytes: its panels row by row (input with the window highlighted,
kernel, products, result). matplotlib (Agg, no pyplot) is imported only here.

A grid is coloured on a scale centred at 0 (red positive, blue negative), or on the panel's
fixed ``scale`` with its ``tint`` and a colour bar (an image's channels: 0..255 for every
channel, so equal values look equal). Marks each have one look: the window outlined orange,
padding grey, kept cells outlined green, zeros inserted by dilation purple, cells no window
reaches hatched red, a tie dashed. Up to PATCH_MAX cells a side they are patches; a larger
grid gets them as one overlay image (a 500x500 grid would otherwise need 250,000 patches),
and its window outlines only when they are few.
"""

import io

import numpy as np

from ..errors import ConvscopeError

NUMBERS_MAX = 16  # grids up to this many rows/columns get their numbers written in
PATCH_MAX = 40  # grids up to this many rows/columns get their marks as patches
BOXES_MAX = 400  # outline at most this many windows
FOCUS_COLOUR = "#f5a623"
MUTED_COLOUR = "#9aa5b1"
BOX_COLOUR = "#2d3748"
STYLES = {  # kind: (fill colour or None, edge colour, hatch, what it means)
    "muted": (MUTED_COLOUR, None, None, "padding"),
    "dropped": (MUTED_COLOUR, None, None, "dropped by the stride"),
    "inserted": ("#c9a3e6", None, None, "zero inserted by dilation"),
    "unreached": (None, "#c62828", "////", "reached by no window"),
    "kept": (None, "#2e9e4f", None, "kept by the stride"),
    "tie": (None, FOCUS_COLOUR, None, "tied with the chosen cell"),
    "focus": (None, FOCUS_COLOUR, None, "window / chosen"),
}


def new_figure(width, height, dpi=100):
    """A matplotlib Figure on an Agg canvas (no pyplot, no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def render(trace, dpi=100):
    """PNG bytes of ``trace.panels``; raises ConvscopeError for a topic without a picture."""
    from . import unsupported_files

    rows = trace.panels
    if not rows:
        raise ConvscopeError(unsupported_files(trace.topic, png=True))
    ncols = max(len(r) for r in rows)
    title_lines = max(p.title.count("\n") for row in rows for p in row)
    fig = new_figure(2.3 * ncols + 0.4, (2.5 + 0.2 * title_lines) * len(rows) + 0.8, dpi)
    for r, row in enumerate(rows):
        for c, panel in enumerate(row):
            ax = fig.add_subplot(len(rows), ncols, r * ncols + c + 1)
            draw_panel(ax, panel)
    fig.suptitle(f"{trace.topic}: {trace.title}", fontsize=10)
    kinds = [k for k in STYLES if any(_marks(p).get(k) for row in rows for p in row)]
    if kinds:
        fig.text(0.5, 0.01, "   ".join(f"{_symbol(k)} {STYLES[k][3]}" for k in kinds),
                 ha="center", va="bottom", fontsize=8, color="#444444")  # fmt: skip
    fig.tight_layout(rect=(0, 0.04 if kinds else 0, 1, 1), w_pad=1.6)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _symbol(kind):
    return {"muted": "grey", "dropped": "grey", "inserted": "purple", "unreached": "hatched",
            "kept": "green box", "tie": "dashed box", "focus": "orange box"}[kind] + ":"  # fmt: skip


def _marks(panel):
    return {"focus": panel.focus, "muted": panel.muted, **panel.marks}


def draw_panel(ax, panel):
    """One panel: a picture (kind="image") or a number grid with its marks."""
    values = np.asarray(panel.values, dtype=np.float64)
    ax.set_title(panel.title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    if panel.after:
        ax.text(1.1, 0.5, panel.after, ha="center", va="center", fontsize=18,
                transform=ax.transAxes)  # fmt: skip
    if panel.kind == "image":
        top = panel.scale[1] if panel.scale else 255.0
        shown = np.clip(values / top, 0, 1)
        ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=1)
        return None
    grid = values if values.ndim == 2 else values.reshape(1, -1)
    if panel.scale:
        image = ax.imshow(grid, cmap=panel.tint or "gray", vmin=panel.scale[0],
                          vmax=panel.scale[1], interpolation="nearest")  # fmt: skip
        bar = ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
        bar.ax.tick_params(labelsize=7)
    else:
        image = ax.imshow(grid, cmap="coolwarm", norm=symmetric_norm(grid), alpha=0.55,
                          interpolation="nearest")  # fmt: skip
    marks = _marks(panel)
    if max(grid.shape) <= PATCH_MAX:
        for kind, cells in marks.items():
            for i, j in cells:
                ax.add_patch(_mark_patch(i, j, kind))
    else:
        _overlay(ax, grid.shape, marks)
    if len(panel.boxes) <= BOXES_MAX:
        for top, left, height, width in panel.boxes:
            ax.add_patch(_box_patch(top, left, height, width))
    ax.set_xlim(-0.5, grid.shape[1] - 0.5)
    ax.set_ylim(grid.shape[0] - 0.5, -0.5)
    if max(grid.shape) <= NUMBERS_MAX:
        write_numbers(ax, grid, dark=bool(panel.scale))
    return image


def _overlay(ax, shape, marks):
    """Every mark of a large grid as one RGBA image over it (outlines become fills)."""
    from matplotlib.colors import to_rgba

    rgba = np.zeros((*shape, 4))
    for kind in STYLES:  # later kinds (focus last) drawn over earlier ones
        cells = np.asarray(list(marks.get(kind, ())), dtype=int).reshape(-1, 2)
        if len(cells):
            fill, edge, _, _ = STYLES[kind]
            rgba[cells[:, 0], cells[:, 1]] = to_rgba(fill or edge, 0.6)
    ax.imshow(rgba, interpolation="nearest")


def symmetric_norm(grid):
    """Colour scale centred on 0, so positive reads red and negative blue."""
    from matplotlib.colors import Normalize

    finite = grid[np.isfinite(grid)]
    top = float(np.max(np.abs(finite), initial=0.0)) or 1.0
    return Normalize(vmin=-top, vmax=top)


def write_numbers(ax, grid, dark=False):
    from .grid import decimals, fmt

    d = decimals(grid)
    size = 9 if max(grid.shape) <= 6 else 7 if max(grid.shape) <= 10 else 5
    for (i, j), v in np.ndenumerate(grid):
        ax.text(j, i, fmt(v, d), ha="center", va="center", fontsize=size,
                color="#808080" if dark else "black")  # fmt: skip


def _box_patch(top, left, height, width):
    """A window's outline (pooling): a thin dark frame around height x width cells."""
    from matplotlib.patches import Rectangle

    return Rectangle((left - 0.5, top - 0.5), width, height, fill=False, edgecolor=BOX_COLOUR,
                     linewidth=1.8)  # fmt: skip


def _mark_patch(i, j, kind):
    from matplotlib.patches import Rectangle

    fill, edge, hatch, _ = STYLES[kind]
    if fill:
        return Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=fill, alpha=0.45, edgecolor="none")
    inset = 0.08 if kind == "kept" else 0.0
    return Rectangle((j - 0.5 + inset, i - 0.5 + inset), 1 - 2 * inset, 1 - 2 * inset,
                     fill=False, edgecolor=edge, linewidth=1.2 if hatch else 2.5, hatch=hatch,
                     linestyle="--" if kind == "tie" else "-")  # fmt: skip


def _cell_patch(i, j, colour, fill):
    """A filled (muted) or outlined (focus) cell, for the animation's static and moving marks."""
    from matplotlib.patches import Rectangle

    if fill:
        return Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=colour, alpha=0.45, edgecolor="none")
    return Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=colour, linewidth=2.5)
