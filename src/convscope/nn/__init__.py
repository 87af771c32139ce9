"""Layers and networks with PyTorch's names: Module, Parameter, Sequential, Conv2d, ...

    import convscope.nn as nn
    import convscope.nn.functional as F

Every layer whose weights start random (Conv*, ConvTranspose*, Linear) takes ``rng=None`` (a
numpy Generator; None: ``nn.init``'s default, reset by ``nn.init.manual_seed``), and so do
Dropout and Dropout2d for their masks. Every layer with weights takes ``dtype=np.float32``
(float64 allowed). The norm layers (BatchNorm1d/2d, LayerNorm, GroupNorm) start at weight 1 and
bias 0, as PyTorch's, so they take no ``rng`` (their PyTorch twins take no generator either).
"""

from . import functional, init
from .module import Module
from .modules import *  # noqa: F403
from .modules import __all__ as _layers
from .parameter import Parameter

__all__ = ["Module", "Parameter", "functional", "init", *_layers]
