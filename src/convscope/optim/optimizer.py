"""Optimizer base: parameter groups, zero_grad, and a pickle-free state_dict.

``params`` is an iterable of Tensors, or a list of dicts ``{"params": [...], "lr": ...}``
(param groups), each overriding the defaults.

state_dict format (plain Python numbers, lists and numpy arrays only)::

    {
      "state": {i: {"step": 3, "exp_avg": ndarray, ...}, ...},  # i = index of the parameter
      "param_groups": [{"lr": 0.1, "momentum": 0.9, ..., "params": [0, 1, 2]}, ...],
    }

Parameters are numbered across groups in order. ``flatten_state_dict`` splits it into
``arrays`` (``"state.<i>.<name>" -> ndarray``, ready for safetensors) and ``meta``
(JSON-serialisable: the param groups and the scalar state); ``unflatten_state_dict``
inverts it.
"""

import inspect
import numbers

import numpy as np

from ..autograd import Tensor, enable_grad
from ..errors import CheckpointError, ConvscopeError


class Optimizer:
    """Holds ``param_groups`` (list of dicts) and per-parameter ``state`` (dict keyed by Tensor)."""

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        groups = _as_list(params, type(self).__name__)
        if not groups:
            raise ConvscopeError(
                f"{type(self).__name__}: got an empty parameter list; pass model.parameters()"
            )
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group):
        """Append a group: its own hyper-parameters override the defaults."""
        name = type(self).__name__
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise ConvscopeError(
                    f"{name}: parameters must be Tensors, got {type(p).__name__}; pass"
                    f" model.parameters()"
                )
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ConvscopeError(f"{name}: a parameter appears in more than one parameter group")
        full = {**self.defaults, **group, "params": params}
        for key, default in _numeric_defaults(type(self)).items():
            value = full.get(key, default)
            if not _is_number(value):
                raise ConvscopeError(
                    f"{name}: {key} must be a number, got {value!r} ({type(value).__name__});"
                    f" e.g. {key}={default}"
                )
        self._validate(full)
        self.param_groups.append(full)

    def _validate(self, group):
        """Subclasses raise ConvscopeError for bad hyper-parameters."""

    def zero_grad(self, set_to_none=True):
        """Clear the gradients of every parameter (None by default, as PyTorch)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None if set_to_none or p.grad is None else np.zeros_like(p.data)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss if given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(
                        p, np.asarray(p.grad, dtype=p.dtype), self.state.setdefault(p, {}), group
                    )
        return loss

    def _update(self, param, grad, state, group):
        raise NotImplementedError

    # ---- checkpoints -------------------------------------------------------
    def _ordered_params(self):
        return [p for g in self.param_groups for p in g["params"]]

    def state_dict(self):
        """The format in the module docstring; arrays are copies."""
        index = {id(p): i for i, p in enumerate(self._ordered_params())}
        state = {
            index[id(p)]: {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
            for p, s in self.state.items()
            if id(p) in index
        }
        groups = [
            {
                **{k: v for k, v in g.items() if k != "params"},
                "params": [index[id(p)] for p in g["params"]],
            }
            for g in self.param_groups
        ]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyper-parameters and state saved by ``state_dict`` (for the same parameters)."""
        name = type(self).__name__
        groups = state_dict["param_groups"]
        sizes = [len(g["params"]) for g in self.param_groups]
        saved = [len(g["params"]) for g in groups]
        if sizes != saved:
            raise CheckpointError(
                f"{name}.load_state_dict: the saved state has parameter groups of sizes {saved} but"
                f" this optimizer has {sizes}; build the optimizer over the same parameters"
            )
        params = self._ordered_params()
        new_state, problems = {}, []
        for key, entry in state_dict["state"].items():
            i = int(key)
            if not 0 <= i < len(params):
                problems.append(f"state for parameter {i} (only {len(params)} parameters)")
                continue
            p = params[i]
            restored = {}
            for k, v in entry.items():
                if isinstance(v, numbers.Number) or v is None:
                    restored[k] = v
                    continue
                arr = np.asarray(v)
                if arr.ndim == 0 and p.ndim != 0:  # a scalar (e.g. "step") saved as a 0-d array
                    restored[k] = arr.item()
                    continue
                if arr.shape != p.shape:
                    problems.append(f"state.{i}.{k} expects {p.shape}, got {arr.shape}")
                restored[k] = arr.astype(p.dtype)
            new_state[p] = restored
        if problems:
            raise CheckpointError(
                f"{name}.load_state_dict: the saved state does not fit these parameters: "
                + "; ".join(problems)
                + "; build the optimizer over the model the state was saved from"
            )
        for group, saved_group in zip(self.param_groups, groups, strict=True):
            for k, v in saved_group.items():
                if k != "params":
                    group[k] = tuple(v) if isinstance(group.get(k), tuple) else v
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


def flatten_state_dict(state_dict):
    """(arrays, meta): arrays ``"state.<i>.<name>" -> ndarray``; meta JSON-serialisable."""
    arrays, scalars = {}, {}
    for i, entry in state_dict["state"].items():
        for k, v in entry.items():
            if isinstance(v, np.ndarray):
                arrays[f"state.{i}.{k}"] = v
            else:
                scalars.setdefault(str(i), {})[k] = v
    groups = [
        {k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()}
        for g in state_dict["param_groups"]
    ]
    return arrays, {"param_groups": groups, "scalars": scalars}


def unflatten_state_dict(arrays, meta):
    """Inverse of ``flatten_state_dict``."""
    state = {}
    for i, entry in meta["scalars"].items():
        state.setdefault(int(i), {}).update(entry)
    for key, arr in arrays.items():
        _, i, name = key.split(".", 2)
        state.setdefault(int(i), {})[name] = np.asarray(arr)
    return {"state": state, "param_groups": meta["param_groups"]}


def _as_list(params, name):
    """The parameters (or param-group dicts) as a list; a model or a non-iterable gets a sentence."""
    if isinstance(params, Tensor):
        return [params]
    if hasattr(params, "parameters") and hasattr(params, "state_dict"):
        raise ConvscopeError(
            f"{name}: got the model {type(params).__name__} itself; pass model.parameters()"
        )
    try:
        return list(params)
    except TypeError:
        raise ConvscopeError(
            f"{name}: params must be an iterable of Tensors, got {type(params).__name__};"
            f" pass model.parameters()"
        ) from None


def _numeric_defaults(cls):
    """name -> default of the constructor's numeric hyper-parameters (lr, momentum, eps, ...)."""
    params = inspect.signature(cls).parameters.values()
    return {p.name: p.default for p in params if _is_number(p.default)}


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def require(ok, message):
    """Raise ConvscopeError(message) unless ok: the hyper-parameter checks of every optimizer."""
    if not ok:
        raise ConvscopeError(message)
