"""A trace's figure as PNG bytes: its panels row by row (input with the window highlighted,
kernel, products, result). matplotlib (Agg, no pyplot) is imported only here.
"""

import io

import numpy as np

from ..errors import ConvscopeError

NUMBERS_MAX = 16  # grids up to this many rows/columns get their numbers written in
FOCUS_COLOUR = "#f5a623"
MUTED_COLOUR = "#9aa5b1"
BOX_COLOUR = "#2d3748"


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
    fig = new_figure(2.3 * ncols, 2.5 * len(rows) + 0.5, dpi)
    for r, row in enumerate(rows):
        for c, panel in enumerate(row):
            ax = fig.add_subplot(len(rows), ncols, r * ncols + c + 1)
            draw_panel(ax, panel)
    fig.suptitle(f"{trace.topic}: {trace.title}", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def draw_panel(ax, panel):
    """One panel: a picture (kind="image") or a number grid with focus and muted cells."""
    values = np.asarray(panel.values, dtype=np.float64)
    ax.set_title(panel.title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    if panel.kind == "image":
        shown = np.clip(values, 0, 255) / 255.0
        ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=1)
        return
    grid = values if values.ndim == 2 else values.reshape(1, -1)
    image = ax.imshow(grid, cmap="coolwarm", norm=symmetric_norm(grid), alpha=0.55)
    for i, j in panel.muted:
        ax.add_patch(_cell_patch(i, j, MUTED_COLOUR, fill=True))
    for top, left, height, width in panel.boxes:
        ax.add_patch(_box_patch(top, left, height, width))
    for i, j in panel.focus:
        ax.add_patch(_cell_patch(i, j, FOCUS_COLOUR, fill=False))
    ax.set_xlim(-0.5, grid.shape[1] - 0.5)
    ax.set_ylim(grid.shape[0] - 0.5, -0.5)
    if max(grid.shape) <= NUMBERS_MAX:
        write_numbers(ax, grid)
    return image


def symmetric_norm(grid):
    """Colour scale centred on 0, so positive reads red and negative blue."""
    from matplotlib.colors import Normalize

    finite = grid[np.isfinite(grid)]
    top = float(np.max(np.abs(finite), initial=0.0)) or 1.0
    return Normalize(vmin=-top, vmax=top)


def write_numbers(ax, grid):
    from .grid import decimals, fmt

    d = decimals(grid)
    size = 9 if max(grid.shape) <= 6 else 7 if max(grid.shape) <= 10 else 5
    for (i, j), v in np.ndenumerate(grid):
        ax.text(j, i, fmt(v, d), ha="center", va="center", fontsize=size)


def _box_patch(top, left, height, width):
    """A window's outline (pooling): a thin dark frame around height x width cells."""
    from matplotlib.patches import Rectangle

    return Rectangle((left - 0.5, top - 0.5), width, height, fill=False, edgecolor=BOX_COLOUR,
                     linewidth=1.8, linestyle="--")  # fmt: skip


def _cell_patch(i, j, colour, fill):
    from matplotlib.patches import Rectangle

    if fill:
        return Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=colour, alpha=0.45, edgecolor="none")
    return Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=colour, linewidth=2.5)
