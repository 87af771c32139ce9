"""The expression of ``explain chain`` as a graph of scalar operations, evaluated by the engine.

Each operator is a node with a name no input uses, its value from the engine's forward
(``ops.arith``) and its local gradients ∂node/∂operand from the engine's backward with
upstream 1. Inputs are the named variables (one node each, however often they are used);
numbers are constants (no gradient).
"""

import ast

import numpy as np

from ..errors import ConvscopeError
from ..ops import arith
from .grid import fmt

OPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
SIGN = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "neg": "-"}
LOCAL = {  # symbolic local gradient of the node with respect to each operand
    "add": lambda a, b: ("1", "1"),
    "sub": lambda a, b: ("1", "-1"),
    "mul": lambda a, b: (b, a),
    "div": lambda a, b: (f"1/{b}", f"-{a}/{b}**2"),
    "pow": lambda a, b: (f"{b}*{a}**({b}-1)",),
    "neg": lambda a: ("-1",),
}
OUTPUT_NAMES = ("f", "g", "h", "out", "result")
LOSS_NAMES = ("L", "J", "E", "loss", "objective")
INTERMEDIATE_NAMES = "qrstuvwabcdeghkmnp"
USES = ("left", "right")


class Node:
    def __init__(self, name, op, args, value, cache):
        self.name, self.op, self.args, self.value, self.cache = name, op, args, value, cache


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


def parse(expr):
    try:
        return ast.parse(expr, mode="eval")
    except SyntaxError:
        raise ConvscopeError(
            f"chain: cannot parse {expr!r}; write an expression such as '(x + y) * z'"
        ) from None


def _free(candidates, taken):
    return next(n for n in candidates if n not in taken)


class Graph:
    """Evaluates the expression bottom-up, one engine forward per operator node."""

    def __init__(self, values):
        self.values, self.nodes, self.used = values, [], []
        self.output = _free(OUTPUT_NAMES, values)
        self.loss = _free(LOSS_NAMES, {*values, self.output})
        taken = {*values, self.output, self.loss}
        self._names = (n for n in INTERMEDIATE_NAMES if n not in taken)

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
        if isinstance(node, ast.BinOp) and type(node.op) in OPS:
            op = OPS[type(node.op)]
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

    def identity(self, arg):
        """f = x (an expression without an operator): f = x * 1, one edge."""
        return self._add("mul", (arg, "1"), arith.mul_forward, True)

    def value(self, arg):
        if isinstance(arg, Node):
            return arg.value
        return np.float64(self.values[arg]) if arg in self.values else np.float64(float(arg))

    def is_input(self, arg):
        return not isinstance(arg, Node) and arg in self.values

    def _add(self, op, args, forward, final):
        name = self.output if final else next(self._names)
        arrays = [self.value(a) for a in args]
        if op == "pow":
            value, cache = forward(arrays[0], float(args[1]))
        else:
            value, cache = forward(*arrays)
        node = Node(name, op, args, np.float64(value), cache)
        self.nodes.append(node)
        return node


def label(arg):
    return arg.name if isinstance(arg, Node) else arg


def locals_of(n):
    """Local gradients ∂(node)/∂(operand), from the op's own backward with upstream 1."""
    if n.op == "pow":
        return arith.pow_backward(np.float64(1.0), n.cache)
    return getattr(arith, f"{n.op}_backward")(np.float64(1.0), n.cache)


def edges(n, graph):
    """[(arg, use, symbolic local, local value)] for the inputs of node n that are nodes or
    variables (constants carry no gradient); ``use`` is 'left'/'right' when a variable is
    both operands, else ''."""
    symbols = LOCAL[n.op](*[label(a) for a in n.args])
    labels = [label(a) for a in n.args]
    twice = len(labels) == 2 and labels[0] == labels[1]
    out = []
    for k, (arg, sym, val) in enumerate(zip(n.args, symbols, locals_of(n), strict=False)):
        if isinstance(arg, Node) or graph.is_input(arg):
            out.append((arg, USES[k] if twice else "", sym, float(val)))
    return out
