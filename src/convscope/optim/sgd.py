"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (PyTorch's rule)."""

from .optimizer import Optimizer, require


class SGD(Optimizer):
    """For each parameter p with gradient g, as ``torch.optim.SGD``::

        g = g + weight_decay * p
        buf = g                                   (first step)
        buf = momentum * buf + (1 - dampening) * g (later steps)
        g = g + momentum * buf  if nesterov  else  buf      (when momentum != 0)
        p = p - lr * g

    State per parameter: ``momentum_buffer`` (only when momentum != 0).
    """

    def __init__(
        self, params, lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            nesterov=nesterov,
            weight_decay=weight_decay,
        )
        super().__init__(params, defaults)

    def _validate(self, g):
        require(g["lr"] >= 0, f"SGD: learning rate must be >= 0, got lr={g['lr']}")
        require(g["momentum"] >= 0, f"SGD: momentum must be >= 0, got momentum={g['momentum']}")
        require(
            g["weight_decay"] >= 0,
            f"SGD: weight_decay must be >= 0, got weight_decay={g['weight_decay']}",
        )
        require(
            not g["nesterov"] or (g["momentum"] > 0 and g["dampening"] == 0),
            f"SGD: nesterov=True needs momentum > 0 and dampening 0, got momentum={g['momentum']},"
            f" dampening={g['dampening']}; set momentum (e.g. 0.9) or nesterov=False",
        )

    def _update(self, p, grad, state, group):
        momentum, wd = group["momentum"], group["weight_decay"]
        if wd != 0:
            grad = grad + wd * p.data
        if momentum != 0:
            buf = state.get("momentum_buffer")  # the first step copies the gradient, as torch
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:  # in place, as torch (state_dict and load_state_dict copy the buffer)
                buf *= momentum
                buf += grad if group["dampening"] == 0 else (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        p.data -= group["lr"] * grad
