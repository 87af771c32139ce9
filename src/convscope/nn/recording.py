"""Record what chosen modules of a model compute during its forward, in execution order.

    with recording(model) as calls:          # every leaf module (one without children)
        y = model(x)
    for call in calls:
        call.path, call.module, call.args, call.result

Each chosen module gets a forward hook for the length of the ``with`` block only; a module
called twice is recorded twice. This is how ``summary`` and the ONNX export see the layers
a forward really runs, whatever the forward does between them (residual adds, branches).
"""

from contextlib import contextmanager
from dataclasses import dataclass

from .module import Module


@dataclass
class Call:
    path: str  # the module's name in model.named_modules() ("" for the model itself)
    module: Module
    args: tuple
    result: object


def is_leaf(module):
    return not any(True for _ in module.children())


@contextmanager
def recording(model, wanted=is_leaf):
    """Yield a list that fills with a Call per forward of each module ``wanted`` says yes to."""
    calls = []
    handles = [
        module.register_forward_hook(_recorder(path, calls))
        for path, module in model.named_modules()
        if wanted(module)
    ]
    try:
        yield calls
    finally:
        for handle in handles:
            handle.remove()


def _recorder(path, calls):
    def hook(module, args, output):
        calls.append(Call(path, module, args, output))

    return hook
