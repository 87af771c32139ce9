"""The facts a checkpoint carries besides weights, as ONNX ``metadata_props`` (JSON values):

    convscope.model        "lenet"                    a name for the model
    convscope.input_shape  [1, 28, 28]                (C, H, W) of one image
    convscope.classes      ["0", ..., "9"]            one name per output
    convscope.normalize    {"mean": [0.1307], "std": [0.3081]}   applied to pixels scaled to [0, 1]
    convscope.config       {"num_classes": 10}        (and any other fact given, e.g. epoch)

On import each is validated against the graph (input_shape equals the input's (C, H, W), one
class per output, a mean/std per channel). A file without them (exported by PyTorch, Keras, ...)
gets defaults: input_shape from the graph, classes "0".."K-1" for (N, K) logits, and the
normalisation a model of that input shape most likely used: MNIST's (0.1307, 0.3081) for
1x28x28, ImageNet's for 3 channels, none (mean 0, std 1) otherwise. Add the keys to the file
(``onnx.helper.set_model_props``) when your model was trained otherwise.
"""

import json
import math

import numpy as np

from ..errors import CheckpointError, ConvscopeError

PREFIX = "convscope."
FACT_KEYS = ("model", "input_shape", "classes", "normalize", "config")
MNIST = {"mean": [0.1307], "std": [0.3081]}
IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


def encode_facts(facts):
    """{metadata key: JSON text} for the facts given (None values left out)."""
    return {PREFIX + k: json.dumps(v) for k, v in facts.items() if v is not None}


def read_facts(proto, imp, model, path):
    """Validated facts of an image model: the file's convscope.* entries, else the defaults."""
    shape = _image_input(imp, path)
    raw = {p.key[len(PREFIX) :]: p.value for p in proto.metadata_props if p.key.startswith(PREFIX)}
    facts = {}
    for key, text in raw.items():
        try:
            facts[key] = json.loads(text)
        except ValueError:
            raise CheckpointError(
                f"{path}: metadata {PREFIX}{key} is not JSON ({text[:60]!r}); fix or remove it"
            ) from None
    outputs = _class_count(imp)  # None when the file does not say: one forward pass tells
    facts["input_shape"] = _check_shape(facts.get("input_shape", list(shape)), shape, path)
    config = facts.get("config", {})
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: metadata {PREFIX}config must be a JSON object")
    facts["config"] = config
    if outputs is None:
        outputs = _outputs_of(model, shape)
    if "classes" in facts:
        facts["classes"] = _check_classes(facts["classes"], outputs, path)
    else:
        facts["classes"] = [str(c) for c in range(outputs or 0)]
    facts["normalize"] = _check_normalize(
        facts.get("normalize", default_normalize(shape)), shape, path
    )
    if outputs:
        facts["config"] = {**config, "num_classes": outputs}
    model_name = facts.get("model", path_stem(path))
    if not isinstance(model_name, str) or not model_name or len(model_name) > 100:
        raise CheckpointError(f"{path}: metadata {PREFIX}model must be a short name")
    producer = f"{proto.producer_name} {proto.producer_version}".strip()
    return {
        **facts,
        "model": model_name,
        "format": "onnx",
        "opset": imp.opset,
        "producer": producer,
    }


def default_normalize(shape):
    if tuple(shape) == (1, 28, 28):
        return MNIST
    return IMAGENET if shape[0] == 3 else {"mean": [0.0], "std": [1.0]}


def path_stem(path):
    from pathlib import Path

    return Path(path).stem


def image_shape(imp):
    """(C, H, W) when the graph has one float input (N, C, H, W) with fixed C, H, W, else None."""
    dims = imp.shape(imp.inputs[0]) if len(imp.inputs) == 1 else None
    float_input = len(imp.inputs) == 1 and imp.input_types.get(imp.inputs[0]) in (1, 10, 11, 16)
    if dims is None or len(dims) != 4 or None in dims[1:] or min(dims[1:]) < 1 or not float_input:
        return None
    return tuple(dims[1:])


def check_batch(model, imp, path):
    """A graph exported for a fixed batch must still run on another batch size (eval uses 500)."""
    from ..autograd import no_grad

    fixed = imp.shape(imp.inputs[0])[0]
    if fixed is None:
        return
    try:
        with no_grad():
            model(np.zeros((fixed + 1, *model.input_shape), np.float32))
    except ConvscopeError as exc:
        raise CheckpointError(
            f"{path}: the graph was exported for a fixed batch of {fixed} (input"
            f" {_dims(imp.shape(imp.inputs[0]))}) and fails on {fixed + 1} images ({exc}); export"
            f" it with a dynamic batch axis: torch.onnx.export(..., dynamic_shapes=({{0:"
            f" torch.export.Dim('batch')}},)), or dynamic_axes={{'x': {{0: 'batch'}}}} with"
            f" dynamo=False"
        ) from None


def _image_input(imp, path):
    shape = image_shape(imp)
    if shape is None:
        described = ", ".join(f"{n} {_dims(imp.shape(n))}" for n in imp.inputs) or "none"
        raise CheckpointError(
            f"{path}: convscope runs image models whose one input is a float batch (N, C, H, W)"
            f" with fixed C, H, W; this graph's inputs are: {described}; use"
            f" convscope.onnx.load(path) in Python for other graphs"
        )
    return shape


def _dims(dims):
    return (
        "(unknown shape)"
        if dims is None
        else "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"
    )


def _class_count(imp):
    dims = imp.shape(imp.outputs[0]) if len(imp.outputs) == 1 else None
    return dims[1] if dims and len(dims) == 2 and dims[1] else None


def _outputs_of(model, shape):
    """K when the model maps one image to (1, K) logits, else None."""
    from ..autograd import no_grad

    with no_grad():
        out = model(np.zeros((1, *shape), np.float32))
    out = out[0] if isinstance(out, tuple) else out
    return int(out.shape[1]) if len(out.shape) == 2 else None


def _check_shape(value, shape, path):
    ok = isinstance(value, list) and len(value) == 3 and all(isinstance(v, int) for v in value)
    if not ok or tuple(value) != tuple(shape):
        raise CheckpointError(
            f"{path}: metadata {PREFIX}input_shape={value!r} does not match the graph's input"
            f" (C, H, W) = {list(shape)}; fix or remove it"
        )
    return list(value)


def _check_classes(value, outputs, path):
    if not isinstance(value, list) or not all(isinstance(c, str | int) for c in value):
        raise CheckpointError(f"{path}: metadata {PREFIX}classes must be a list of names")
    if outputs is not None and len(value) != outputs:
        raise CheckpointError(
            f"{path}: metadata {PREFIX}classes names {len(value)} classes but the model has"
            f" {outputs} outputs; give one name per output"
        )
    return [str(c) for c in value]


def _check_normalize(value, shape, path):
    def numbers(v):
        return (
            isinstance(v, list)
            and v
            and all(isinstance(x, int | float) and math.isfinite(x) for x in v)
        )

    ok = isinstance(value, dict) and numbers(value.get("mean")) and numbers(value.get("std"))
    if ok:
        mean, std = value["mean"], value["std"]
        ok = len(mean) in (1, shape[0]) and len(std) in (1, shape[0]) and min(std) > 0
    if not ok:
        raise CheckpointError(
            f"{path}: metadata {PREFIX}normalize={value!r} must be {{'mean': [...], 'std': [...]}}"
            f" with 1 or {shape[0]} finite numbers each (std > 0)"
        )
    return {"mean": [float(v) for v in value["mean"]], "std": [float(v) for v in value["std"]]}
