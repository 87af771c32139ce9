"""Adam and AdamW, with PyTorch's update rules (bias correction, optional AMSGrad)."""

import math
import numbers

import numpy as np

from .optimizer import Optimizer, require


class Adam(Optimizer):
    """For each parameter p with gradient g at step t (t = 1, 2, ...), as ``torch.optim.Adam``::

        g = g + weight_decay * p                     (Adam: L2 penalty in the gradient)
        p = p * (1 - lr * weight_decay)              (AdamW: decoupled decay, instead)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2            (AMSGrad: vmax = max(vmax, v), used below)
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    State per parameter: ``step`` (int), ``exp_avg`` (m), ``exp_avg_sq`` (v) and, with
    amsgrad, ``max_exp_avg_sq``.
    """

    decoupled = False

    def __init__(
        self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False
    ):
        defaults = dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad
        )
        super().__init__(params, defaults)

    def _validate(self, g):
        name = type(self).__name__
        require(g["lr"] >= 0, f"{name}: learning rate must be >= 0, got lr={g['lr']}")
        require(g["eps"] >= 0, f"{name}: eps must be >= 0, got eps={g['eps']}")
        betas = tuple(g["betas"]) if isinstance(g["betas"], (tuple, list)) else (g["betas"],)
        require(
            len(betas) == 2
            and all(isinstance(b, numbers.Real) and not isinstance(b, bool) for b in betas)
            and all(0 <= b < 1 for b in betas),
            f"{name}: betas must be two numbers in [0, 1), got betas={betas}; e.g. (0.9, 0.999)",
        )
        require(
            g["weight_decay"] >= 0,
            f"{name}: weight_decay must be >= 0, got weight_decay={g['weight_decay']}",
        )
        g["betas"] = betas

    def _update(self, p, grad, state, group):
        lr, (beta1, beta2), eps, wd = (
            group["lr"],
            group["betas"],
            group["eps"],
            group["weight_decay"],
        )
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p.data), exp_avg_sq=np.zeros_like(p.data))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] = t = state["step"] + 1
        if wd != 0:
            if self.decoupled:
                p.data *= 1 - lr * wd
            else:
                grad = grad + wd * p.data
        # in place (the state is the optimizer's own: state_dict copies it out, load_state_dict
        # copies it in), the same operations in the same order as the formulas above
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (grad - m) * (1 - beta1)
        v *= beta2
        v += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        step_size = lr / (1 - beta1**t)
        update = np.sqrt(v)
        update /= math.sqrt(1 - beta2**t)
        update += eps
        np.divide(m, update, out=update)
        update *= step_size
        p.data -= update


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr * weight_decay first."""

    decoupled = True

    def __init__(
        self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False
    ):
        super().__init__(
            params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad
        )
