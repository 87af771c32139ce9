"""Tensor, the tape and gradcheck. Ops come from convscope.ops; no math lives here."""

from .creation import (
    arange,
    cat,
    full,
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
from .function import apply, as_array
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .gradcheck import GradcheckError, gradcheck
from .tensor import Tensor

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
    "apply",
    "as_array",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "gradcheck",
    "GradcheckError",
]
