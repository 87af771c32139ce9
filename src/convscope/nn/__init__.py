"""Layers and networks with PyTorch's names: Module, Parameter, Sequential, Conv2d, ...

    import convscope.nn as nn
    import convscope.nn.functional as F

Every layer with weights takes ``rng=None`` (a numpy Generator; None: ``nn.init``'s default,
reset by ``nn.init.manual_seed``) and ``dtype=np.float32`` (float64 allowed).
"""

from . import functional, init
from .module import Module
from .modules import *  # noqa: F403
from .modules import __all__ as _layers
from .parameter import Parameter

__all__ = ["Module", "Parameter", "functional", "init", *_layers]
