"""Pictures of filters, feature maps and attributions as PNG bytes (matplotlib Agg, no pyplot;
imported only when a figure is drawn). Weights and attributions use a diverging colour map
centred at zero (red positive, blue negative) with a colour bar; non-negative maps a sequential one.
"""

import io

import numpy as np

DIVERGING, SEQUENTIAL, GRAY = "RdBu_r", "viridis", "gray"
MAX_CHANNELS = 16  # feature-map rows show at most this many channels


def new_figure(width, height, dpi=100):
    """A matplotlib Figure on an Agg canvas (no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png(fig, dpi=100):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def colour_scale(values, centred=False):
    """(colour map, Normalize): diverging and symmetric about 0 when ``centred`` or when any
    value is negative (weights, attributions, conv outputs), else sequential from 0 to the max."""
    from matplotlib.colors import Normalize

    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    top = float(np.max(np.abs(finite), initial=0.0)) or 1.0
    if centred or (finite.size and finite.min() < 0):
        return DIVERGING, Normalize(-top, top)
    return SEQUENTIAL, Normalize(0.0, top)


def _bare(ax):
    ax.set_xticks([])
    ax.set_yticks([])


def _as_picture(image):
    """(H, W) grey or (H, W, 3) colour, 0..1, from (C, H, W) or (H, W) pixels 0..255 or 0..1."""
    img = np.asarray(image, dtype=np.float64)
    if img.ndim == 3:
        img = img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1)
    top = 255.0 if img.max(initial=0) > 1.0 else 1.0
    return np.clip(img / top, 0, 1)


def _as_map(values):
    """An attribution (C, H, W) or (H, W) as one (H, W) map: channels summed."""
    a = np.asarray(values, dtype=np.float64)
    return a.sum(axis=0) if a.ndim == 3 else a


def filters_figure(weights, layer="conv"):
    """Every kernel of a conv layer's weight (F, C, kH, kW): one row per filter, one column per
    input channel (a single row when C = 1), on one scale centred at zero."""
    w = np.asarray(weights, dtype=np.float64)
    f, c = w.shape[:2]
    rows, cols = (1, f) if c == 1 else (f, c)
    fig = new_figure(0.9 * cols + 1.6, 0.9 * rows + 0.9)
    cmap, norm = colour_scale(w, centred=True)
    grid = fig.add_gridspec(rows, cols + 1, width_ratios=[1] * cols + [0.25])
    image = None
    for i in range(f):
        for j in range(c):
            r, col = (0, i) if c == 1 else (i, j)
            ax = fig.add_subplot(grid[r, col])
            image = ax.imshow(w[i, j], cmap=cmap, norm=norm)
            _bare(ax)
            if r == 0 or c == 1:
                ax.set_title(f"f{i}" if c == 1 else f"c{j}", fontsize=8)
            if col == 0 and c > 1:
                ax.set_ylabel(f"f{i}", fontsize=8, rotation=0, labelpad=12)
    fig.colorbar(image, cax=fig.add_subplot(grid[:, cols]))
    fig.suptitle(f"{layer} weights {w.shape}: filter f, input channel c", fontsize=10)
    return png(fig)


def maps_figure(maps, title="feature maps"):
    """One row per layer of ``{name: output of one image}``: (C, H, W) maps channel by channel
    (at most MAX_CHANNELS), a (features,) vector as one strip; each row on its own scale."""
    rows = list(maps.items())
    cols = min(MAX_CHANNELS, max((m.shape[0] if m.ndim == 3 else 1) for _, m in rows))
    fig = new_figure(0.95 * cols + 2.2, 1.05 * len(rows) + 0.7)
    grid = fig.add_gridspec(len(rows), cols + 1, width_ratios=[1] * cols + [0.2])
    for r, (name, m) in enumerate(rows):
        m = np.asarray(m, dtype=np.float64)
        cmap, norm = colour_scale(m)
        planes = m[:cols] if m.ndim == 3 else [m.reshape(1, -1)]
        for j, plane in enumerate(planes):
            span = grid[r, j] if m.ndim == 3 else grid[r, :cols]
            ax = fig.add_subplot(span)
            image = ax.imshow(
                plane, cmap=cmap, norm=norm, aspect="equal" if m.ndim == 3 else "auto"
            )
            _bare(ax)
            if j == 0:
                shown = f"{cols} of {m.shape[0]}" if m.ndim == 3 and m.shape[0] > cols else ""
                ax.set_ylabel(f"{name}\n{m.shape}\n{shown}".rstrip(), fontsize=7, rotation=0,
                              ha="right", va="center")  # fmt: skip
            if r == 0 and m.ndim == 3:
                ax.set_title(f"ch {j}", fontsize=7)
        fig.colorbar(image, cax=fig.add_subplot(grid[r, cols]))
    fig.suptitle(title, fontsize=10)
    return png(fig)


def attribution_figure(image, attribution, title, cam=None):
    """The picture, the attribution (diverging, centred at zero, colour bar) and the attribution
    overlaid on the picture; ``cam`` (h, w), if given, is shown at its own resolution instead."""
    pic = _as_picture(image)
    attr = _as_map(attribution)
    middle = _as_map(cam) if cam is not None else attr
    cmap, norm = colour_scale(np.concatenate([attr.ravel(), middle.ravel()]), centred=True)
    fig = new_figure(9.6, 3.6)
    axes = [fig.add_subplot(1, 3, k + 1) for k in range(3)]
    axes[0].imshow(pic, cmap=GRAY, vmin=0, vmax=1)
    axes[0].set_title("input", fontsize=9)
    shown = axes[1].imshow(middle, cmap=cmap, norm=norm)
    axes[1].set_title(f"attribution {middle.shape[0]}x{middle.shape[1]}", fontsize=9)
    axes[2].imshow(pic, cmap=GRAY, vmin=0, vmax=1)
    axes[2].imshow(_overlay(attr, cmap, norm))
    axes[2].set_title("overlaid on the input", fontsize=9)
    for ax in axes:
        _bare(ax)
    fig.colorbar(shown, ax=axes, fraction=0.03, pad=0.02)
    fig.suptitle(title, fontsize=10)
    return png(fig)


def _overlay(attr, cmap, norm):
    """RGBA colours of attr whose opacity grows with |attr| (zero stays transparent)."""
    from matplotlib import colormaps

    rgba = colormaps[cmap](norm(attr))
    top = max(abs(norm.vmin), abs(norm.vmax)) or 1.0
    rgba[..., 3] = np.clip(np.abs(attr) / top, 0, 1) * 0.85
    return rgba
