"""What every inspect function checks and sets up: the images, the layer, the targets, the mode.

Each raises a ConvscopeError subclass with one sentence that names the function, every number
involved and a way out.
"""

from contextlib import contextmanager

import numpy as np

from ..autograd import Tensor
from ..errors import ShapeError
from ..nn import Conv1d, Conv2d, Module

MAX_BATCH_ELEMENTS = 1 << 18  # input numbers per forward/backward chunk: 334 MNIST digits


def model_dtype(model):
    """The float dtype of the model's parameters (float32 for a model without any)."""
    for p in model.parameters():
        return p.data.dtype
    return np.dtype(np.float32)


def images(model, x, op):
    """(x as an (N, C, H, W) batch in the model's dtype, True if one (C, H, W) image was given).

    ShapeError when x is not images, or not the images the model takes (its ``input_shape``,
    else its first convolution's in_channels)."""
    _require_module(model, op)
    arr = x.data if isinstance(x, Tensor) else np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise ShapeError(f"{op}: x must be an array of numbers, got dtype {arr.dtype}")
    single = arr.ndim == 3
    if arr.ndim not in (3, 4):
        raise ShapeError(
            f"{op}: x must be one image (C, H, W) or a batch (N, C, H, W), got shape {arr.shape};"
            f" a 2-D picture needs a channel axis: x[None]"
        )
    batch = arr[None] if single else arr
    if len(batch) == 0:
        raise ShapeError(f"{op}: x holds no images (shape {arr.shape}); pass at least one")
    _check_fits(model, batch.shape, op)
    return np.ascontiguousarray(batch, dtype=model_dtype(model)), single


def _require_module(model, op):
    if not isinstance(model, Module):
        raise ShapeError(
            f"{op}: model must be a convscope nn.Module, got a {type(model).__name__};"
            f" load one with convscope.train.load_model or build one from convscope.nn"
        )


def _check_fits(model, shape, op):
    expected = getattr(model, "input_shape", None)
    if expected is not None:
        expected = tuple(int(s) for s in expected)
        if shape[1] != expected[0]:
            raise ShapeError(
                f"{op}: the model takes {_channels(expected[0])} images {_chw(expected)}, but x"
                f" of shape {shape} has {_channels(shape[1])}; convert the picture to"
                f" {_channels(expected[0])} (convscope.data.load_image does it for this model)"
            )
        if tuple(shape[1:]) != expected:
            raise ShapeError(
                f"{op}: the model takes images {_chw(expected)}, but x of shape {shape} holds"
                f" {_chw(shape[1:])}; resize the picture to {expected[1]}x{expected[2]}"
                f" (convscope.data.load_image does it for this model)"
            )
        return
    for _, layer in model.named_modules():
        if isinstance(layer, (Conv1d, Conv2d)):
            if shape[1] != layer.in_channels:
                raise ShapeError(
                    f"{op}: the model's first convolution takes {_channels(layer.in_channels)},"
                    f" but x of shape {shape} has {_channels(shape[1])}; convert the picture to"
                    f" {_channels(layer.in_channels)}"
                )
            return


def _channels(c):
    return f"{c} channel" if c == 1 else f"{c} channels"


def _chw(shape):
    return f"({', '.join(str(s) for s in shape)})"


def baselines(baseline, batch, op):
    """The baseline as a read-only (N, C, H, W) view in the batch's dtype: None means zeros
    (Captum's default); a number, one image (C, H, W) or one per image broadcast."""
    arr = np.asarray(0.0 if baseline is None else getattr(baseline, "data", baseline))
    if arr.dtype.kind not in "biuf":
        raise ShapeError(f"{op}: baseline must be a number or an array, got dtype {arr.dtype}")
    try:
        return np.broadcast_to(arr.astype(batch.dtype), batch.shape)
    except ValueError:
        raise ShapeError(
            f"{op}: baseline of shape {arr.shape} does not broadcast to x's {batch.shape}; give a"
            f" number, one image {batch.shape[1:]} or one per image {batch.shape}"
        ) from None


def layer_names(model):
    """The names of every sub-module, in registration order ('' , the model itself, left out)."""
    return [name for name, _ in model.named_modules() if name]


def find_layer(model, layer, op):
    """(name, module) for a layer given by name (``"conv2"``, ``"features.3"``) or as a module."""
    _require_module(model, op)
    named = dict(model.named_modules())
    if isinstance(layer, Module):
        for name, module in named.items():
            if module is layer and name:
                return name, module
        raise ShapeError(
            f"{op}: the layer {type(layer).__name__} is not part of the model; pass one of its"
            f" layers: {', '.join(layer_names(model))}"
        )
    if not isinstance(layer, str) or not layer or layer not in named:
        raise ShapeError(
            f"{op}: the model has no layer {layer!r}; its layers are"
            f" {', '.join(layer_names(model))}"
        )
    return layer, named[layer]


def conv_layers(model):
    """Names of the model's Conv2d layers, in order."""
    return [name for name, m in model.named_modules() if name and isinstance(m, Conv2d)]


def conv_layer(model, layer, op, last):
    """(name, module) of ``layer``, or for None the model's first (last=False) or last Conv2d."""
    _require_module(model, op)
    if layer is None:
        convs = conv_layers(model)
        if not convs:
            raise ShapeError(
                f"{op}: the model has no Conv2d layer to default to; name one of its layers:"
                f" {', '.join(layer_names(model))}"
            )
        layer = convs[-1 if last else 0]
    return find_layer(model, layer, op)


def class_scores(logits, op):
    """logits as a (N, classes) array; ShapeError for a model whose output is something else."""
    if logits.ndim != 2:
        raise ShapeError(
            f"{op}: the model's output has shape {logits.shape}, not class scores (N, classes);"
            f" inspect attributes a classifier's logits"
        )
    return logits


def targets(target, logits, op):
    """The class to explain per image, (N,) int64: ``target`` (one int for all, or one per
    image) or, for None, each image's predicted class (the argmax of its logits)."""
    n, k = class_scores(logits, op).shape
    if target is None:
        return logits.argmax(axis=1)
    arr = np.asarray(target.data if isinstance(target, Tensor) else target)
    if arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f" and np.all(arr == np.round(arr))):
        raise ShapeError(f"{op}: target must be a class index (an int), got {target!r}")
    arr = np.broadcast_to(arr.astype(np.int64), (n,)) if arr.ndim == 0 else arr.astype(np.int64)
    if arr.shape != (n,):
        raise ShapeError(
            f"{op}: target gives {arr.size} classes for {n} images; give one int for all, or one"
            f" per image"
        )
    bad = arr[(arr < 0) | (arr >= k)]
    if bad.size:
        raise ShapeError(
            f"{op}: target {int(bad[0])} is outside the model's {k} classes; choose a class"
            f" 0-{k - 1}"
        )
    return arr


def one_hot(classes, k, dtype):
    """(N, k) seed for backward: 1 at (n, classes[n]), so backward gives d logit_t / d input."""
    seed = np.zeros((len(classes), k), dtype=dtype)
    seed[np.arange(len(classes)), classes] = 1
    return seed


def positive_int(value, op, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ShapeError(f"{op}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


@contextmanager
def inspecting(model):
    """Eval mode (Dropout off, BatchNorm's running statistics) and frozen parameters, so that a
    backward pass computes only input and activation gradients and leaves ``.grad`` alone;
    both restored when the block ends."""
    modes = [(m, m.training) for m in model.modules()]
    flags = [(p, p.requires_grad) for p in model.parameters()]
    model.eval()
    for p, _ in flags:
        p.requires_grad = False
    try:
        yield model
    finally:
        for p, flag in flags:
            p.requires_grad = flag
        for m, mode in modes:
            object.__setattr__(m, "training", mode)  # as Module.train sets it, one module each
