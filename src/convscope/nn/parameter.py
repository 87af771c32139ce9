"""Parameter: a Tensor that a Module registers as learnable (requires_grad=True)."""

from ..autograd import Tensor


class Parameter(Tensor):
    """A leaf Tensor with ``requires_grad=True``; assigning one to a Module attribute registers it.

    Float data keeps its dtype (float32 or float64); integer data becomes float32.
    """

    def __init__(self, data, requires_grad=True):
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
