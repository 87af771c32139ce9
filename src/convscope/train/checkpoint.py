"""Checkpoints in safetensors (its NumPy API): weights that travel to and from PyTorch.

    save_model(path, model, name="lenet", config={})     # keys = model.state_dict() keys
    model, meta = load_model(path)                        # rebuilds the model from the metadata

A model file holds exactly ``model.state_dict()`` (PyTorch's keys and shapes), so
``torch_model.load_state_dict(safetensors.torch.load_file(path))`` reads it, and a file saved
with ``safetensors.torch.save_file(torch_model.state_dict(), path)`` loads here (a file without
convscope metadata is matched to the zoo model whose keys and shapes it fits).

The training state (optimizer buffers, epoch, step, running sums) goes to a second file whose
nested structure is JSON metadata with arrays stored as tensors. Loading never executes code:
safetensors holds raw arrays and JSON only. Writes go to a temporary file in the same folder,
then ``os.replace``: a crash mid-save leaves the previous file intact. The header is written
with its metadata keys sorted, so the same weights and facts always give the same bytes.
"""

import json
import os
import secrets
from pathlib import Path

import numpy as np

from ..errors import CheckpointError, ConvscopeError
from ..models import MODELS, get_model
from .metadata import complete_facts, read_metadata

FORMAT = "convscope/1"
TMP_SUFFIX = ".tmp"


def atomic_write(path, data):
    """Write bytes to path via a temporary file in the same folder and os.replace.

    The temporary file is ``.<name>.<pid>.<random>.tmp``; a writer killed midway leaves it
    behind (``RunFolder`` removes such files under its lock)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_tensors(path, tensors, metadata):
    """Atomic safetensors file from {name: ndarray} and {str: str} metadata."""
    from safetensors.numpy import save

    arrays = {k: np.asarray(v, order="C") for k, v in tensors.items()}  # keeps 0-d arrays 0-d
    atomic_write(path, _sorted_metadata(save(arrays, metadata=metadata)))


def _sorted_metadata(blob):
    """The same safetensors bytes with the header's metadata keys in sorted order.

    safetensors writes its metadata from a hash map, in an order that changes from run to run;
    the data offsets are relative to the end of the header, so only the header is rewritten
    (padded with spaces to a multiple of 8 bytes, as the format asks)."""
    size = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + size])
    if "__metadata__" in header:
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        header = {"__metadata__": header.pop("__metadata__"), **header}
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-(8 + len(text)) % 8)
    return len(text).to_bytes(8, "little") + text + blob[8 + size :]


def load_tensors(path):
    """({name: ndarray}, {str: str} metadata) from a safetensors file; CheckpointError if unreadable."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    raw = path.read_bytes()
    try:
        tensors = load(raw)  # validates the header: offsets, shapes, dtypes
        size = int.from_bytes(raw[:8], "little")
        meta = json.loads(raw[8 : 8 + size]).get("__metadata__") or {}
    except SafetensorError as exc:  # a damaged header or data section
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from None
    except KeyError as exc:  # safetensors.numpy has no NumPy type for it (BF16, F8_*)
        raise CheckpointError(
            f"{path}: not a readable safetensors file (element type {exc} has no NumPy"
            f" equivalent; convert the weights to F32 or F64)"
        ) from None
    return tensors, meta


def save_model(path, model, name, config=None, **extra):
    """Write model.state_dict() with the model name, config and any extra JSON facts."""
    meta = {"format": FORMAT, "model": name, "config": json.dumps(config or {})}
    meta.update({k: json.dumps(v) for k, v in extra.items()})
    save_tensors(path, dict(model.state_dict()), meta)


def load_model(path):
    """(model, facts): the model rebuilt from the file's metadata with its weights loaded.

    path may be a run folder (its model.safetensors is read) or an ONNX file (convscope.onnx reads
    it). ``facts`` always holds ``model``, ``config``, ``normalize``, ``input_shape`` and
    ``classes`` (and ``epoch`` when saved): every metadata field is checked (``train.metadata``,
    or ``onnx.facts`` for an ONNX file) before the model is built.
    """
    path = Path(path)
    if path.suffix.lower() == ".onnx":  # graph and weights: convscope.onnx builds the model
        from ..onnx import load_checkpoint

        return load_checkpoint(path)
    if path.is_dir():
        path = path / "model.safetensors"
    tensors, meta = load_tensors(path)
    if meta.get("format") == FORMAT:
        name, config, facts = read_metadata(meta, tensors, path)
    else:
        name, config, facts = _guess_model(tensors, path), {}, {}
    try:
        model = get_model(name, **config)
    except ConvscopeError as exc:
        raise CheckpointError(f"{path}: its metadata builds no model ({exc})") from None
    load_weights(model, tensors, path)
    return model, complete_facts(facts, model, name, config, path)


def load_weights(model, tensors, path="state_dict"):
    """model.load_state_dict(tensors); CheckpointError naming the file and every bad key."""
    try:
        model.load_state_dict(tensors)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}; pick the --model it was trained with") from None


def _guess_model(tensors, path):
    shapes = {k: tuple(v.shape) for k, v in tensors.items()}
    for name in MODELS:
        if {k: tuple(v.shape) for k, v in get_model(name).state_dict().items()} == shapes:
            return name
    raise CheckpointError(
        f"{path}: has no convscope metadata and its keys fit no known model"
        f" ({', '.join(MODELS)}); keys: {', '.join(sorted(tensors)[:8])}"
    )


# ---- training state: nested dicts/lists of numbers, strings and arrays -------------------


def save_state(path, state):
    """Atomically write a nested structure; arrays become tensors, the rest JSON metadata."""
    tensors = {}
    skeleton = _encode(state, "s", tensors)
    save_tensors(path, tensors, {"format": FORMAT + "/state", "state": json.dumps(skeleton)})


def load_state(path):
    """The structure save_state wrote (tuples and integer dict keys restored)."""
    tensors, meta = load_tensors(path)
    if meta.get("format") != FORMAT + "/state":
        raise CheckpointError(f"{path}: not a convscope training-state file")
    try:
        return _decode(json.loads(meta["state"]), tensors)
    except (KeyError, TypeError, ValueError) as exc:  # a skeleton that save_state did not write
        raise CheckpointError(f"{path}: damaged training state ({exc!r})") from None


def _encode(obj, key, tensors):
    if isinstance(obj, np.ndarray):
        tensors[key] = obj
        return {"__array__": key}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {
            "__dict__": [
                [k, _encode(v, f"{key}.{i}", tensors)] for i, (k, v) in enumerate(obj.items())
            ]
        }
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, f"{key}.{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{key}.{i}", tensors) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise CheckpointError(f"save_state: cannot store a {type(obj).__name__} at {key}")


def _decode(obj, tensors):
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if "__array__" in obj:
            return tensors[obj["__array__"]]
        if "__tuple__" in obj:
            return tuple(_decode(v, tensors) for v in obj["__tuple__"])
        return {k: _decode(v, tensors) for k, v in obj["__dict__"]}
    return obj
