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

import numpy as np

from ..data import MNIST_SHAPE, Normalize, load_digits
from ..explain import network, network_cells
from ..nn import Conv2d
from ..nn import functional as F
from .gradients import POOLS, Gradients
from .requests import RequestError, integer
from .traces import trace_dict

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
MNIST_NORMALIZE = {"mean": [0.1307], "std": [0.3081]}


class ServedModel(Gradients):
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
            "preprocess": self._preprocess(),
            "layers": layers,
        }

    def _preprocess(self):
        """How a picture becomes the model's input, in words (``requests.picture`` does it)."""
        c, h, w = self.input_shape
        if self.input_shape == MNIST_SHAPE:
            made = (
                "grayscale, dark background, the digit fitted into 20x20 and centred by its mass"
                " in 28x28 (as MNIST was made)"
            )
        else:
            made = f"{'grayscale' if c == 1 else 'RGB'}, resized to {h}x{w} (bilinear)"
        mean, std = self.normalize.mean, self.normalize.std
        return (
            f"{made}, as convscope predict converts a picture; then x = (pixel / 255 - mean) / std"
            f" with mean {mean} and std {std}"
        )

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
        """The layer whose cell trace explains a cell of layer ``name``: a conv or pool layer
        itself, the conv before a run of pointwise layers (BatchNorm, ReLU, ...); else None."""
        k = self.index(name)
        if type(self.chain[k][1]).__name__ in POOLS:
            return name
        while k >= 0:
            kind = type(self.chain[k][1]).__name__
            if kind == "Conv2d":
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

    def cell(self, pixels, name, at, text=False):
        """The trace of one output cell of ``name`` (a conv, a pool, or a pointwise layer after
        a conv): for a conv, its sum of products and then the activations after it; the
        network's own values checked; ``text``: also what ``convscope explain`` prints."""
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
                network_cells.pool_cell(owner, module, acts[j][0], acts[j + 1][0], at), text
            )
        after = []  # the activations that follow the conv, whichever of them was clicked
        for i in range(j + 1, len(self.chain)):
            n, m = self.chain[i]
            if type(m).__name__ not in POINTWISE or len(acts[i + 1].shape) != 4:
                break
            after.append((n, m, acts[i + 1][0]))
        return trace_dict(
            network_cells.conv_cell(owner, module, acts[j][0], acts[j + 1][0], at, after), text
        )

    def _explained(self):
        return [n for n in self.names if self.explains(n) == n]

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
