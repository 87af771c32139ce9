"""The chain rule's graph: a layered layout, and its picture (PNG) and backward walk (GIF).

The picture is the recitation's: inputs on the left, one circle per operation, the output on
the right; on every edge the forward value above it (green) and the gradient dL/d(source)
that flows back along it below (red). The GIF steps backward node by node: first the forward
values, then dL/df = 1, then each node hands its upstream gradient times its local gradients
to its inputs. The layout is computed here (a tree layout: leaves in reading order, each
node at the mean height of its inputs, one column per depth); matplotlib draws it, imported
only when a picture is asked for.
"""

import io

import numpy as np

from .grid import fmt

FORWARD_COLOUR = "#1a7f37"
BACKWARD_COLOUR = "#c62828"
NODE_COLOUR = "#fff4d6"
CURRENT_COLOUR = "#f5a623"  # the node handing its gradient back in this frame
CAPTION_POINTS = 11
COLUMN, ROW = 2.8, 1.5  # data units between columns and between rows (1 unit = 1.25 inch)
CHAR, LINE = 0.085, 0.17  # an edge label's character width and line height, in data units


def layout(nodes, edges, output):
    """{node id: (column, row)}: columns by depth (inputs 0, a constant just before the node it
    feeds), rows by a tree layout from ``output``, spread so no two nodes of a column meet."""
    into = {}
    for e in edges:
        into.setdefault(e["to"], []).append(e["from"])
    kind = {n["id"]: n["kind"] for n in nodes}
    rows, cols, slots = {}, {}, iter(range(len(nodes)))

    def place(node):
        if node in rows:
            return
        args = into.get(node, [])
        for a in args:
            place(a)
        if kind[node] == "input" or not args:
            rows[node], cols[node] = float(next(slots)), 0
            return
        rows[node] = float(np.mean([rows[a] for a in args]))
        cols[node] = 1 + max(cols[a] for a in args if kind[a] != "constant") if any(
            kind[a] != "constant" for a in args) else 1  # fmt: skip

    place(output)
    for n in nodes:  # a constant sits one column before the node it feeds
        if n["kind"] == "constant":
            cols[n["id"]] = cols[next(e["to"] for e in edges if e["from"] == n["id"])] - 1
    for col in set(cols.values()):  # push apart nodes of one column closer than one row
        members = sorted((k for k in cols if cols[k] == col), key=rows.get)
        centre = np.mean([rows[k] for k in members])
        for above, below in zip(members, members[1:], strict=False):
            rows[below] = max(rows[below], rows[above] + 1.0)
        shift = centre - np.mean([rows[k] for k in members])  # keep the column's centre
        for k in members:
            rows[k] += shift
    return {k: (cols[k], rows[k]) for k in rows}


def render_png(graph, title, dpi=110):
    """PNG bytes: the whole graph with every forward value and every gradient."""
    scene = _Scene(graph, title, dpi)
    scene.draw(reveal=len(graph["backward"]), caption=None)
    return scene.png()


def render_gif(graph, title, dpi=90, seconds_per_frame=1.6):
    """GIF bytes: the forward values, then one frame per backward step, then the totals."""
    from PIL import Image

    scene = _Scene(graph, title, dpi)
    frames = []
    for k in range(len(graph["backward"]) + 1):
        caption = "forward pass: each node's value from its inputs (above the edges)" if k == 0 \
            else graph["backward"][k - 1]["caption"]  # fmt: skip
        scene.draw(reveal=k, caption=caption)
        frames.append(Image.open(io.BytesIO(scene.png())).convert("RGB"))
    palette = frames[-1].quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    frames = [f.quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    buf = io.BytesIO()
    durations = [int(1000 * seconds_per_frame)] * (len(frames) - 1) + [4000]
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:],
                   duration=durations, loop=0)  # fmt: skip
    return buf.getvalue()


class _Scene:
    """A figure of the graph; ``draw(reveal=k)`` shows the gradients of the first k backward
    steps (0: forward values only)."""

    def __init__(self, graph, title, dpi):
        from .figure import new_figure

        self.graph, self.title = graph, title
        pos = {n["id"]: (n["column"], n["row"]) for n in graph["nodes"]}
        self.pos = {k: (COLUMN * c, -ROW * r) for k, (c, r) in pos.items()}
        xs = [x for x, _ in self.pos.values()]
        ys = [y for _, y in self.pos.values()]
        self.box = (min(xs) - 1.0, max(xs) + 2.6, min(ys) - 1.0, max(ys) + 0.9)
        width = max(6.0, 1.25 * (self.box[1] - self.box[0]))
        lines = max(s["caption"].count("\n") + 1 for s in graph["backward"])
        height = max(3.0, 1.1 * (self.box[3] - self.box[2])) + 0.22 * lines + 0.9
        self.strip = (0.22 * lines + 0.35) / height  # the caption's share of the height
        self.fig = new_figure(width, height, dpi)
        self.dpi = dpi

    def draw(self, reveal, caption):
        fig = self.fig
        fig.clear()
        bottom = self.strip if caption is not None else 0.02
        ax = fig.add_axes((0.0, bottom, 1.0, 0.9 - bottom))
        ax.set_xlim(*self.box[:2])
        ax.set_ylim(*self.box[2:])
        ax.set_aspect("equal")
        ax.axis("off")
        self.taken = [(x - 0.35, y - 0.3, x + 0.35, y + 0.3) for x, y in self.pos.values()]
        shown = {e for step in self.graph["backward"][:reveal] for e in step["edges"]}
        for k, e in enumerate(self.graph["edges"]):
            self._edge(ax, e, k in shown)
        current = self.graph["backward"][reveal - 1]["node"] if reveal > 0 else None
        for n in self.graph["nodes"]:
            self._node(ax, n, reveal, n["id"] == current and caption)
        self._output(ax, reveal > 0)
        fig.text(0.5, 0.96, self.title, ha="center", va="top", fontsize=12)
        legend = "forward value above each edge, gradient dL/d(source) below it"
        fig.text(0.5, 0.915, legend, ha="center", va="top", fontsize=9, color="#555555")
        if caption:
            fig.text(0.5, self.strip - 0.02, caption, ha="center", va="top", fontsize=CAPTION_POINTS,
                     family="monospace")  # fmt: skip

    def _edge(self, ax, e, with_grad):
        (x0, y0), (x1, y1) = self.pos[e["from"]], self.pos[e["to"]]
        rad = {"left": 0.25, "right": -0.25}.get(e["use"], 0.0)
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "-|>", "color": "#444444", "lw": 1.3,
                                "shrinkA": 17, "shrinkB": 19,
                                "connectionstyle": f"arc3,rad={rad}"})  # fmt: skip
        value = fmt(e["value"])
        grad = fmt(e["grad"]) if with_grad and e["grad"] is not None else ""
        mx, my = self._free_spot((x0, y0), (x1, y1), rad, max(len(value), len(fmt(e["grad"] or 0))))
        ax.text(mx, my + 0.05, value, ha="center", va="bottom", fontsize=11,
                color=FORWARD_COLOUR, weight="bold")  # fmt: skip
        if grad:
            ax.text(mx, my - 0.05, grad, ha="center", va="top", fontsize=11,
                    color=BACKWARD_COLOUR, weight="bold")  # fmt: skip

    def _free_spot(self, start, end, rad, chars):
        """Where on the edge its two labels (value above, gradient below) overlap no other
        label and no node: the first free point of t = 0.5, 0.62, 0.38, ... along the curve."""
        (x0, y0), (x1, y1) = start, end
        half = max(chars, 2) * CHAR / 2
        for t in (0.5, 0.62, 0.38, 0.72, 0.28, 0.8, 0.2):
            # matplotlib's arc3 curve: a quadratic Bezier through the chord's normal * rad
            cx, cy = (x0 + x1) / 2 - rad * (y1 - y0), (y0 + y1) / 2 + rad * (x1 - x0)
            x = (1 - t) ** 2 * x0 + 2 * t * (1 - t) * cx + t**2 * x1
            y = (1 - t) ** 2 * y0 + 2 * t * (1 - t) * cy + t**2 * y1
            box = (x - half, y - LINE - 0.05, x + half, y + LINE + 0.05)
            if not any(_overlap(box, other) for other in self.taken):
                break
        self.taken.append(box)
        return x, y

    def _node(self, ax, n, reveal, current):
        x, y = self.pos[n["id"]]
        if n["kind"] == "op":
            fill = CURRENT_COLOUR if current else NODE_COLOUR
            ax.text(x, y, n["label"], ha="center", va="center", weight="bold",
                    fontsize=15 if len(n["label"]) == 1 else 11,
                    bbox={"boxstyle": "circle,pad=0.35", "fc": fill, "ec": "#333333"})  # fmt: skip
            ax.text(x, y + 0.42, n["id"], ha="center", va="bottom", fontsize=10, style="italic")
            return
        ax.text(x - 0.1, y, n["label"], ha="right", va="center", fontsize=13,
                weight="bold" if n["kind"] == "input" else "normal",
                bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "#999999"})  # fmt: skip
        if n["kind"] == "input" and reveal >= len(self.graph["backward"]):
            loss = self.graph["output"]["loss"]
            ax.text(x - 0.1, y - 0.4, f"d{loss}/d{n['id']} = {fmt(n['grad'])}", ha="right",
                    va="top", fontsize=10, color=BACKWARD_COLOUR)  # fmt: skip

    def _output(self, ax, with_grad):
        out = self.graph["output"]
        x, y = self.pos[out["id"]]
        ax.annotate("", xy=(x + 1.9, y), xytext=(x, y),
                    arrowprops={"arrowstyle": "-|>", "color": "#444444", "lw": 1.3,
                                "shrinkA": 19})  # fmt: skip
        ax.text(x + 1.05, y + 0.17, f"{out['id']} = {fmt(out['value'])}", ha="center",
                va="bottom", fontsize=11, color=FORWARD_COLOUR, weight="bold")  # fmt: skip
        if with_grad:
            ax.text(x + 1.05, y - 0.17, f"d{out['loss']}/d{out['id']} = 1", ha="center",
                    va="top", fontsize=11, color=BACKWARD_COLOUR, weight="bold")  # fmt: skip

    def png(self):
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", dpi=self.dpi)
        return buf.getvalue()


def _overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
