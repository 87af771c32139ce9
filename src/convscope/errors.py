"""The one exception family: every bad input raises a subclass of ConvscopeError.

ConvscopeError derives from ValueError, so ``except ValueError`` also catches it.
Messages name the op, every number involved, and a way out.
"""


class ConvscopeError(ValueError):
    """Base of every error convscope raises on bad input."""


class ShapeError(ConvscopeError):
    """Shapes, sizes or hyper-parameters that do not fit together."""


class DataError(ConvscopeError):
    """A data file or folder that is missing, corrupt or inconsistent."""


class CheckpointError(ConvscopeError):
    """A checkpoint or state_dict that does not match the model."""


class AutogradError(ConvscopeError, RuntimeError):
    """Misuse of the autograd tape, not of shapes: backward through a graph already freed, a
    tensor changed in place after an op saved it for backward, an in-place change the tape
    cannot record, a backward that breaks its contract. Also a RuntimeError, which is what
    PyTorch raises for these, so PyTorch habits (``except RuntimeError``) keep working."""
