"""The layers, one module per family."""

from .activation import (
    ELU,
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from .adaptive_pool import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
)
from .container import ModuleDict, ModuleList, Sequential
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .dropout import Dropout, Dropout2d
from .linear import Flatten, Identity, Linear, Unflatten
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .norm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .padding import ZeroPad2d
from .pool import AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d, MinPool1d, MinPool2d
from .resample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from .unpool import MaxUnpool1d, MaxUnpool2d

__all__ = [
    "Sequential",
    "ModuleList",
    "ModuleDict",
    "Conv1d",
    "Conv2d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "MinPool1d",
    "MinPool2d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "AdaptiveAvgPool1d",
    "AdaptiveMaxPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
    "Linear",
    "Flatten",
    "Unflatten",
    "Identity",
    "ZeroPad2d",
    "ReLU",
    "ReLU6",
    "LeakyReLU",
    "ELU",
    "Sigmoid",
    "SiLU",
    "Softplus",
    "Tanh",
    "GELU",
    "Softmax",
    "LogSoftmax",
    "Dropout",
    "Dropout2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "GroupNorm",
    "Upsample",
    "UpsamplingBilinear2d",
    "UpsamplingNearest2d",
    "CrossEntropyLoss",
    "NLLLoss",
    "MSELoss",
    "L1Loss",
    "BCEWithLogitsLoss",
]
