"""The layers, one module per family."""

from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .container import ModuleList, Sequential
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .dropout import Dropout, Dropout2d
from .linear import Flatten, Identity, Linear
from .loss import CrossEntropyLoss, MSELoss, NLLLoss
from .norm import BatchNorm1d, BatchNorm2d
from .pool import AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d, MinPool1d, MinPool2d
from .resample import Upsample

__all__ = [
    "Sequential",
    "ModuleList",
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
    "Linear",
    "Flatten",
    "Identity",
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "GELU",
    "Softmax",
    "LogSoftmax",
    "Dropout",
    "Dropout2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Upsample",
    "CrossEntropyLoss",
    "NLLLoss",
    "MSELoss",
]
