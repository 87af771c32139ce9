"""Answers as JSON: arrays become nested lists, and a non-finite number becomes null (JSON has
no NaN or Infinity, and the page shows null as "not a number")."""

import json
import math

import numpy as np


def dumps(obj):
    """Compact JSON bytes of dicts/lists/tuples of numbers, strings, arrays and NumPy scalars."""
    try:
        text = json.dumps(obj, default=_array, allow_nan=False, separators=(",", ":"))
    except ValueError:  # a float nan/inf outside an array: clean the whole answer once
        text = json.dumps(_finite(obj), default=_array, allow_nan=False, separators=(",", ":"))
    return text.encode()


def _array(value):
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            return np.where(np.isfinite(value), value, None).tolist()
        return value.tolist()
    if isinstance(value, np.generic):
        return _finite(value.item())
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _finite(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
