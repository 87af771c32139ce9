"""Stateless functions on Tensors (or ndarrays), PyTorch's ``torch.nn.functional`` names.

Each is a thin wrapper: validate, then ``apply(<op>_forward, <op>_backward, ...)``.
One module per op family: conv, resample, pool, activation, loss, norm, basic.
"""

from .activation import *  # noqa: F403
from .basic import *  # noqa: F403
from .conv import *  # noqa: F403
from .loss import *  # noqa: F403
from .norm import *  # noqa: F403
from .pool import *  # noqa: F403
from .resample import *  # noqa: F403
