"""Node patterns that are one convscope layer, rewritten before conversion.

    Pad(mode=reflect|edge|wrap) -> Conv        Conv with _padding_mode (Conv2d padding_mode=...)
    Neg -> MaxPool -> Neg                      MinPool (MinPool2d: min over each window)
    MatMul(x, W) [-> Add(b)]                   Gemm(x, W, b) (Linear with weight W.T)
    Sigmoid(x) -> Mul(x, .)                    SiLU

A pattern applies only when its inner values feed nothing else, so the graph computes the same.
PyTorch's exporters emit the first (padding_mode), the third (nn.Linear on N-D input) and the
last (nn.SiLU); convscope's exporter emits the second for MinPool2d.
"""

from .nodes import Node


def fuse(nodes, imp):
    consumers = {}
    for node in nodes:
        for name in node.inputs:
            consumers.setdefault(name, []).append(node)

    def sole(name):
        """The one node reading name (None if several, none, or name is a graph output)."""
        users = consumers.get(name, [])
        return users[0] if len(users) == 1 and name not in imp.outputs else None

    dropped, out = set(), []
    for node in nodes:
        if id(node) in dropped:
            continue
        for rule in (_pad_conv, _min_pool, _linear, _silu):
            fused = rule(node, sole, imp)
            if fused is not None:
                node, gone = fused
                dropped.update(id(n) for n in gone)
                break
        out.append(node)
    return [n for n in out if id(n) not in dropped]


def _pad_conv(pad, sole, imp):
    if pad.op != "Pad" or pad.attrs.get("mode", "constant") == "constant":
        return None
    conv = sole(pad.outputs[0])
    if conv is None or conv.op != "Conv" or conv.inputs[0] != pad.outputs[0]:
        return None
    if imp.const_of(conv.inputs[1]) is None or any(conv.attrs.get("pads", [0])):
        return None
    if conv.attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID", ""):
        return None
    pads = imp.const_of(pad.inputs[1]) if len(pad.inputs) > 1 else None
    extra = [n for n in pad.inputs[2:] if n]
    if pads is None or extra:
        return None
    pads = [int(p) for p in pads.reshape(-1)]
    rank = len(pads) // 2
    begin, end = pads[:rank], pads[rank:]
    if begin != end or any(begin[:2]) or rank < 3:
        return None
    attrs = dict(conv.attrs, pads=begin[2:] + end[2:], _padding_mode=pad.attrs["mode"])
    attrs.pop("auto_pad", None)
    fused = Node(
        conv.name,
        "Conv",
        [pad.inputs[0], *conv.inputs[1:]],
        conv.outputs,
        attrs,
        conv.scope or pad.scope,
    )
    return fused, [pad, conv]


def _min_pool(neg, sole, imp):
    if neg.op != "Neg":
        return None
    pool = sole(neg.outputs[0])
    if pool is None or pool.op != "MaxPool" or len([o for o in pool.outputs if o]) != 1:
        return None
    neg2 = sole(pool.outputs[0])
    if neg2 is None or neg2.op != "Neg":
        return None
    fused = Node(pool.name, "MinPool", neg.inputs, neg2.outputs, dict(pool.attrs), pool.scope)
    return fused, [neg, pool, neg2]


def _linear(matmul, sole, imp):
    if matmul.op != "MatMul":
        return None
    weight = imp.const_of(matmul.inputs[1])
    if weight is None or weight.ndim != 2 or imp.const_of(matmul.inputs[0]) is not None:
        return None
    inputs, outputs, gone = [*matmul.inputs], matmul.outputs, [matmul]
    add = sole(matmul.outputs[0])
    if add is not None and add.op == "Add":
        other = [n for n in add.inputs if n != matmul.outputs[0]]
        bias = imp.const_of(other[0]) if len(other) == 1 else None
        if bias is not None and bias.size == weight.shape[1] and bias.shape[-1:] == (bias.size,):
            inputs, outputs, gone = [*inputs, other[0]], add.outputs, [matmul, add]
    return Node(matmul.name, "Gemm", inputs, outputs, {}, matmul.scope), gone


def _silu(sigmoid, sole, imp):
    if sigmoid.op != "Sigmoid":
        return None
    mul = sole(sigmoid.outputs[0])
    if (
        mul is None
        or mul.op != "Mul"
        or sorted(mul.inputs) != sorted([sigmoid.inputs[0], sigmoid.outputs[0]])
    ):
        return None
    return Node(mul.name, "SiLU", sigmoid.inputs, mul.outputs, {}, sigmoid.scope), [sigmoid, mul]
