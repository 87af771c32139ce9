"""The model behind ``convscope serve``: every answer of the JSON API, as plain data.

    served = ServedModel(model, facts, checkpoint)
    served.describe()                            layers, shapes, parameter counts, window tables
    served.forward(pixels)                       every layer's output, probabilities, prediction
    served.cell(pixels, layer, at)               one output cell of a conv or pool layer, explained
    served.backward(pixels, target)              dL/dlogits, dL/dO per layer, dW, db, the checks
    served.grad_cell(pixels, target, layer, kind, at)   one gradient cell, term by term
    served.step(pixels, target, lr)              one SGD step on a copy: before and after

``pixels`` is the picture as the model gets it, (C, H, W) integers 0..255; nothing is kept
between requests. The model runs in float64 and in eval mode (BatchNorm uses its running
statistics, Dropout passes everything on).
"""

import copy

import numpy as np

from ..autograd import no_grad
from ..data import MNIST_SHAPE, Normalize, load_digits
from ..explain import network, network_cells, render_text
from ..nn import Conv2d
from ..nn import functional as F
from ..optim import SGD
from .requests import RequestError, integer

POINTWISE = {
    "ReLU",
    "ReLU6",
    "LeakyReLU",
    "ELU",
    "SiLU",
    "Softplus",
    "Sigmoid",
    "Tanh",
    "GELU",
    "BatchNorm2d",
    "Dropout",
    "Dropout2d",
    "Identity",
}
POOLS = set(network_cells.POOL_MODES)
MNIST_NORMALIZE = {"mean": [0.1307], "std": [0.3081]}


class ServedModel:
    """A trained model, its checkpoint facts and the chain of its layers, ready to answer."""

    def __init__(self, model, facts, checkpoint):
        self.model = model.double().eval()
        self.facts, self.checkpoint = facts, str(checkpoint)
        self.chain = network.layers(self.model)
        self.names = [name for name, _ in self.chain]
        self.input_shape = tuple(int(s) for s in (facts.get("input_shape") or model.input_shape))
        network.check_chain(self.model, self.chain, self.input_shape)
        norm = facts.get("normalize") or MNIST_NORMALIZE
        self.normalize = Normalize(norm["mean"], norm["std"])
        self.shapes = [
            a.shape[1:] for a in network.forward(self.chain, np.zeros((1, *self.input_shape)))
        ]
        n_out = int(np.prod(self.shapes[-1]))
        self.classes = [str(c) for c in (facts.get("classes") or range(n_out))]
        self._digits = None  # the held-out split: read now, so that no request reads a file
        if self.input_shape == MNIST_SHAPE:
            test = load_digits()[1]
            self._digits = (test.images, test.labels)

    # ---- the model -----------------------------------------------------------------------
    def describe(self):
        layers = [self._layer(k, name, m) for k, (name, m) in enumerate(self.chain)]
        return {
            "model": self.facts.get("model", type(self.model).__name__),
            "checkpoint": self.checkpoint,
            "input_shape": list(self.input_shape),
            "classes": self.classes,
            "normalize": {"mean": self.normalize.mean, "std": self.normalize.std},
            "parameters": int(sum(p.data.size for p in self.model.parameters())),
            "layers": layers,
        }

    def _layer(self, k, name, module):
        kind = type(module).__name__
        info = {
            "name": name,
            "type": kind,
            "text": repr(module),
            "input_shape": list(self.shapes[k]),
            "output_shape": list(self.shapes[k + 1]),
            "parameters": int(sum(p.data.size for p in module.parameters())),
            "explained_by": self.explains(name),
        }
        if isinstance(module, Conv2d) or kind in POOLS:
            info["windows"] = network.layer_windows(module, self.shapes[k])
        if isinstance(module, Conv2d):
            info["groups"] = module.groups
            info["weight"] = module.weight.data
            info["bias"] = None if module.bias is None else module.bias.data
        return info

    def explains(self, name):
        """The conv or pool layer whose cell trace explains a cell of layer ``name`` (a pointwise
        layer right after a conv is explained by that conv), or None."""
        k = self.index(name)
        while k >= 0:
            kind = type(self.chain[k][1]).__name__
            if kind == "Conv2d" or kind in POOLS:
                return self.chain[k][0]
            if kind not in POINTWISE:
                return None
            k -= 1
        return None

    def index(self, name):
        if name not in self.names:
            raise RequestError(f"unknown layer {name!r}; the layers are {', '.join(self.names)}")
        return self.names.index(name)

    def warm_up(self):
        """One call of each kind on a blank picture, so that the first real request does not pay
        for compiling the engine's kernels (Numba) and loading the explain modules."""
        pixels = np.zeros(self.input_shape, dtype=np.uint8)
        self.forward(pixels)
        self.backward(pixels, 0)
        for name in self._explained()[:2]:
            self.cell(pixels, name, [0] * len(self.shapes[self.index(name) + 1]))

    # ---- the held-out digits --------------------------------------------------------------
    def _test_split(self):
        if self.input_shape != MNIST_SHAPE:
            raise RequestError(
                f"the held-out digits are 1x28x28 pictures, but this model takes"
                f" {'x'.join(map(str, self.input_shape))}; upload a picture instead"
            )
        return self._digits

    def digits(self):
        images, labels = self._test_split()
        return {"count": len(images), "labels": labels}

    def digit(self, index):
        images, labels = self._test_split()
        index = integer(index, "digit", 0, len(images) - 1)
        return {"index": index, "label": int(labels[index]), "pixels": images[index]}

    # ---- forward -------------------------------------------------------------------------
    def input(self, pixels):
        """The model's input (1, C, H, W) float64 for uint8 pixels, normalised as in training."""
        return self.normalize(pixels[None]).astype(np.float64)

    def forward(self, pixels):
        x = self.input(pixels)
        acts = network.forward(self.chain, x)
        p = F.softmax(acts[-1], dim=1).data[0]
        layers = []
        for k, (name, module) in enumerate(self.chain):
            entry = {"name": name, "output": acts[k + 1][0]}
            if type(module).__name__ in ("MaxPool2d", "MinPool2d") and not module.ceil_mode:
                entry["routes"] = network.pool_routes(module, acts[k])
            layers.append(entry)
        best = int(np.argmax(p))
        return {
            "input": {"pixels": pixels, "normalized": x[0]},
            "layers": layers,
            "logits": acts[-1][0],
            "probabilities": p,
            "prediction": best,
            "label": self.classes[best],
        }

    def cell(self, pixels, name, at):
        """The trace of one output cell of ``name`` (a conv, a pool, or a pointwise layer after
        a conv), with the network's own value checked."""
        owner = self.explains(name)
        k = self.index(name)
        if owner is None:
            raise RequestError(
                f"{name} ({type(self.chain[k][1]).__name__}) has no cell explanation; click a cell"
                f" of a convolution or pooling layer ({', '.join(self._explained())})"
            )
        acts = network.forward(self.chain, self.input(pixels))
        j = self.index(owner)
        module = self.chain[j][1]
        if type(module).__name__ in POOLS:
            return trace_dict(
                network_cells.pool_cell(owner, module, acts[j][0], acts[j + 1][0], at)
            )
        after = [(n, m, acts[i + 1][0]) for i, (n, m) in enumerate(self.chain) if j < i <= k]
        return trace_dict(
            network_cells.conv_cell(owner, module, acts[j][0], acts[j + 1][0], at, after)
        )

    def _explained(self):
        return [n for n in self.names if self.explains(n) == n]

    # ---- backward ------------------------------------------------------------------------
    def target(self, value):
        return integer(value, "target", 0, len(self.classes) - 1)

    def gradients(self, pixels, target):
        x = self.input(pixels)
        acts = network.forward(self.chain, x)
        return x, acts, network.backward(self.chain, acts, target)

    def backward(self, pixels, target):
        """dL/dlogits = p - y, then every layer's dL/dO (last to first) with what the page shows
        beside it: the ReLU mask, max-pool routes, dW and db of each conv, and the checks."""
        target = self.target(target)
        x, acts, g = self.gradients(pixels, target)
        scale = float(np.abs(acts[-1]).max())  # the logits: what the loss is rounded against
        layers = []
        for k, (name, module) in enumerate(self.chain):
            grad_in = g["grad_out"][k - 1] if k else g["grad_in"]
            entry = {"name": name, "grad_output": g["grad_out"][k][0], "grad_input": grad_in[0]}
            kind = type(module).__name__
            if kind == "ReLU":
                entry["mask"] = (acts[k][0] > 0).astype(np.int8)
            if kind in ("MaxPool2d", "MinPool2d") and not module.ceil_mode:
                entry["routes"] = network.pool_routes(module, acts[k])
            if isinstance(module, Conv2d):
                grads = g["params"][name]
                entry["weight_grad"] = grads["weight"]
                entry["bias_grad"] = grads.get("bias")
                checks = network.conv_identities(
                    module, acts[k], g["grad_out"][k], grads["weight"], grad_in
                )
                loss = network.loss_of_param(self.chain, x, module.weight, target)
                checks.append(
                    network.directional_check(
                        f"dL/d{name}.weight", loss, module.weight.data, grads["weight"], scale
                    )
                )
                entry["checks"] = [_check(c) for c in checks]
            layers.append(entry)
        input_check = network.directional_check(
            "dL/dx (the input)",
            network.loss_of(self.chain, target),
            x,
            g["grad_in"],
            scale,
            keep_ties=True,
        )
        checks = [_check(c) for c in [*g["checks"], input_check]]
        every = checks + [c for e in layers for c in e.get("checks", [])]
        return {
            "target": target,
            "loss": g["loss"],
            "probabilities": g["probabilities"],
            "dlogits": g["dlogits"],
            "layers": layers,
            "grad_input": g["grad_in"][0],
            "checks": checks,
            "ok": all(c["ok"] for c in every),
        }

    def grad_cell(self, pixels, target, name, kind, at):
        """One gradient cell as a trace: kind "weight" (dL/dW[f,c,u,v] of a conv), "input"
        (dL/dX[c,r,q] of a conv's input) or "pool" (where a pool layer sends dY[c,i,j])."""
        target = self.target(target)
        k = self.index(name)
        module = self.chain[k][1]
        needs = {"weight": "Conv2d", "input": "Conv2d", "pool": "pooling"}
        if kind not in needs:
            raise RequestError(f"kind: expected 'weight', 'input' or 'pool', got {kind!r}")
        found = type(module).__name__
        if needs[kind] != ("pooling" if found in POOLS else found):
            raise RequestError(f"kind {kind!r} needs a {needs[kind]} layer, but {name} is {found}")
        _, acts, g = self.gradients(pixels, target)
        x, do = acts[k][0], g["grad_out"][k][0]
        if kind == "pool":
            trace = network_cells.pool_cell(name, module, x, acts[k + 1][0], at, grad=do)
        elif kind == "weight":
            dw = g["params"][name]["weight"]
            trace = network_cells.weight_grad_cell(name, module, x, do, dw, at)
        else:
            dx = (g["grad_out"][k - 1] if k else g["grad_in"])[0]
            trace = network_cells.input_grad_cell(name, module, x, do, dx, at)
        return trace_dict(trace)

    # ---- inside the model (convscope.inspect) ----------------------------------------------
    def filters(self):
        """The weights (F, C/groups, KH, KW) of every Conv2d, in order."""
        from ..inspect import filters

        convs = [name for name, m in self.chain if isinstance(m, Conv2d)]
        return {"layers": [{"name": name, "weight": filters(self.model, name)} for name in convs]}

    def attributions(self, pixels, target):
        """Saliency |d logit_t / dx| (C, H, W) and Grad-CAM of the last conv layer, at its own
        resolution (h, w) and upsampled to the input's (H, W) (nearest, as Captum's default)."""
        from ..inspect import grad_cam, saliency

        target = self.target(target)
        x = self.input(pixels)[0]
        cam = grad_cam(self.model, x, target)
        return {
            "target": target,
            "saliency": saliency(self.model, x, target),
            "grad_cam": {
                "layer": cam.layer,
                "cam": cam.cam[0],
                "map": cam.upsampled[0],
                "weights": cam.weights,
            },
            "note": f"saliency = |d logit[{self.classes[target]}] / dx|, one backward pass of the engine;"
            f" Grad-CAM = sum over the channels c of {cam.layer} of mean(d logit / dA[c]) * A[c],"
            " upsampled (nearest) to the input",
        }

    def step(self, pixels, target, lr):
        """One SGD step on a copy of the model for this picture and target: loss, probabilities
        and prediction before and after (the served model is not changed)."""
        target = self.target(target)
        x = self.input(pixels)
        model = copy.deepcopy(self.model)
        before = self._scores(model, x, target)
        opt = SGD(model.parameters(), lr=lr)
        opt.zero_grad()
        F.cross_entropy(model(x), np.array([target])).backward()
        opt.step()
        after = self._scores(model, x, target)
        return {"target": target, "lr": lr, "before": before, "after": after}

    def _scores(self, model, x, target):
        with no_grad():
            logits = model(x)
            loss = F.cross_entropy(logits, np.array([target])).data
        p = F.softmax(logits.data, dim=1).data[0]
        best = int(np.argmax(p))
        return {
            "loss": float(loss),
            "probabilities": p,
            "prediction": best,
            "label": self.classes[best],
        }


def _check(c):
    return {
        "what": c.what,
        "max_abs_error": c.max_abs_error,
        "tolerance": c.tolerance,
        "ok": c.ok,
        "line": c.line(),
    }


def trace_dict(trace):
    """What the page shows of a Trace: title, notes, steps (formula and operands), checks, and
    the text ``convscope explain`` would print."""
    return {
        "topic": trace.topic,
        "title": trace.title,
        "notes": trace.notes,
        "steps": [
            {
                "label": s.label,
                "formula": s.formula,
                "result": s.result,
                "operands": s.operands,
                "cell": s.cell,
                "section": s.section,
            }
            for s in trace.steps
        ],
        "checks": [_check(c) for c in trace.checks],
        "ok": trace.ok,
        "text": render_text(trace),
    }
