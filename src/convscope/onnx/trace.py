"""Record which layers a model's forward calls, on what, in what order.

    calls, output = trace(model, x, wanted=lambda module: type(module) in EMITTERS)

The modules ``wanted`` says yes to are recorded (nn.recording) during one call of ``model(x)``
with grad mode on, so the engine's tape also records what runs between layers: a value a layer
did not produce (``x + self.block(x)``, ``cs.cat``, ``h.reshape(...)``) is found on the tape
(see exporter.Builder.value). Other modules are transparent: their work is on the tape too.
"""

from ..autograd import enable_grad
from ..nn.recording import recording


def trace(model, x, wanted):
    """([Call, ...] in execution order, the model's output) for model(x)."""
    with enable_grad(), recording(model, wanted) as calls:
        out = model(x)
    return calls, out
