"""Tensor, the tape and gradcheck. Ops come from convscope.ops; no math lives here."""

from .function import apply, as_array
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .gradcheck import GradcheckError, gradcheck
from .tensor import Tensor, ones, tensor, zeros

__all__ = [
    "Tensor",
    "tensor",
    "zeros",
    "ones",
    "apply",
    "as_array",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "gradcheck",
    "GradcheckError",
]
