"""The model zoo: ``get_model(name, **config)``; names "lenet" (or "lenet5") and "vgg".

model = get_model("lenet")        # LeNet-5 for (N, 1, 28, 28) digits -> (N, 10) logits
"""

from ..errors import ConvscopeError
from .lenet import LeNet5, lenet5
from .vgg import VGG, vgg

MODELS = {"lenet": lenet5, "vgg": vgg}
ALIASES = {"lenet5": "lenet"}


def canonical_name(name):
    """ "lenet5" -> "lenet"; ConvscopeError for an unknown name."""
    key = ALIASES.get(str(name).lower(), str(name).lower())
    if key not in MODELS:
        raise ConvscopeError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return key


def get_model(name, **config):
    """A freshly initialised model (weights from convscope.nn.init's default generator)."""
    return MODELS[canonical_name(name)](**config)


__all__ = ["MODELS", "get_model", "canonical_name", "lenet5", "LeNet5", "vgg", "VGG"]
