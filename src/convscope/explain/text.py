"""A Trace as terminal text: header, input grids, every step's formula, result grids, checks."""

import numpy as np

from .grid import decimals, fmt, format_grid, legend

GRID_MAX = 32  # larger grids print their top-left corner


def render(trace, color=False):
    """The whole trace as one string; ``color`` uses ANSI marks (only for a terminal)."""
    lines = [f"== {trace.topic}: {trace.title} ==", *trace.notes]
    if _has_marks(trace):
        lines.append(legend(color))
    lines += _named(trace.inputs, trace.marks, color)
    section = None
    for step in trace.steps:
        changed = step.section != section
        if changed or step.grids or "\n" in step.formula:
            lines.append("")
        if changed and step.section:
            lines.append(f"-- {step.section} --")
        section = step.section
        lines += step.formula.splitlines()
        lines += _named(step.grids, step.marks, color, blank=False)
    lines += _named(trace.results, trace.marks, color)
    if trace.checks:
        lines.append("")
        lines += [c.line() for c in trace.checks]
    return "\n".join(lines) + "\n"


def _has_marks(trace):
    return any(m.get("focus") or m.get("muted") for m in trace.marks.values()) or any(
        m.get("focus") or m.get("muted") for s in trace.steps for m in s.marks.values()
    )


def _named(values, marks, color, blank=True):
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
        mark = marks.get(name, {})
        arr = np.asarray(value)
        if max(arr.shape[-2:]) > GRID_MAX:
            h, w = arr.shape[-2:]
            lines.append(
                f"{name}: top-left {GRID_MAX}x{GRID_MAX} of {h}x{w} shown (--json has all)"
            )
            arr = arr[..., :GRID_MAX, :GRID_MAX]
        lines += format_grid(arr, name, mark.get("focus", ()), mark.get("muted", ()), color)
    return lines
