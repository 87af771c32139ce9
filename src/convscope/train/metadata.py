"""The facts a model file carries, checked field by field before anything is built from them.

A convscope model file's safetensors metadata holds ``format``, ``model`` (a zoo name) and JSON
values: ``config`` (the zoo builder's arguments), ``epoch``, ``normalize`` ({"mean": [...],
"std": [...]}), ``input_shape`` ([C, H, W]) and ``classes`` (one name per output). A 250 KB
file must not make eval allocate 313 GiB, so every field is checked for type and range, and
every size in ``config`` against the file's own tensors (each is the length of some tensor
axis, or smaller), *before* the model is built:

    name, config, facts = read_metadata(meta, tensors, path)   # CheckpointError: one sentence
    model = get_model(name, **config); ...                      # then load the weights
    facts = complete_facts(facts, model, path)                  # input_shape, classes vs the model

A file without convscope metadata (e.g. saved by PyTorch) gets the defaults: MNIST
normalisation, the model's own input shape, classes named 0, 1, 2, ...
"""

import inspect
import json
import math

import numpy as np

from ..autograd import Tensor, no_grad
from ..errors import CheckpointError, ConvscopeError
from ..models import MODELS, canonical_name

MNIST_NORMALIZE = {"mean": [0.1307], "std": [0.3081]}
FIELDS = ("config", "epoch", "normalize", "input_shape", "classes")
_WAY_OUT = "the file is damaged or was not written by convscope.train.save_model"


def read_metadata(meta, tensors, path):
    """(model name, config, facts) from a convscope file's metadata, each field checked."""

    def bad(field, value, problem):
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise CheckpointError(f"{path}: metadata {field}={shown} {problem}; {_WAY_OUT}")

    name = meta.get("model")
    try:
        name = canonical_name(name) if isinstance(name, str) else None
    except ConvscopeError:
        name = None
    if name is None:
        bad("model", meta.get("model"), f"is not a model convscope knows ({', '.join(MODELS)})")
    facts = {}
    for key in FIELDS:
        if key in meta:
            try:
                facts[key] = json.loads(meta[key])
            except ValueError:
                bad(key, meta[key], "is not JSON")
    config = _checked_config(facts.pop("config", {}), name, tensors, bad)
    if "epoch" in facts and not (_is_int(facts["epoch"]) and facts["epoch"] >= 0):
        bad("epoch", facts["epoch"], "is not an integer >= 0")
    if "normalize" in facts:
        _check_normalize(facts["normalize"], bad)
    shape = facts.get("input_shape")
    if shape is not None and not (
        isinstance(shape, list) and len(shape) == 3 and all(_is_int(s) and s >= 1 for s in shape)
    ):
        bad("input_shape", shape, "is not [C, H, W] (three integers >= 1)")
    classes = facts.get("classes")
    if classes is not None and not (
        isinstance(classes, list) and classes and all(isinstance(c, str) for c in classes)
    ):
        bad("classes", classes, "is not a list of class names (strings)")
    return name, config, facts


def complete_facts(facts, model, name, config, path):
    """``facts`` checked against the built model, with the defaults for what is missing."""
    expected = list(model.input_shape)
    shape = facts.get("input_shape", expected)
    if shape != expected:
        raise CheckpointError(
            f"{path}: metadata input_shape={shape} does not match the {name} model it describes,"
            f" which takes {expected}; {_WAY_OUT}"
        )
    outputs = _outputs(model, expected)
    classes = facts.get("classes", [str(c) for c in range(outputs)])
    if len(classes) != outputs:
        raise CheckpointError(
            f"{path}: metadata names {len(classes)} classes but the model has {outputs} outputs;"
            f" {_WAY_OUT}"
        )
    normalize = facts.get("normalize", MNIST_NORMALIZE)
    if len(normalize["mean"]) not in (1, expected[0]):
        raise CheckpointError(
            f"{path}: metadata normalize has {len(normalize['mean'])} means for images of"
            f" {expected[0]} channels (give 1 or {expected[0]}); {_WAY_OUT}"
        )
    done = {"model": name, "config": config, "normalize": normalize}
    done.update(input_shape=shape, classes=classes)
    if "epoch" in facts:
        done["epoch"] = facts["epoch"]
    return done


def _checked_config(config, name, tensors, bad):
    """The builder's keyword arguments; every size at most the longest axis in the file."""
    if not isinstance(config, dict):
        bad("config", config, "is not a JSON object")
    params = inspect.signature(MODELS[name]).parameters
    unknown = sorted(set(config) - set(params))
    if unknown:
        bad("config", config, f"has {unknown[0]!r}, not a setting of {name} ({', '.join(params)})")
    longest = max((max(t.shape, default=1) for t in tensors.values()), default=0)
    for key, value in config.items():
        listed = isinstance(params[key].default, tuple | list)
        sizes = value if listed and isinstance(value, list) else [value]
        if listed and not (isinstance(value, list) and 1 <= len(value) <= len(tensors)):
            bad(f"config {key}", value, f"is not a list of 1 to {len(tensors)} sizes")
        if not all(_is_int(v) and 1 <= v <= longest for v in sizes):
            bad(
                f"config {key}",
                value,
                f"is not {'a list of sizes' if listed else 'a size'} between 1 and {longest}"
                f" (the longest tensor axis in the file)",
            )
    return config


def _check_normalize(norm, bad):
    if not (isinstance(norm, dict) and set(norm) == {"mean", "std"}):
        bad("normalize", norm, 'is not {"mean": [...], "std": [...]}')
    mean, std = norm["mean"], norm["std"]
    if not (_numbers(mean) and _numbers(std) and len(mean) == len(std) and 1 <= len(mean) <= 4):
        bad("normalize", norm, "needs as many finite means as stds (1 per channel)")
    if not all(s > 0 for s in std):
        bad("normalize", norm, "has a std <= 0")


def _outputs(model, input_shape):
    """The number of logits the model gives for one image (a forward pass on zeros)."""
    model.eval()
    with no_grad():
        return int(model(Tensor(np.zeros((1, *input_shape), np.float32))).shape[1])


def _numbers(values):
    return isinstance(values, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values
    )


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)
