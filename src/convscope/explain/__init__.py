"""Explanations: each concept of a CNN, forward and backward, on real numbers.

Every topic returns a :class:`Trace` (steps with formulas and results, the final ``output``,
and checks of its numbers against the engine's ops and autograd)::

    import convscope.explain as ex
    t = ex.conv("0 2 -3; -2 -2 -2; 1 0 1", "1 0; 0 -1", bias=1)
    print(ex.render_text(t)); t.to_json(); ex.render_png(t); ex.render_gif(t)

Topics: image, conv, shape, stride, padding, channels, pool, chain, backward.
Indices are 0-based everywhere, as in NumPy.
"""

from .chain_rule import chain
from .conv_backward import backward
from .correlation import conv
from .intensity import image
from .multichannel import channels
from .output_size import shape
from .pooling import pool
from .stride_padding import padding, stride
from .text import render as render_text
from .topics import REGISTRY, unsupported_files
from .trace import Animation, Check, Panel, Step, Trace

TOPICS = tuple(REGISTRY)
PNG_TOPICS = tuple(name for name, t in REGISTRY.items() if t.png)
GIF_TOPICS = tuple(name for name, t in REGISTRY.items() if t.gif)


def render_png(trace, **kwargs):
    """PNG bytes of the trace's figure (matplotlib, imported only here)."""
    if trace.graph:
        from .chain_graph import render_png as graph_png

        return graph_png(trace.graph, f"{trace.topic}: {trace.title}", **kwargs)
    from .figure import render

    return render(trace, **kwargs)


def render_gif(trace, **kwargs):
    """GIF bytes: one frame per output element, or per backward step of the chain rule's
    graph (matplotlib + Pillow, imported only here)."""
    if trace.graph:
        from .chain_graph import render_gif as graph_gif

        return graph_gif(trace.graph, f"{trace.topic}: {trace.title}", **kwargs)
    from .animation import render

    return render(trace, **kwargs)


__all__ = [
    "TOPICS",
    "PNG_TOPICS",
    "GIF_TOPICS",
    "unsupported_files",
    "Trace",
    "Step",
    "Check",
    "Panel",
    "Animation",
    "render_text",
    "render_png",
    "render_gif",
    "image",
    "conv",
    "shape",
    "stride",
    "padding",
    "channels",
    "pool",
    "chain",
    "backward",
]
