"""RMSprop with PyTorch's update rule (optional momentum and centering)."""

import numpy as np

from .optimizer import Optimizer, require


class RMSprop(Optimizer):
    """For each parameter p with gradient g, as ``torch.optim.RMSprop``::

        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g^2
        centered:  m = alpha * m + (1 - alpha) * g;   avg = sqrt(v - m^2) + eps
        otherwise: avg = sqrt(v) + eps
        momentum > 0:  buf = momentum * buf + g / avg;   p = p - lr * buf
        otherwise:     p = p - lr * g / avg

    State per parameter: ``step``, ``square_avg`` (v), ``momentum_buffer`` (momentum > 0),
    ``grad_avg`` (m, centered).
    """

    def __init__(
        self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False
    ):
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
        )
        super().__init__(params, defaults)

    def _validate(self, g):
        for key, low in (("lr", "learning rate"), ("eps", "eps"), ("momentum", "momentum"),
                         ("weight_decay", "weight_decay"), ("alpha", "alpha")):  # fmt: skip
            require(g[key] >= 0, f"RMSprop: {low} must be >= 0, got {key}={g[key]}")

    def _update(self, p, grad, state, group):
        alpha, eps, wd, momentum = (
            group["alpha"],
            group["eps"],
            group["weight_decay"],
            group["momentum"],
        )
        if not state:
            state.update(step=0, square_avg=np.zeros_like(p.data))
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(p.data)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p.data)
        state["step"] += 1
        if wd != 0:
            grad = grad + wd * p.data
        v = state["square_avg"] = alpha * state["square_avg"] + (1 - alpha) * grad * grad
        if group["centered"]:
            m = state["grad_avg"] = state["grad_avg"] + (grad - state["grad_avg"]) * (1 - alpha)
            avg = np.sqrt(v - m * m) + eps
        else:
            avg = np.sqrt(v) + eps
        if momentum > 0:
            buf = state["momentum_buffer"] = momentum * state["momentum_buffer"] + grad / avg
            p.data -= group["lr"] * buf
        else:
            p.data -= group["lr"] * (grad / avg)
