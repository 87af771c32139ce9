"""Record which layers a model's forward calls, on what, in what order.

    calls, output = trace(model, x, wanted=lambda module: type(module) in EMITTERS)

Every module ``wanted`` says yes to has its forward wrapped for the length of one call of
``model(x)`` (grad mode on, so the engine's tape records what runs between layers): each call
is recorded as (module path, module, arguments, result). A value a layer did not produce is
found on the tape instead (``x + self.block(x)``, ``cs.cat``, ``h.reshape(...)``); see
exporter.Builder.value. Other modules are transparent: their work is on the tape too.
"""

from dataclasses import dataclass

from ..autograd import enable_grad
from ..nn import Module


@dataclass
class Call:
    path: str
    module: Module
    args: tuple
    result: object


def trace(model, x, wanted):
    """([Call, ...] in execution order, the model's output) for model(x)."""
    calls, wrapped = [], []
    for path, module in model.named_modules():
        if wanted(module):
            wrapped.append(module)
            object.__setattr__(module, "forward", _recorder(path, module, calls))
    try:
        with enable_grad():
            out = model(x)
    finally:
        for module in wrapped:
            del module.__dict__["forward"]
    return calls, out


def _recorder(path, module, calls):
    forward = type(module).forward.__get__(module)

    def record(*args):
        result = forward(*args)
        calls.append(Call(path, module, args, result))
        return result

    return record
