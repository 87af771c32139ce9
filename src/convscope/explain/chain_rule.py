"""The chain rule on a small scalar graph: forward values, local gradients per edge, then df/d(input).

    df/dx = sum over the paths from x to f of the product of the local gradients on the path

The expression (``+ - * /``, ``**`` with a constant exponent, unary minus, names, numbers) is
evaluated with the engine's own forward/backward pairs (``ops.arith``), and the gradients are
checked against autograd (``convscope.tensor(..., requires_grad=True)``, ``.backward()``).
"""

import ast

import numpy as np

from ..autograd import tensor
from ..errors import ConvscopeError
from ..ops import arith
from .grid import fmt
from .trace import Check, Step, Trace, difference, quiet

DEFAULT_EXPR = "(x + y) * z"
DEFAULT_VALUES = {"x": -2.0, "y": 5.0, "z": -4.0}
_OPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
_SIGN = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}
_LOCAL = {  # symbolic local gradient of the node with respect to each operand
    "add": lambda a, b: ("1", "1"),
    "sub": lambda a, b: ("1", "-1"),
    "mul": lambda a, b: (b, a),
    "div": lambda a, b: (f"1/{b}", f"-{a}/{b}**2"),
    "pow": lambda a, b: (f"{b}*{a}**({b}-1)",),
    "neg": lambda a: ("-1",),
}


class _Node:
    def __init__(self, name, op, args, value, cache):
        self.name, self.op, self.args, self.value, self.cache = name, op, args, value, cache


@quiet
def chain(expr=DEFAULT_EXPR, values=None):
    """Trace of f = ``expr`` at ``values`` (default: f = (x + y) * z at x=-2, y=5, z=-4)."""
    values = dict(DEFAULT_VALUES if values is None else values)
    tree = _parse(expr)
    graph = _Graph(values)
    out = graph.build(tree.body, final=True)
    steps = [
        Step(f"forward {n.name}", _forward_text(n, graph), n.value,
             operands={_label(a): graph.value(a) for a in n.args}, section="forward pass")
        for n in graph.nodes
    ]  # fmt: skip
    steps += [
        Step(f"local d{n.name}", _local_text(n, graph), _locals(n),
             operands={_label(a): graph.value(a) for a in n.args}, section="local gradients")
        for n in graph.nodes
    ]  # fmt: skip
    grads = _backward(graph, out, steps)
    output = {out.name: float(out.value)}
    output.update({f"d{out.name}/d{v}": grads[v] for v in graph.used})
    checks = [_autograd_check(tree.body, values, graph.used, grads)]
    notes = [
        f"{out.name} = {expr} at " + ", ".join(f"{k}={fmt(values[k])}" for k in graph.used),
        "forward: each node's value from its inputs",
        "local: the gradient of each node with respect to each of its inputs (one per edge)",
        "backward: upstream gradient * local gradient, summed over a variable's uses",
    ]
    return Trace(
        topic="chain",
        title=f"the chain rule on {out.name} = {expr}",
        notes=notes,
        inputs={v: values[v] for v in graph.used},
        steps=steps,
        results=dict(output),
        output=output,
        checks=checks,
    )


def parse_values(text):
    """'x=-2, y=5, z=-4' -> {'x': -2.0, 'y': 5.0, 'z': -4.0}."""
    out = {}
    for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
        name, sep, val = part.partition("=")
        try:
            if not sep or not name.strip().isidentifier():
                raise ValueError
            out[name.strip()] = float(val)
        except ValueError:
            raise ConvscopeError(
                f"chain: cannot read {part!r} in --values; write name=number pairs, e.g. 'x=-2, y=5, z=-4'"
            ) from None
    return out


def _parse(expr):
    try:
        return ast.parse(expr, mode="eval")
    except SyntaxError:
        raise ConvscopeError(
            f"chain: cannot parse {expr!r}; write an expression such as '(x + y) * z'"
        ) from None


class _Graph:
    """Evaluates the expression bottom-up, one engine forward per operator node."""

    def __init__(self, values):
        self.values, self.nodes, self.used = values, [], []
        self._names = (n for n in "qrstuvwabcdeghkmnp" if n not in values)

    def build(self, node, final=False):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return fmt(node.value)
        if isinstance(node, ast.Name):
            if node.id not in self.values:
                raise ConvscopeError(
                    f"chain: no value for {node.id!r}; give it with --values, e.g. '{node.id}=1'"
                )
            if node.id not in self.used:
                self.used.append(node.id)
            return node.id
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            arg = self.build(node.operand)
            if isinstance(node.op, ast.UAdd):
                return arg
            return self._add("neg", (arg,), arith.neg_forward, final)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            op = _OPS[type(node.op)]
            a = self.build(node.left)
            if op == "pow":
                if not isinstance(node.right, ast.Constant):
                    raise ConvscopeError("chain: ** needs a constant exponent, e.g. x**2")
                return self._add(op, (a, fmt(node.right.value)), arith.pow_forward, final)
            b = self.build(node.right)
            return self._add(op, (a, b), getattr(arith, f"{op}_forward"), final)
        raise ConvscopeError(
            f"chain: {ast.unparse(node)!r} is not supported; use + - * / ** (constant exponent),"
            f" names and numbers"
        )

    def value(self, arg):
        if isinstance(arg, _Node):
            return arg.value
        return np.float64(self.values[arg]) if arg in self.values else np.float64(float(arg))

    def _add(self, op, args, forward, final):
        name = "f" if final else next(self._names)
        arrays = [self.value(a) for a in args]
        if op == "pow":
            value, cache = forward(arrays[0], float(args[1]))
        else:
            value, cache = forward(*arrays)
        node = _Node(name, op, args, np.float64(value), cache)
        self.nodes.append(node)
        return node


def _label(arg):
    return arg.name if isinstance(arg, _Node) else arg


def _forward_text(n, graph):
    args = [_label(a) for a in n.args]
    nums = [fmt(graph.value(a)) for a in n.args]
    if n.op == "neg":
        return f"{n.name} = -{args[0]} = -({nums[0]}) = {fmt(n.value)}"
    sign = _SIGN[n.op]
    return (
        f"{n.name} = {args[0]} {sign} {args[1]}"
        f" = {_paren(nums[0])} {sign} {_paren(nums[1])} = {fmt(n.value)}"
    )


def _paren(text):
    return f"({text})" if text.startswith("-") else text


def _locals(n):
    """Local gradients d(node)/d(operand), from the op's own backward with upstream 1."""
    if n.op == "pow":
        return arith.pow_backward(np.float64(1.0), n.cache)
    return getattr(arith, f"{n.op}_backward")(np.float64(1.0), n.cache)


def _local_text(n, graph):
    symbols = _LOCAL[n.op](*[_label(a) for a in n.args])
    parts = []
    for arg, sym, val in zip(n.args, symbols, _locals(n), strict=False):
        if isinstance(arg, _Node) or arg in graph.values:
            value = "" if sym == fmt(val) else f" = {fmt(val)}"
            parts.append(f"d{n.name}/d{_label(arg)} = {sym}{value}")
    return "    ".join(parts) if parts else f"{n.name} depends on constants only"


def _backward(graph, out, steps):
    """Walk the nodes in reverse, multiplying upstream by local gradients; returns df/d(var)."""
    f = out.name
    up = {out.name: 1.0}
    back = "backward pass (chain rule)"
    steps.append(Step(f"backward d{f}/d{f}", f"d{f}/d{f} = 1", 1.0, operands={f: out.value},
                      section=back))  # fmt: skip
    grads = dict.fromkeys(graph.used, 0.0)
    terms = {v: [] for v in graph.used}
    for n in reversed(graph.nodes):
        for arg, local in zip(n.args, _locals(n), strict=False):
            if isinstance(arg, _Node):
                up[arg.name] = float(up[n.name] * local)
                steps.append(
                    Step(
                        f"backward d{f}/d{arg.name}",
                        f"d{f}/d{arg.name} = d{f}/d{n.name} * d{n.name}/d{arg.name}"
                        f" = {_paren(fmt(up[n.name]))} * {_paren(fmt(local))}"
                        f" = {fmt(up[arg.name])}",
                        up[arg.name],
                        operands={"upstream": up[n.name], "local": local},
                        section=back,
                    )
                )
            elif arg in grads:
                grads[arg] += float(up[n.name] * local)
                terms[arg].append((n.name, up[n.name], local))
    for v in graph.used:
        symbolic = " + ".join(f"d{f}/d{q} * d{q}/d{v}" for q, _, _ in terms[v])
        numbers = " + ".join(f"{_paren(fmt(u))} * {_paren(fmt(loc))}" for _, u, loc in terms[v])
        steps.append(
            Step(
                f"backward d{f}/d{v}",
                f"d{f}/d{v} = {symbolic} = {numbers} = {fmt(grads[v])}",
                grads[v],
                operands={
                    "upstream": [u for _, u, _ in terms[v]],
                    "local": [loc for _, _, loc in terms[v]],
                },  # fmt: skip
                section=back,
            )
        )
    return grads


def _autograd_check(body, values, used, grads):
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
        return binary[_OPS[type(node.op)]](ev(node.left), ev(node.right))

    result = ev(body)
    if not used or not getattr(result, "requires_grad", False):
        return Check("f has no variable inputs; nothing to differentiate", 0.0)
    result.backward()
    err = difference([float(leaves[v].grad) for v in used], [grads[v] for v in used])
    return Check("df/d(input) vs the engine's autograd (Tensor.backward)", err)
