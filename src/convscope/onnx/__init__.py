"""ONNX both ways: write a convscope model to an ONNX file, run an ONNX file as a convscope model.

    import convscope.onnx
    convscope.onnx.export(model, "lenet.onnx", input_shape=(1, 1, 28, 28))    # opset 21
    model = convscope.onnx.load("from_torch.onnx")       # nn.Module: convscope forward and backward
    model, facts = convscope.onnx.load_checkpoint("m.onnx")   # what --checkpoint m.onnx does

``load`` builds a GraphModule of ordinary layers (Conv2d, Linear, BatchNorm2d, MaxPool2d, ...)
where a node maps to one, with the file's weights, and small GraphOps (Reshape, Transpose,
MatMul, Concat, Add, ...) for the rest, so state_dict, explain, inspect and training see a
normal model. The graph may have any inputs; ``load_checkpoint`` wants an image model (one
input (N, C, H, W)) and reads the facts ``export`` stores in ``metadata_props``.

The ``onnx`` package is imported only inside these functions (``pip install 'convscope[onnx]'``).
Loading never runs code from the file: it holds protobuf data, and convscope computes every op.
"""

from ..errors import ConvscopeError
from .facts import FACT_KEYS, check_batch, image_shape, read_facts
from .reader import MIN_OPSET

DEFAULT_OPSET = 21  # the oldest opset with every op convscope's layers need (GroupNormalization)

__all__ = ["export", "load", "load_checkpoint", "DEFAULT_OPSET", "MIN_OPSET", "FACT_KEYS"]


def _require_onnx():
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise ConvscopeError(
            "ONNX support needs the onnx package: pip install 'convscope[onnx]' (or pip install onnx)"
        ) from None


def load(path):
    """The model in an ONNX file as a convscope ``nn.Module`` (a GraphModule), in eval mode."""
    return _load(path)[0]


def _load(path):
    _require_onnx()
    from .importer import build_module
    from .reader import read_model

    proto, opset = read_model(path)
    module, imp = build_module(proto, path)
    module.input_shape = image_shape(imp)
    return module.eval(), proto, imp


def load_checkpoint(path):
    """(model, facts) for an image model in an ONNX file, as train.load_model returns them.

    facts: model (a name), config {num_classes}, input_shape [C, H, W], normalize {mean, std},
    classes (when the file names them), format "onnx", opset, producer. A file without
    convscope's metadata gets the defaults of ``facts.read_facts``.
    """
    model, proto, imp = _load(path)
    facts = read_facts(proto, imp, model, path)
    check_batch(model, imp, path)
    return model, facts


def export(model, path, input_shape=None, opset=DEFAULT_OPSET, *, facts=None):
    """Write ``model`` (in eval mode) to ``path`` as ONNX; returns the ModelProto.

    input_shape: (N, C, H, W) (N is made a dynamic "batch" axis); default: (1, *model.input_shape).
    opset: DEFAULT_OPSET (21) or older down to MIN_OPSET (13); a layer that needs a newer op
    (GELU 20, circular padding 19, LayerNorm 17, GroupNorm 21) says so.
    facts: classes, normalize, input_shape, model, ... stored as JSON in metadata_props.
    """
    _require_onnx()
    from .exporter import export_model

    return export_model(model, path, input_shape, opset, facts or {})
