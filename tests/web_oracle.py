"""PyTorch twins of a served model, layer for layer, for the tests of explain.network and the web
API: the same weights (float64), every layer's output and every dL/dO kept."""

import numpy as np
import torch

from convscope.models.bundled import BUNDLED_LENET
from convscope.train import load_model


def bundled():
    """The bundled LeNet-5 in float64, eval mode, and its checkpoint facts."""
    model, facts = load_model(BUNDLED_LENET)
    return model.double().eval(), facts


def torch_twin(chain):
    """[(name, torch module)] with the weights of a convscope chain of layers (float64)."""
    out = []
    for name, m in chain:
        kind = type(m).__name__
        if kind == "Conv2d":
            t = torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                                m.dilation, m.groups, m.bias is not None)  # fmt: skip
        elif kind == "Linear":
            t = torch.nn.Linear(m.in_features, m.out_features, m.bias is not None)
        elif kind == "MaxPool2d":
            t = torch.nn.MaxPool2d(m.kernel_size, m.stride, m.padding, ceil_mode=m.ceil_mode)
        elif kind == "AvgPool2d":
            t = torch.nn.AvgPool2d(m.kernel_size, m.stride, m.padding, ceil_mode=m.ceil_mode)
        elif kind == "BatchNorm2d":
            t = torch.nn.BatchNorm2d(m.num_features, eps=m.eps)
        elif kind == "ReLU":
            t = torch.nn.ReLU()
        elif kind == "Flatten":
            t = torch.nn.Flatten()
        else:
            raise NotImplementedError(kind)
        t = t.double().eval()
        state = {
            k: torch.tensor(np.asarray(v, dtype=np.float64)) for k, v in m.state_dict().items()
        }
        if "num_batches_tracked" in t.state_dict():
            state["num_batches_tracked"] = torch.tensor(0)
        t.load_state_dict(state)
        out.append((name, t))
    return out


def torch_pass(twin, x, target):
    """(outputs per layer, dL/dO per layer, dL/dx, {layer: {param: grad}}, loss) in float64."""
    xt = torch.tensor(x, requires_grad=True)
    outs, a = [], xt
    for _, t in twin:
        a = t(a)
        a.retain_grad()
        outs.append(a)
    loss = torch.nn.functional.cross_entropy(a, torch.tensor([target]))
    loss.backward()
    grads = {name: {k: p.grad.numpy() for k, p in t.named_parameters()} for name, t in twin}
    return ([o.detach().numpy() for o in outs], [o.grad.numpy() for o in outs], xt.grad.numpy(),
            grads, loss.item())  # fmt: skip
