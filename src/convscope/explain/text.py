"""A Trace as terminal text: header, input grids, every step's formula, result grids, checks.

Long lines are wrapped at ``width`` columns (the terminal's, or 100 when piped): a sum breaks
between its terms, each continuation starting with its ``+`` (or ``=``) under the line's first
``=``; notes and checks break between words. Grids larger than GRID_MAX a side print a
GRID_MAX x GRID_MAX crop with the real row and column indices: centred on the marked window
when there is one, else on the content (the cells that differ from the background).
"""

import textwrap

import numpy as np

from .grid import MARKS, decimals, fmt, format_grid, legend

GRID_MAX = 32  # larger grids print a crop of this size
WIDTH = 100  # columns of the text when it is not printed to a terminal


def render(trace, color=False, width=WIDTH):
    """The whole trace as one string; ``color`` uses ANSI marks (only for a terminal);
    lines longer than ``width`` columns are wrapped (None: never)."""
    lines = [f"== {trace.topic}: {trace.title} ==", *_words(trace.notes, width)]
    kinds = _mark_kinds(trace)
    if kinds:
        lines.append(legend(color, kinds))
    lines += _named(trace.inputs, trace.marks, color, width=width)
    section = None
    for step in trace.steps:
        changed = step.section != section
        if changed or step.grids or "\n" in step.formula:
            lines.append("")
        if changed and step.section:
            lines.append(f"-- {step.section} --")
        section = step.section
        lines += [part for line in step.formula.splitlines() for part in wrap_sum(line, width)]
        lines += _named(step.grids, step.marks, color, blank=False, width=width)
    lines += _named(trace.results, trace.marks, color, width=width)
    if trace.checks:
        lines.append("")
        lines += _words([c.line() for c in trace.checks], width)
    return "\n".join(lines) + "\n"


def wrap_sum(line, width=WIDTH):
    """``line`` as lines of at most ``width`` columns, broken before a ' + ' or ' = ' outside
    brackets; continuations start with that '+' or '=' under the line's first '='. A line
    without such a break (prose), or a term longer than the width, breaks between words."""
    head = line.find(" = ")
    if width is None or len(line) <= width:
        return [line]
    if head < 0:
        return _by_words(line, width, " " * (len(line) - len(line.lstrip()) + 2))
    indent = " " * (head + 1)
    tokens = _tokens(line[head + 3 :])
    out, current = [], line[: head + 3] + tokens[0]
    for token in tokens[1:]:
        if len(current) + 1 + len(token) > width:
            out.append(current)
            current = indent + token
        else:
            current += " " + token
    out.append(current)
    return [part for piece in out for part in _by_words(piece, width, indent + "  ")]


def _by_words(line, width, indent):
    if len(line) <= width:
        return [line]
    return textwrap.wrap(line, width, subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False, drop_whitespace=True) or [line]  # fmt: skip


def _tokens(text):
    """'a + b = c' -> ['a', '+ b', '= c'], splitting only outside brackets."""
    tokens, depth, start, k = [], 0, 0, 0
    while k < len(text):
        ch = text[k]
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth == 0 and text[k : k + 3] in (" + ", " = "):
            tokens.append(text[start:k])
            start, k = k + 1, k + 3
            continue
        k += 1
    return [*tokens, text[start:]]


def _words(lines, width):
    if width is None:
        return list(lines)
    return [
        part
        for line in lines
        for part in (textwrap.wrap(line, width, subsequent_indent="    ",
                                   break_long_words=False, break_on_hyphens=False) or [""])
    ]  # fmt: skip


def _mark_kinds(trace):
    marks = [*trace.marks.values(), *(m for s in trace.steps for m in s.marks.values())]
    return tuple(k for k in MARKS if any(m.get(k) for m in marks))


def _named(values, marks, color, blank=True, width=WIDTH):
    lines, scalar_run = [], False
    for name, value in values.items():
        scalar = np.ndim(value) == 0
        if blank and not (scalar and scalar_run):
            lines.append("")
        scalar_run = scalar
        if scalar:
            lines.append(f"{name} = {fmt(value)}")
            continue
        if np.ndim(value) == 1:
            d = decimals(value)
            lines.append(f"{name} = [{', '.join(fmt(v, d) for v in value)}]")
            continue
        arr = np.asarray(value)
        kinds = {k: v for k, v in marks.get(name, {}).items() if k in MARKS}
        origin, why = crop(arr, kinds.get("focus", ()))
        (r0, c0), (h, w) = origin, arr.shape[-2:]
        shown = arr[..., r0 : r0 + GRID_MAX, c0 : c0 + GRID_MAX]
        lines += format_grid(shown, name, color=color, marks=kinds, origin=origin, size=(h, w),
                             width=width)  # fmt: skip
        if why:
            lines.append(f"  ({why}; --json has every number)")
    return lines


def crop(arr, focus=()):
    """((top, left), why) of the GRID_MAX x GRID_MAX crop of ``arr`` (..., H, W) the text
    shows: centred on the ``focus`` cells, else the one that holds the most content (cells
    that differ from the background, the most common value), clipped to the grid."""
    h, w = arr.shape[-2:]
    if max(h, w) <= GRID_MAX:
        return (0, 0), ""
    cells = np.array([c[-2:] for c in focus], dtype=int).reshape(-1, 2)
    if len(cells):
        (top, left), (bottom, right) = cells.min(axis=0), cells.max(axis=0)
        r0 = int(np.clip((top + bottom + 1) // 2 - GRID_MAX // 2, 0, max(0, h - GRID_MAX)))
        c0 = int(np.clip((left + right + 1) // 2 - GRID_MAX // 2, 0, max(0, w - GRID_MAX)))
        return (r0, c0), "centred on the window"
    plane = np.asarray(arr, dtype=np.float64).reshape(-1, h, w)
    values, counts = np.unique(plane[np.isfinite(plane)], return_counts=True)
    background = values[np.argmax(counts)] if values.size else 0.0
    content = np.any(plane != background, axis=0)
    if not content.any():
        return (0, 0), "the top-left corner"
    return _densest(content), f"where the content is (the cells that are not {fmt(background)})"


def _densest(mask):
    """(top, left) of the GRID_MAX x GRID_MAX window (clipped to the grid) holding the most
    True cells, by an integral image; on a tie the one nearest the content's centre."""
    h, w = mask.shape
    bh, bw = min(h, GRID_MAX), min(w, GRID_MAX)
    total = np.zeros((h + 1, w + 1), dtype=np.int64)
    total[1:, 1:] = mask.cumsum(0).cumsum(1)
    counts = total[bh:, bw:] - total[:-bh, bw:] - total[bh:, :-bw] + total[:-bh, :-bw]
    best = np.argwhere(counts == counts.max())
    centre = np.argwhere(mask).mean(axis=0) - (bh / 2, bw / 2)
    r0, c0 = best[np.argmin(np.abs(best - centre).sum(axis=1))]
    return int(r0), int(c0)
