"""The backward half of the served model: gradients layer by layer, gradient cells, one SGD step.

A mixin of :class:`~convscope.web.served.ServedModel` (it uses its chain, classes and input).
"""

import copy

import numpy as np

from ..autograd import no_grad
from ..explain import network, network_cells, network_checks
from ..nn import Conv2d
from ..nn import functional as F
from ..optim import SGD
from .requests import RequestError, integer
from .traces import check_dict, trace_dict

POOLS = set(network_cells.POOL_MODES)


class Gradients:
    """backward, grad_cell and step of a ServedModel (L: the cross-entropy for ``target``)."""

    def target(self, value):
        """A class index from a request, checked."""
        return integer(value, "target", 0, len(self.classes) - 1)

    def gradients(self, pixels, target):
        """(model input, activations, network.backward's answer) for the picture and target."""
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
            entry = {"name": name, "grad_output": g["grad_out"][k][0]}  # its input's: k - 1
            kind = type(module).__name__
            if kind == "ReLU":
                entry["mask"] = (acts[k][0] > 0).astype(np.int8)
            if kind in ("MaxPool2d", "MinPool2d") and not module.ceil_mode:
                entry["routes"] = network.pool_routes(module, acts[k])
            if isinstance(module, Conv2d):
                grads = g["params"][name]
                entry["weight_grad"] = grads["weight"]
                entry["bias_grad"] = grads.get("bias")
                checks = network_checks.conv_identities(
                    module, acts[k], g["grad_out"][k], grads["weight"], grad_in
                )
                loss = network_checks.loss_of_param(self.chain, x, module.weight, target)
                checks.append(
                    network_checks.directional_check(
                        f"dL/d{name}.weight", loss, module.weight.data, grads["weight"], scale
                    )
                )
                entry["checks"] = [check_dict(c) for c in checks]
            layers.append(entry)
        input_check = network_checks.directional_check(
            "dL/dx (the input)",
            network_checks.loss_of(self.chain, target),
            x,
            g["grad_in"],
            scale,
            keep_ties=True,
        )
        checks = [check_dict(c) for c in [*g["checks"], input_check]]
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

    def grad_cell(self, pixels, target, name, kind, at, text=False):
        """One gradient cell as a trace: kind "weight" (dL/dW[f,c,u,v] of a conv), "input"
        (dL/dX[c,r,q] of a conv's input) or "pool" (where a pool layer sends dY[c,i,j]); with
        ``text`` also what ``convscope explain`` would print."""
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
        return trace_dict(trace, text)

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
