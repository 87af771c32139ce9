"""The trace: what an explanation computed, step by step, as plain data.

A Trace is what every topic returns. The text, PNG, GIF and JSON front ends only read it::

    Trace
      topic, title, notes          what is shown and how to read it (index convention, marks)
      inputs   {name: array}       operands shown before the steps (A, W, b, ...)
      steps    [Step]              one per computed quantity: label, formula text, its operands
                                   (numbers, nested lists), result, and the grids text shows
      results  {name: array}       grids shown after the steps; the final one is ``output``
      output                       the final result (an array, or a scalar for the chain rule)
      checks   [Check]             the trace's numbers compared with the engine (ops / autograd)
      marks    {name: {"focus": cells, "muted": cells}}   cells to highlight in named grids
      panels   [[Panel]]           a figure of one step, row by row, for --png
      animation  Animation | None  one frame per output element, for --gif
      graph    dict | None         the chain rule's graph: nodes, edges (forward value and
                                   gradient), the backward walk; drawn by --png and --gif

``to_dict()`` / ``to_json()`` give the same content with arrays as nested lists and the final
result under the key ``"output"``.
"""

import functools
import json
from dataclasses import dataclass, field, fields

import numpy as np

INDEX_NOTE = "indices are 0-based, as in NumPy: A[i,j] is row i, column j"
CONVOLUTION_NOTE = (
    "(*) is what PyTorch and the recitation call convolution — mathematically a"
    " cross-correlation: the kernel is not flipped"
)
HADAMARD_NOTE = (
    "window ⊙ W is the Hadamard (element-wise) product of the window and the kernel;"
    " Z[i,j] is the sum Σ of its products, plus b"
)
CELLS_MAX = 64  # per-cell steps written out; the rest are summed up in one line
TERMS_MAX = 64  # terms written out in one sum


def quiet(topic):
    """Run a topic with NumPy's floating-point errors (inf - inf, 0 * inf, x / 0, overflow)
    recorded instead of warned: nan and inf are numbers a trace shows, and a note of the trace
    names what NumPy flagged, in the engine's calls as in explain's own sums, so nothing is
    hidden. Only floating-point errors are touched (np.errstate, thread-safe): every other
    warning and every exception passes through."""

    @functools.wraps(topic)
    def run(*args, **kwargs):
        flagged = []
        with np.errstate(all="call", under="ignore", call=lambda kind, _: flagged.append(kind)):
            trace = topic(*args, **kwargs)
        if flagged:
            kinds = " and ".join(dict.fromkeys(flagged))
            trace.notes.append(f"NumPy flagged {kinds} while computing: {FLAGGED}")
        return trace

    return run


FLAGGED = "the numbers hold inf or nan, shown as IEEE arithmetic gives them (as the engine does)"


def difference(ours, engine):
    """max |ours - engine| over finite pairs; equal non-finite values (nan, inf) count as equal,
    unequal ones (nan vs 1, inf vs -inf) as an infinite difference."""
    ours = np.asarray(ours, dtype=np.float64)
    engine = np.asarray(engine, dtype=np.float64)
    if ours.shape != engine.shape:
        return np.inf
    finite = np.isfinite(ours) & np.isfinite(engine)
    same = (ours == engine) | (np.isnan(ours) & np.isnan(engine))
    if np.any(~finite & ~same):
        return np.inf
    return float(np.max(np.abs(ours[finite] - engine[finite]), initial=0.0))


@dataclass
class Step:
    """One computed quantity: ``formula`` (text, may span lines) evaluates to ``result``."""

    label: str
    formula: str
    result: object
    operands: dict = field(default_factory=dict)  # the numbers the formula combines
    grids: dict = field(default_factory=dict)  # grids the text shows with this step
    marks: dict = field(default_factory=dict)  # grid name -> {"focus": cells, "muted": cells}
    cell: tuple | None = None  # the output index this step writes
    section: str = ""  # a heading printed when it changes (e.g. "forward pass")


@dataclass
class Check:
    """The trace's numbers against the engine: ``max |trace - engine|`` within ``tolerance``."""

    what: str
    max_abs_error: float
    tolerance: float = 1e-9

    @property
    def ok(self):
        return bool(self.max_abs_error <= self.tolerance)

    def line(self):
        verdict = "ok" if self.ok else "MISMATCH"
        return f"check: {self.what}: max |difference| = {self.max_abs_error:.3g} ({verdict})"


@dataclass
class Panel:
    """One picture in a figure: a 2-D grid with highlighted (focus) and muted cells,
    or (kind="image") an (H, W) / (H, W, 3) picture with intensities 0..255.
    ``boxes``: (top, left, height, width) rectangles outlined on the grid (pooling windows);
    ``marks``: {kind: cells} for the other kinds (kept, dropped, inserted, unreached, tie);
    ``after``: a symbol drawn between this panel and the next (⊙, =); ``scale`` (low, high):
    a fixed colour scale with a colour bar instead of one centred at 0, in the colour map
    ``tint`` (an image's channels: "Reds", "Greens", "Blues", "gray")."""

    title: str
    values: np.ndarray
    focus: list = field(default_factory=list)
    muted: list = field(default_factory=list)
    kind: str = "grid"
    boxes: list = field(default_factory=list)
    marks: dict = field(default_factory=dict)
    after: str = ""
    scale: tuple | None = None
    tint: str = ""


@dataclass
class Animation:
    """A window sliding over ``source`` (C, H, W), one frame per output element, row-major.

    Frame k places the window at (i*stride, j*stride) for output cell (i, j) = divmod(k, OW)
    and fills ``output[:, i, j]`` (Co, OH, OW); ``kernel`` (C, KH, KW), or (F, C, KH, KW) for F
    filters (then frame k is filter f, cell (i, j) = unravel(k, (F, OH, OW)) and fills
    ``output[f, i, j]``), or None (pooling); ``window`` (KH, KW) and ``dilation`` give the
    cells the window covers. Each frame's caption writes the cell out: ``op="sum"`` as the sum
    of products (+ ``bias``, one per filter, unless None), "max"/"mean"/"min" as that
    reduction of the window.

    ``downsample`` S > 1 (stride): ``output`` is the stride-1 output; the cells off its
    [::S, ::S] grid are dropped (their frames greyed), the kept ones fill a stride-S panel.
    ``computed`` (OH, OW): only these top-left cells of ``output`` have a window; the rest is
    reached by no window (0, greyed from the start). ``slide``: also draw the cell as the
    slides do, window ⊙ W = products, Σ + b (one channel). ``then``: an animation that
    follows this one in the same GIF (backward: dL/dW after dL/dX).
    """

    source: np.ndarray
    kernel: np.ndarray | None
    output: np.ndarray
    window: tuple
    stride: int = 1
    dilation: int = 1
    muted: list = field(default_factory=list)  # (row, col) cells of source that are padding
    names: tuple = ("A", "W", "Z")
    caption: str = ""
    bias: object = None  # a number, one per filter, or None
    op: str = "sum"
    downsample: int = 1
    computed: tuple | None = None
    slide: bool = False
    then: "Animation | None" = None

    @property
    def filters(self):
        """How many filters the frames run through (1 unless ``kernel`` is 4-D)."""
        return self.kernel.shape[0] if self.kernel is not None and self.kernel.ndim == 4 else 1

    @property
    def cells(self):
        """(OH, OW) of the cells a window computes."""
        return tuple(self.computed or self.output.shape[1:])

    @property
    def frames(self):
        own = self.filters * int(np.prod(self.cells))
        return own + (self.then.frames if self.then is not None else 0)


@dataclass
class Trace:
    topic: str
    title: str
    notes: list = field(default_factory=list)
    inputs: dict = field(default_factory=dict)
    steps: list = field(default_factory=list)
    results: dict = field(default_factory=dict)
    output: object = None
    checks: list = field(default_factory=list)
    marks: dict = field(default_factory=dict)
    panels: list = field(default_factory=list)
    animation: Animation | None = None
    graph: dict | None = None

    @property
    def ok(self):
        """True when every check against the engine passed."""
        return all(c.ok for c in self.checks)

    def to_dict(self):
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    def to_json(self, indent=1):
        return json.dumps(self.to_dict(), indent=indent)


def _plain(value):
    """Arrays -> nested lists, dataclasses -> dicts, tuples -> lists, NumPy scalars -> Python."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "__dataclass_fields__"):
        out = {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
        if isinstance(value, Check):
            out["ok"] = value.ok
        return out
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value
