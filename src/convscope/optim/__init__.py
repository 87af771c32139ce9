"""Optimisers with PyTorch's names and update rules; they take an iterable of Tensors."""

from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer, flatten_state_dict, unflatten_state_dict
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "lr_scheduler",
    "flatten_state_dict",
    "unflatten_state_dict",
]
