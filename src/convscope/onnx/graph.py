"""GraphModule: an ONNX graph run by convscope modules, one (or two) per node, in the graph's order.

    model = convscope.onnx.load("lenet.onnx")
    model                      # GraphModule( (conv1): Conv2d(1, 6, ...) (relu): ReLU() ... )
    model(x)                   # forward: each step reads its inputs by name and writes its outputs
    model.state_dict()         # PyTorch's keys when the exporter named the weights (conv1.weight)

Layers are registered under the module path the exporting framework recorded (torch.onnx's
``pkg.torch.onnx.name_scopes``, a '/enc/enc.0/Conv' node name, else the prefix of the layer's
weight names: 'enc.0.weight' -> enc.0), nested in ModuleDicts (``features.0`` -> ``model.features["0"]``); nodes without one are named after their
op type (``relu``, ``relu_1``). Registration order is execution order, so walking the leaves
in order runs a chain-shaped graph; when nesting would break that order, the names are flat.
"""

import re

import numpy as np

from ..autograd import Tensor
from ..errors import ShapeError
from ..nn import Module, ModuleDict

PARAM_SUFFIXES = ("weight", "bias", "running_mean", "running_var")


class GraphModule(Module):
    """Runs ``steps`` [(path, module, input names, output names)] in order on the graph inputs.

    forward(*inputs) takes the graph's inputs in order (Tensors or arrays; float arrays become
    Tensors) and returns its output, or a tuple of outputs. ``input_shape`` is (C, H, W) for an
    image model (None otherwise); ``graph_inputs``/``graph_outputs`` are the ONNX value names.
    """

    def __init__(self, steps, inputs, outputs, constants=None):
        super().__init__()
        for path, module, _, _ in steps:
            _place(self, path, module)
        self._graph_steps = [(path, tuple(i), tuple(o)) for path, _, i, o in steps]
        self.graph_inputs, self.graph_outputs = tuple(inputs), tuple(outputs)
        self._graph_constants = dict(constants or {})
        self._graph_free = _frees(self._graph_steps, self.graph_outputs)
        self.input_shape = None

    @property
    def steps(self):
        """[(module path, input value names, output value names)] in execution order."""
        return list(self._graph_steps)

    def get_submodule(self, path):
        """The module at a dotted path, e.g. "features.0" (PyTorch's name for this)."""
        module = self
        for part in path.split("."):
            module = module._modules[part]
        return module

    def forward(self, *inputs):
        if len(inputs) != len(self.graph_inputs):
            raise ShapeError(
                f"GraphModule: the graph takes {len(self.graph_inputs)} input(s)"
                f" ({', '.join(self.graph_inputs)}), got {len(inputs)}"
            )
        env = {name: _value(v) for name, v in self._graph_constants.items()}
        env.update({name: _value(v) for name, v in zip(self.graph_inputs, inputs, strict=True)})
        for (path, ins, outs), free in zip(self._graph_steps, self._graph_free, strict=True):
            result = self.get_submodule(path)(*(env[i] for i in ins))
            env.update({outs[0]: result} if len(outs) == 1 else zip(outs, result, strict=False))
            for name in free:
                env.pop(name, None)
        values = [env[o] for o in self.graph_outputs]
        return values[0] if len(values) == 1 else tuple(values)


def _value(v):
    if isinstance(v, Tensor):
        return v
    arr = np.asarray(v)
    return Tensor(arr) if arr.dtype.kind == "f" else arr


def _frees(steps, outputs):
    """For each step, the values no later step reads (freed as soon as they are used)."""
    last = {}
    for k, (_, ins, _) in enumerate(steps):
        for name in ins:
            last[name] = k
    frees = [[] for _ in steps]
    for name, k in last.items():
        if name not in outputs:
            frees[k].append(name)
    return frees


def _place(root, path, module):
    *scopes, leaf = path.split(".")
    parent = root
    for part in scopes:
        if part not in parent._modules:
            parent.add_module(part, ModuleDict())
        parent = parent._modules[part]
    parent.add_module(leaf, module)


# ---- naming -----------------------------------------------------------------------------------

RESERVED = {"steps", "get_submodule", "graph_inputs", "graph_outputs", "input_shape"} | set(
    dir(Module)
)


def assign_paths(steps):
    """A unique module path per step: the layer's own name where the file gives one."""
    taken, paths = {}, [None] * len(steps)
    # steps holding weights choose first, so a helper Pad does not take its Conv's name
    for k in sorted(range(len(steps)), key=lambda k: not _has_params(steps[k].module)):
        paths[k] = _claim(_hints(steps[k]), steps[k], taken)
    if _leaf_order(paths) != paths:  # nesting would reorder the leaves: flat names keep order
        flat = {}
        for p in paths:
            name, k = p.replace(".", "_"), 0
            while name in flat.values():
                k += 1
                name = f"{p.replace('.', '_')}_{k}"
            flat[p] = name
        paths = [flat[p] for p in paths]
    return paths


def _hints(step):
    """Names the file suggests for a step: the exporter's scope, then its weights' prefix."""
    node, hints = step.node, [step.node.scope]
    for name in node.params:
        prefix, _, suffix = name.rpartition(".")
        if prefix and suffix in PARAM_SUFFIXES and _has_params(step.module):
            hints.append(prefix)
    return [_clean(h) for h in hints if h]


def _claim(hints, step, taken):
    free = [h for h in hints if _free(h, taken)]
    op = _snake(getattr(step.module, "op_type", "") or step.node.op)
    if free:
        name = free[0]
    else:
        stem = hints[0] if hints and hints[0].endswith(op) else "_".join([*hints[:1], op])
        name, k = stem, 0
        while not _free(name, taken):
            k += 1
            name = f"{stem}_{k}"
    taken[name] = "leaf"
    parts = name.split(".")
    for i in range(1, len(parts)):
        taken.setdefault(".".join(parts[:i]), "scope")
    return name


def _free(path, taken):
    if path in taken:
        return False
    parts = path.split(".")
    return all(taken.get(".".join(parts[:i])) != "leaf" for i in range(1, len(parts)))


def _clean(path):
    parts = [re.sub(r"\W", "_", p) or "_" for p in path.split(".")]
    if parts[0] in RESERVED or parts[0].startswith("_"):
        parts[0] = f"m{parts[0]}" if parts[0].startswith("_") else f"{parts[0]}_"
    return ".".join(parts)


def _snake(op):
    return {"SiLU": "silu"}.get(op) or re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", op).lower()


def _leaf_order(paths):
    """The order named_modules() would list these leaves in (nested dicts keep first insertion)."""
    tree = {}
    for p in paths:
        node = tree
        for part in p.split("."):
            node = node.setdefault(part, {})
    out = []

    def walk(node, prefix):
        for key, child in node.items():
            path = f"{prefix}.{key}" if prefix else key
            if child:
                walk(child, path)
            else:
                out.append(path)

    walk(tree, "")
    return out


def _has_params(module):
    return next(iter(module.parameters()), None) is not None
