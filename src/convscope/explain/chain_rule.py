"""The chain rule on a small scalar graph: forward values, one local gradient per edge, then
the gradient of the output L with respect to every node, upstream x local, summed over uses.

    dL/dx = sum over the edges x -> n of dL/dn * ∂n/∂x      (dL/dn: upstream, ∂n/∂x: local)

The expression (``+ - * /``, ``**`` with a constant exponent, unary minus, names, numbers) is
evaluated with the engine's own forward/backward pairs (``ops.arith``), and the gradients are
checked against autograd (``convscope.tensor(..., requires_grad=True)``, ``.backward()``).
Names never collide: the output and the intermediates get names no input uses. The graph
itself (nodes, edges with their forward value and gradient, the backward order) is
``trace.graph``, which ``--png`` draws and ``--gif`` steps through backward, node by node.
"""

import ast

import numpy as np

from ..autograd import tensor
from .chain_expr import OPS, SIGN, USES, Graph, Node, edges, label, locals_of, parse
from .chain_graph import layout
from .grid import fmt, term
from .trace import Check, Step, Trace, difference, quiet

DEFAULT_EXPR = "(x + y) * z"
DEFAULT_VALUES = {"x": -2.0, "y": 5.0, "z": -4.0}


@quiet
def chain(expr=DEFAULT_EXPR, values=None):
    """Trace of f = ``expr`` at ``values`` (default: f = (x + y) * z at x=-2, y=5, z=-4).

    Output: {f: value, "dL/dx": ..., ...} with L = f, the quantity differentiated."""
    values = dict(DEFAULT_VALUES if values is None else values)
    tree = parse(expr)
    graph = Graph(values)
    out = graph.build(tree.body, final=True)
    if not isinstance(out, Node):  # a bare name or number: f = x
        out = graph.identity(out)
    f, loss = out.name, graph.loss
    steps = [
        Step(f"forward {n.name}", _forward_text(n, graph), n.value,
             operands={label(a): graph.value(a) for a in n.args}, section="forward pass")
        for n in graph.nodes
    ]  # fmt: skip
    steps += [
        Step(f"local ∂{n.name}", _local_text(n, graph), locals_of(n),
             operands={label(a): graph.value(a) for a in n.args},
             section="local gradients: one per edge, ∂node/∂input")
        for n in graph.nodes
    ]  # fmt: skip
    upstream, grads, contributions = _backward(graph, out, steps)
    output = {f: float(out.value)}
    output.update({f"d{loss}/d{v}": grads[v] for v in graph.used})
    notes = [
        f"{f} = {expr} at " + ", ".join(f"{k}={fmt(values[k])}" for k in graph.used),
        "forward: each node's value from its inputs",
        "local: ∂n/∂a, the gradient of node n with respect to its input a (one per edge)",
        f"backward: d{loss}/da = d{loss}/dn * ∂n/∂a (upstream x local), summed over a's uses;"
        f" {loss} = {f}, the output (in a network, {loss} is the loss and d{loss}/d{f} arrives"
        " from above)",
    ]
    return Trace(
        topic="chain",
        title=f"the chain rule on {f} = {expr}",
        notes=notes,
        inputs={v: values[v] for v in graph.used},
        steps=steps,
        results=dict(output),
        output=output,
        checks=[_autograd_check(tree.body, values, graph.used, grads, f, loss)],
        graph=_graph_data(graph, out, upstream, grads, contributions, steps),
    )


def _forward_text(n, graph):
    args = [label(a) for a in n.args]
    nums = [fmt(graph.value(a)) for a in n.args]
    if n.op == "neg":
        return f"{n.name} = -{args[0]} = -({nums[0]}) = {fmt(n.value)}"
    sign = SIGN[n.op]
    return (
        f"{n.name} = {args[0]} {sign} {args[1]}"
        f" = {_paren(nums[0])} {sign} {_paren(nums[1])} = {fmt(n.value)}"
    )


def _paren(text):
    return f"({text})" if text.startswith("-") else text


def _local_text(n, graph):
    parts = []
    uses = edges(n, graph)
    if len(uses) == 2 and uses[0][1]:  # one variable, both operands: a term per use
        v = label(uses[0][0])
        (_, _, s1, v1), (_, _, s2, v2) = uses
        total = f"2{s1}" if s1 == s2 and s1.isidentifier() else f"{s1} + {_paren(s2)}"
        return (
            f"∂{n.name}/∂{v} = ∂{n.name}/∂({v}, left use) + ∂{n.name}/∂({v}, right use)"
            f" = {s1} + {_paren(s2)}" + (f" = {total}" if total != f"{s1} + {_paren(s2)}" else "")
            + f" = {term(v1)} + {term(v2)} = {fmt(v1 + v2)}   ({v} is both operands of {n.name})"
        )  # fmt: skip
    for arg, _, sym, val in uses:
        value = "" if sym == fmt(val) else f" = {fmt(val)}"
        parts.append(f"∂{n.name}/∂{label(arg)} = {sym}{value}")
    return "    ".join(parts) if parts else f"{n.name} depends on constants only"


def _times(upstream, sym, local):
    """'upstream * local', with the symbolic local first when it is not a bare number."""
    numbers = f"{term(upstream)} * {term(local)}"
    return numbers if sym == fmt(local) else f"{term(upstream)} * {_paren(sym)} = {numbers}"


def _backward(graph, out, steps):
    """Walk the nodes in reverse, multiplying upstream by local gradients.

    Returns (upstream {node: dL/dnode}, grads {variable: dL/dvariable}, contributions
    [(source, node, use, dL/dnode * local)] in the order the backward pass meets them)."""
    f, loss = out.name, graph.loss
    up = {f: 1.0}
    back = "backward pass: upstream x local"
    steps.append(Step(f"backward d{loss}/d{f}", f"d{loss}/d{f} = 1   ({loss} = {f})", 1.0,
                      operands={f: out.value}, section=back))  # fmt: skip
    grads = dict.fromkeys(graph.used, 0.0)
    per_node = {v: {} for v in graph.used}  # variable -> {node: its local, summed over uses}
    contributions = []
    for n in reversed(graph.nodes):
        for arg, use, sym, local in edges(n, graph):
            share = float(up[n.name] * local)
            contributions.append((label(arg), n.name, use, share, local))
            if isinstance(arg, Node):
                up[arg.name] = share
                steps.append(
                    Step(
                        f"backward d{loss}/d{arg.name}",
                        f"d{loss}/d{arg.name} = d{loss}/d{n.name} * ∂{n.name}/∂{arg.name}"
                        f" = {_times(up[n.name], sym, local)} = {fmt(share)}",
                        share,
                        operands={"upstream": up[n.name], "local": local},
                        section=back,
                    )
                )
            else:
                grads[arg] += share
                per_node[arg][n.name] = per_node[arg].get(n.name, 0.0) + local
    order = [n.name for n in graph.nodes]
    for v in graph.used:
        uses = {q: per_node[v][q] for q in order if q in per_node[v]}
        symbolic = " + ".join(f"d{loss}/d{q} * ∂{q}/∂{v}" for q in uses)
        numbers = " + ".join(f"{term(up[q])} * {term(loc)}" for q, loc in uses.items())
        steps.append(
            Step(
                f"backward d{loss}/d{v}",
                f"d{loss}/d{v} = {symbolic} = {numbers} = {fmt(grads[v])}",
                grads[v],
                operands={
                    "upstream": [up[q] for q in uses],
                    "local": list(uses.values()),
                },  # fmt: skip
                section=back,
            )
        )
    return up, grads, contributions


def _graph_data(graph, out, upstream, grads, contributions, steps):
    """The graph as plain data: nodes (id, kind, label, value, grad, column, row), edges (from,
    to, use, value, grad = dL/dto * local), and the backward walk, one entry per node."""
    loss, nodes, edge_list, k = graph.loss, [], [], 0
    for v in graph.used:
        uses = sum(1 for src, *_ in contributions if src == v)  # edges out of v
        nodes.append({"id": v, "kind": "input", "label": v, "value": float(graph.value(v)),
                      "grad": grads[v], "uses": uses})  # fmt: skip
    share = {(src, dst, use): (g, local) for src, dst, use, g, local in contributions}
    for n in graph.nodes:
        symbol = f"**{n.args[1]}" if n.op == "pow" else SIGN[n.op]
        nodes.append({"id": n.name, "kind": "op", "label": symbol, "value": float(n.value),
                      "grad": upstream[n.name]})  # fmt: skip
        twice = len(n.args) == 2 and label(n.args[0]) == label(n.args[1])
        for pos, arg in enumerate(n.args[:1] if n.op == "pow" else n.args):
            src = label(arg)
            if not (isinstance(arg, Node) or graph.is_input(arg)):
                src, k = f"constant {k}", k + 1
                nodes.append({"id": src, "kind": "constant", "label": label(arg),
                              "value": float(graph.value(arg)), "grad": None})  # fmt: skip
            use = USES[pos] if twice else ""
            grad, local = share.get((src, n.name, use), (None, None))
            edge_list.append({"from": src, "to": n.name, "use": use, "local": local,
                              "value": float(graph.value(arg)), "grad": grad})  # fmt: skip
    where = layout(nodes, edge_list, out.name)
    for n in nodes:
        n["column"], n["row"] = where[n["id"]]
    walk = [
        {
            "node": out.name,
            "edges": [],
            "caption": f"d{loss}/d{out.name} = 1   ({loss} = {out.name})",
        }
    ]
    for n in reversed(graph.nodes):
        into = [i for i, e in enumerate(edge_list) if e["to"] == n.name and e["grad"] is not None]
        lines = [_edge_caption(edge_list[i], loss, nodes, steps, upstream[n.name]) for i in into]
        walk.append({"node": n.name, "edges": into, "caption": "\n".join(lines)})
    shared = {f"backward d{loss}/d{n['id']}" for n in nodes if n.get("uses", 0) > 1}
    totals = [s.formula for s in steps if s.label in shared]
    summary = "    ".join(f"d{loss}/d{v} = {fmt(grads[v])}" for v in graph.used)
    walk.append({"node": None, "edges": [], "caption": "\n".join([*totals, summary])})
    output = {"id": out.name, "loss": loss, "value": float(out.value)}
    return {"nodes": nodes, "edges": edge_list, "backward": walk, "output": output}


def _edge_caption(edge, loss, nodes, steps, upstream):
    """The backward step along one edge, as the text writes it: a node's (or a variable's
    only) gradient step, or one share of a variable's gradient."""
    src, dst = edge["from"], edge["to"]
    uses = next((n.get("uses", 1) for n in nodes if n["id"] == src), 1)
    if uses == 1:
        return next(s.formula for s in steps if s.label == f"backward d{loss}/d{src}")
    use = f" ({edge['use']} use)" if edge["use"] else ""
    return (f"d{loss}/d{dst} * ∂{dst}/∂{src}{use} = {term(upstream)} * {term(edge['local'])}"
            f" = {fmt(edge['grad'])}   (a share of d{loss}/d{src})")  # fmt: skip


def _autograd_check(body, values, used, grads, f, loss):
    leaves = {v: tensor(np.float64(values[v]), requires_grad=True) for v in used}
    binary = {
        "add": lambda a, b: a + b,
        "sub": lambda a, b: a - b,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
        "pow": lambda a, b: a**b,
    }

    def ev(node):
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return leaves[node.id]
        if isinstance(node, ast.UnaryOp):
            return -ev(node.operand) if isinstance(node.op, ast.USub) else ev(node.operand)
        return binary[OPS[type(node.op)]](ev(node.left), ev(node.right))

    result = ev(body)
    if not used or not getattr(result, "requires_grad", False):
        return Check(f"{f} has no variable inputs; nothing to differentiate", 0.0)
    result.backward()
    err = difference([float(leaves[v].grad) for v in used], [grads[v] for v in used])
    return Check(f"d{loss}/d(input) vs the engine's autograd (Tensor.backward)", err)
