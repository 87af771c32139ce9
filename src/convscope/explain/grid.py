"""Aligned text grids of numbers, readable with negatives and decimals.

Row and column indices (0-based) frame each grid. A cell can be marked *focus* (the window
being computed) or *muted* (padding zeros, dropped samples). On a terminal the marks are ANSI
colours; in plain text (pipes, logs, files) focus cells read ``[ 3]`` and muted cells ``( 0)``.
"""

import numpy as np

_ANSI = {"focus": "\033[1;30;43m", "muted": "\033[2;36m"}
_RESET = "\033[0m"
_PLAIN = {"focus": "[]", "muted": "()", None: "  "}


def decimals(values):
    """Fewest decimals (0..4) that show every value exactly, one count for the whole grid."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    arr = arr[np.isfinite(arr)]
    for d in range(5):
        if np.all(np.abs(np.round(arr, d) - arr) <= 1e-9 * np.maximum(1.0, np.abs(arr))):
            return d
    return 4


def fmt(value, digits=None):
    """One number: integers without a point, others with ``digits`` decimals (default: up to 6 significant)."""
    v = float(value)
    if not np.isfinite(v):
        return str(v)
    if digits is None:
        return str(int(round(v))) if v == round(v) and abs(v) < 1e15 else f"{v:.6g}"
    text = f"{v:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"


def term(value):
    """A number as a summand: negatives in parentheses, so '3 + (-2)' reads unambiguously."""
    text = fmt(value)
    return f"({text})" if text.startswith("-") else text


def format_grid(a, name=None, focus=(), muted=(), color=False):
    """Lines showing a 2-D array (a 3-D one as one block per channel) with index rows and columns.

    ``focus``/``muted``: iterables of (row, col) cells (for 3-D: of (channel, row, col)).
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 3:
        lines = []
        for c in range(a.shape[0]):
            sub_focus = {(i, j) for k, i, j in focus if k == c}
            sub_muted = {(i, j) for k, i, j in muted if k == c}
            label = _index(name, c) if name else f"channel {c}"
            lines += format_grid(a[c], label, sub_focus, sub_muted, color)
        return lines
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2:
        raise ValueError(f"format_grid: expected 1-3 dimensions, got shape {a.shape}")
    d = decimals(a)
    cells = [[fmt(v, d) for v in row] for row in a]
    width = max([len(s) for row in cells for s in row] + [len(str(a.shape[1] - 1))])
    focus, muted = set(map(tuple, focus)), set(map(tuple, muted))
    rw = len(str(a.shape[0] - 1))
    header = " " * (rw + 1) + "".join(f" {j:>{width}} " for j in range(a.shape[1]))
    lines = [f"{name} ({a.shape[0]}x{a.shape[1]})"] if name else []
    lines.append(header.rstrip())
    for i, row in enumerate(cells):
        parts = []
        for j, text in enumerate(row):
            mark = "focus" if (i, j) in focus else "muted" if (i, j) in muted else None
            parts.append(_cell(text.rjust(width), mark, color))
        lines.append(f"{i:>{rw}} " + "".join(parts).rstrip())
    return lines


def _index(name, c):
    """'W' -> 'W[c]'; 'W[0]' -> 'W[0,c]' (one bracket, as everywhere else)."""
    return f"{name[:-1]},{c}]" if name.endswith("]") else f"{name}[{c}]"


def _cell(text, mark, color):
    if color and mark:
        return f"{_ANSI[mark]} {text} {_RESET}"
    left, right = _PLAIN[mark]
    return f"{left}{text}{right}"


def window_cells(rows, cols, channels=None):
    """The (row, col) cells of a window given as two slices (ops.geometry's Windows.window);
    with ``channels``, (c, row, col) for each c."""
    cells = [(r, q) for r in range(rows.start, rows.stop, rows.step or 1)
             for q in range(cols.start, cols.stop, cols.step or 1)]  # fmt: skip
    if channels is None:
        return cells
    return [(c, i, j) for c in range(channels) for i, j in cells]


def legend(color):
    """One line telling the reader what the marks mean."""
    if color:
        return f"marks: {_ANSI['focus']} window {_RESET}  {_ANSI['muted']} zero padding / dropped {_RESET}"
    return "marks: [v] = the window being computed, (v) = zero padding or a dropped sample"
