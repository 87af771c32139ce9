"""convscope: a CNN library in NumPy that trains small networks and shows every step.

    import convscope as cs
    import convscope.nn as nn
    import convscope.nn.functional as F

Importing convscope needs NumPy only; subpackages (nn, optim, data, models, train,
explain, onnx) load on first use.
"""

import importlib

from .autograd import (
    Tensor,
    arange,
    cat,
    enable_grad,
    full,
    gradcheck,
    is_grad_enabled,
    no_grad,
    ones,
    ones_like,
    rand,
    randn,
    stack,
    tensor,
    where,
    zeros,
    zeros_like,
)
from .errors import AutogradError, CheckpointError, ConvscopeError, DataError, ShapeError
from .ops.geometry import output_size

__version__ = "0.1.0"

_SUBPACKAGES = {
    "nn", "optim", "data", "models", "train", "explain", "ops", "autograd", "kernels", "onnx",
    "inspect", "distributed", "web",
}  # fmt: skip


def __getattr__(name):
    if name == "manual_seed":  # reseeds the default Generator behind every layer's init
        return importlib.import_module(".nn.init", __name__).manual_seed
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'convscope' has no attribute {name!r}")


__all__ = [
    "Tensor",
    "tensor",
    "zeros",
    "ones",
    "full",
    "zeros_like",
    "ones_like",
    "arange",
    "rand",
    "randn",
    "cat",
    "stack",
    "where",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "gradcheck",
    "output_size",
    "ConvscopeError",
    "ShapeError",
    "AutogradError",
    "DataError",
    "CheckpointError",
]
