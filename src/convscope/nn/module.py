"""Module: the base of every layer and network, with PyTorch's registration rules.

Assigning a Parameter, a Module or (via ``register_buffer``) an ndarray to an attribute
registers it, in order. ``state_dict()`` walks each module's parameters, then its
buffers, then its children, giving exactly PyTorch's keys (``conv1.weight``,
``bn.running_mean``, ``bn.num_batches_tracked``, ...). Buffers are plain ndarrays.
As in PyTorch, a layer registered under two names appears under both in ``state_dict()``
(``a.weight`` and ``b.weight``), while ``parameters()`` yields each Parameter once.
Forward hooks (``register_forward_hook``, ``register_forward_pre_hook``) take PyTorch's
signatures and return a handle whose ``remove()`` unregisters them (``nn.hooks``).
"""

from collections import OrderedDict
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from ..autograd import Tensor
from ..errors import CheckpointError, ConvscopeError
from .hooks import add_hook, call_with_hooks
from .parameter import Parameter


class IncompatibleKeys(NamedTuple):
    """What load_state_dict(strict=False) skipped."""

    missing_keys: list
    unexpected_keys: list


class Module:
    """Base class: subclass it, assign layers/parameters in ``__init__``, define ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())  # weakref-able, for handles
        object.__setattr__(self, "_forward_hooks", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        if self._forward_pre_hooks or self._forward_hooks:
            return call_with_hooks(self, args, kwargs)
        return self.forward(*args, **kwargs)

    # ---- forward hooks (PyTorch's signatures) ------------------------------
    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Call ``hook(module, args)`` before every forward; a non-None result replaces the
        positional inputs (a tuple, or one value). With ``with_kwargs=True`` it is
        ``hook(module, args, kwargs)`` and may return a new ``(args, kwargs)`` pair.
        Returns a RemovableHandle; ``prepend=True`` runs it before the hooks already there."""
        return add_hook(self._forward_pre_hooks, hook, prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """Call ``hook(module, args, output)`` after every forward (``args``: the tuple of
        positional inputs); a non-None result replaces the output. With ``with_kwargs=True`` it
        is ``hook(module, args, kwargs, output)``; ``always_call=True`` also calls it (output
        None) when forward raises. Returns a RemovableHandle: ``handle.remove()``, or ``with``."""
        return add_hook(self._forward_hooks, hook, prepend, with_kwargs, always_call)

    # ---- registration ------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__(); call super().__init__() first"
            )
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} to parameter {name!r};"
                    f" wrap it in nn.Parameter or assign None"
                )
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} to sub-module {name!r}")
            modules[name] = None
        elif name in buffers:
            buffers[name] = None if value is None else np.asarray(value)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def _forget(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        self.__dict__.pop(name, None)

    def register_parameter(self, name, param):
        """Register a Parameter (or None, e.g. ``bias=False``; None is left out of state_dict)."""
        if param is None:
            self._forget(name)
            self._parameters[name] = None
        else:
            setattr(self, name, param if isinstance(param, Parameter) else Parameter(param))

    def register_buffer(self, name, array):
        """Register a non-learnable ndarray saved in state_dict (e.g. BatchNorm's running_mean)."""
        self._forget(name)
        self._buffers[name] = None if array is None else np.asarray(array)

    def add_module(self, name, module):
        self._forget(name)
        self._modules[name] = module

    # ---- traversal ---------------------------------------------------------
    def named_modules(self, prefix=""):
        """(name, module) for self (name ``prefix``) and every descendant, depth first, once each."""
        seen, stack = set(), [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [
                (f"{name}.{k}" if name else k, m)
                for k, m in module._modules.items()
                if m is not None
            ]
            stack.extend(reversed(children))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, store, recurse):
        seen = set()
        mods = self.named_modules() if recurse else [("", self)]
        for prefix, module in mods:
            for name, value in getattr(module, store).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{prefix}.{name}" if prefix else name), value

    def named_parameters(self, recurse=True):
        yield from self._named_members("_parameters", recurse)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse):
            yield p

    def named_buffers(self, recurse=True):
        yield from self._named_members("_buffers", recurse)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse):
            yield b

    def apply(self, fn):
        """Call fn on every child (recursively), then on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ---- modes, gradients, dtype -------------------------------------------
    def train(self, mode=True):
        """Training mode (Dropout drops, BatchNorm uses batch statistics); returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        """Evaluation mode: Dropout is the identity, BatchNorm uses its running statistics."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad = bool(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Clear every parameter's ``.grad`` (None, as PyTorch's default, or zeros)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = np.zeros_like(p.data)

    def double(self):
        """Cast parameters, gradients and float buffers to float64 in place; returns self."""
        return self._cast(np.float64)

    def float(self):
        """Cast parameters, gradients and float buffers to float32 in place; returns self."""
        return self._cast(np.float32)

    def to(self, *args, dtype=None, device=None):
        """``to(np.float64)``, ``to("float32")``, ``to(dtype=...)``; a device "cpu" is a no-op.

        convscope computes on the CPU with NumPy, so any other device is an error. Returns self.
        """
        for arg in (*args, device, dtype):
            if arg is None or (isinstance(arg, str) and arg == "cpu"):
                continue
            try:
                dt = np.dtype(arg)
            except TypeError:
                dt = None
            if dt is None or dt.kind != "f" or dt.itemsize not in (4, 8):
                raise ConvscopeError(
                    f"{type(self).__name__}.to: cannot move to {arg!r}; convscope runs on the CPU"
                    f" in float32 or float64: use .to(np.float32), .to(np.float64) or .to('cpu')"
                )
            self._cast(dt.type)
        return self

    def _cast(self, dtype):
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            if p.grad is not None:
                p.grad = p.grad.astype(dtype)
        for module in self.modules():
            for name, buf in module._buffers.items():
                if buf is not None and buf.dtype.kind == "f":
                    module._buffers[name] = buf.astype(dtype)
        return self

    # ---- checkpoints -------------------------------------------------------
    def state_dict(self):
        """name -> ndarray copy: each module's parameters, then its buffers, then its children.

        A shared layer or parameter appears under every name it is registered as (PyTorch's rule).
        """
        state = {}
        for key, (module, store, name) in self._state_slots().items():
            value = getattr(module, store)[name]
            state[key] = (value.data if isinstance(value, Tensor) else value).copy()
        return state

    def _state_slots(self, prefix=""):
        """name -> (module, store, key) for every entry state_dict() holds, duplicates included."""
        slots = {}
        for store in ("_parameters", "_buffers"):
            for name, value in getattr(self, store).items():
                if value is not None:
                    slots[prefix + name] = (self, store, name)
        for name, child in self._modules.items():
            if child is not None:
                slots.update(child._state_slots(f"{prefix}{name}."))
        return slots

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays (ndarrays, Tensors, or anything np.asarray accepts) into the model.

        Raises CheckpointError listing every mis-shaped key and, when ``strict``, every
        missing and unexpected key, with shapes. Returns (missing_keys, unexpected_keys).
        Nothing is copied unless every key fits.
        """
        if not isinstance(state_dict, Mapping):
            raise CheckpointError(
                f"load_state_dict: expects a mapping name -> array, e.g. from state_dict() or"
                f" safetensors' load_file, got a {type(state_dict).__name__}"
            )
        slots = self._state_slots()
        arrays = {k: _to_numpy(v) for k, v in state_dict.items()}
        missing = [k for k in slots if k not in arrays]
        unexpected = [k for k in arrays if k not in slots]
        current = self.state_dict()
        misshaped = [
            f"{k} expects {current[k].shape}, got {arrays[k].shape}"
            for k in slots
            if k in arrays and arrays[k].shape != current[k].shape
        ]
        problems = []
        if strict and missing:
            problems.append(
                "missing keys: " + ", ".join(f"{k} {current[k].shape}" for k in missing)
            )
        if strict and unexpected:
            problems.append(
                "unexpected keys: " + ", ".join(f"{k} {arrays[k].shape}" for k in unexpected)
            )
        if misshaped:
            problems.append("mis-shaped keys: " + "; ".join(misshaped))
        if problems:
            raise CheckpointError(
                f"load_state_dict: the state does not fit {type(self).__name__}: "
                + " | ".join(problems)
                + "; build the model with the architecture the state was saved from"
                + (" (or pass strict=False to skip missing and unexpected keys)" if strict else "")
            )
        for key, (module, store, name) in slots.items():
            if key in arrays:
                value = getattr(module, store)[name]
                target = value.data if isinstance(value, Tensor) else value
                target[...] = arrays[key]
        return IncompatibleKeys(missing, unexpected)

    # ---- printing ----------------------------------------------------------
    def extra_repr(self):
        """The text inside the parentheses of this module's one-line repr."""
        return ""

    def __repr__(self):
        lines = [f"({name}): " + _indent(repr(m)) for name, m in self._modules.items()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = ([extra] if extra else []) + lines
        return f"{type(self).__name__}(\n  " + "\n  ".join(body) + "\n)"


def _to_numpy(value):
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _indent(text):
    return text.replace("\n", "\n  ")
