"""Aligned text grids of numbers, readable with negatives and decimals.

Row and column indices (0-based) frame each grid; a crop of a larger grid keeps the real
indices. A cell can carry one mark, each kind with one meaning (``MARKS``): the window being
computed ``[ 3]``, zero padding ``( 0)``, a cell the stride keeps ``{ 3}`` (the dropped ones
stay unmarked), a zero that dilation inserted ``< 0>``. On a terminal the marks are ANSI
colours; in plain text (pipes, logs, files) they are these brackets.
"""

import numpy as np

MARKS = {  # kind: (plain-text brackets, ANSI style, what the mark means)
    "focus": ("[]", "\033[1;30;43m", "the window being computed"),
    "muted": ("()", "\033[2;36m", "zero padding"),
    "kept": ("{}", "\033[1;30;42m", "kept by the stride"),
    "dropped": ("  ", "\033[2;9m", "dropped by the stride"),
    "inserted": ("<>", "\033[2;35m", "a zero inserted by dilation (the stride undone)"),
}
_RESET = "\033[0m"


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


def format_grid(a, name=None, focus=(), muted=(), color=False, marks=None, origin=(0, 0),
                size=None, width=None):  # fmt: skip
    """Lines showing a 2-D array (a 3-D or 4-D one as one block per channel) with index rows
    and columns; rows longer than ``width`` columns are split into blocks of columns, one
    under the other, each with its column indices (as NumPy prints a wide matrix).

    ``focus``/``muted`` (and ``marks``: {kind: cells} for the other kinds of ``MARKS``):
    iterables of (row, col) cells (for 3-D: of (channel, row, col)). ``a`` may be a crop of a
    larger grid of ``size`` (H, W) whose top-left cell is ``origin``: the indices and the cells
    are the full grid's.
    """
    a = np.asarray(a, dtype=np.float64)
    kinds = {"focus": focus, "muted": muted, **(marks or {})}
    if a.ndim > 2:  # one block per leading index: W[f] -> W[f,c] -> its grid
        lines = []
        for c in range(a.shape[0]):
            sub = {
                k: {tuple(cell[1:]) for cell in cells if cell[0] == c} for k, cells in kinds.items()
            }
            label = _index(name, c) if name else f"channel {c}"
            lines += format_grid(a[c], label, color=color, marks=sub, origin=origin, size=size,
                                 width=width)  # fmt: skip
        return lines
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2:
        raise ValueError(f"format_grid: expected 1-3 dimensions, got shape {a.shape}")
    (r0, c0), (h, w) = origin, size or a.shape
    d = decimals(a)
    cells = [[fmt(v, d) for v in row] for row in a]
    cw = max([len(s) for row in cells for s in row] + [len(str(c0 + a.shape[1] - 1))])
    mark_of = {tuple(cell): kind for kind, cs in kinds.items() for cell in cs}
    rw = len(str(r0 + a.shape[0] - 1))
    shown = f"{h}x{w}" if (h, w) == a.shape else f"{h}x{w}, rows {r0}..{r0 + a.shape[0] - 1}" \
        f" and columns {c0}..{c0 + a.shape[1] - 1} shown"  # fmt: skip
    lines = [f"{name} ({shown})"] if name else []
    block = a.shape[1] if width is None else max(1, (width - rw - 1) // (cw + 2))
    for start in range(0, a.shape[1], block):
        columns = range(start, min(start + block, a.shape[1]))
        if start:
            lines.append("")
        lines.append((" " * (rw + 1) + "".join(f" {c0 + j:>{cw}} " for j in columns)).rstrip())
        for i, row in enumerate(cells):
            parts = [_cell(row[j].rjust(cw), mark_of.get((r0 + i, c0 + j)), color) for j in columns]
            lines.append(f"{r0 + i:>{rw}} " + "".join(parts).rstrip())
    return lines


def _index(name, c):
    """'W' -> 'W[c]'; 'W[0]' -> 'W[0,c]' (one bracket, as everywhere else)."""
    return f"{name[:-1]},{c}]" if name.endswith("]") else f"{name}[{c}]"


def _cell(text, mark, color):
    if color and mark:
        return f"{MARKS[mark][1]} {text} {_RESET}"
    left, right = MARKS[mark][0] if mark else "  "
    return f"{left}{text}{right}"


def window_cells(rows, cols, channels=None):
    """The (row, col) cells of a window given as two slices (ops.geometry's Windows.window);
    with ``channels``, (c, row, col) for each c."""
    cells = [(r, q) for r in range(rows.start, rows.stop, rows.step or 1)
             for q in range(cols.start, cols.stop, cols.step or 1)]  # fmt: skip
    if channels is None:
        return cells
    return [(c, i, j) for c in range(channels) for i, j in cells]


def legend(color, kinds=("focus", "muted")):
    """One line telling the reader what the marks of ``kinds`` mean."""
    parts = []
    for kind in (k for k in MARKS if k in kinds):
        (left, right), style, meaning = MARKS[kind]
        if color:
            parts.append(f"{style} v {_RESET} = {meaning}")
        elif kind == "dropped":  # no brackets: the cells between the {kept} ones
            parts.append(f"the unmarked cells beside {{v}} ones = {meaning}")
        else:
            parts.append(f"{left}v{right} = {meaning}")
    return "marks: " + ", ".join(parts)
