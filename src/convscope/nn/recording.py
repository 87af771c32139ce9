"""Record what chosen modules of a model compute during its forward, in execution order.

    with recording(model) as calls:          # every leaf module (one without children)
        y = model(x)
    for call in calls:
        call.path, call.module, call.args, call.result

Each chosen module's forward is wrapped for the length of the ``with`` block only; a module
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
    calls, wrapped = [], []
    for path, module in model.named_modules():
        if wanted(module):
            object.__setattr__(module, "forward", _recorder(path, module, calls))
            wrapped.append(module)
    try:
        yield calls
    finally:
        for module in wrapped:
            del module.__dict__["forward"]


def _recorder(path, module, calls):
    forward = type(module).forward.__get__(module)

    def record(*args):
        result = forward(*args)
        calls.append(Call(path, module, args, result))
        return result

    return record
