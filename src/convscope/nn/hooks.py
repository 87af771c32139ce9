"""Forward hooks with PyTorch's signatures and removable handles (``Module.register_*_hook``).

    handle = layer.register_forward_hook(lambda module, args, output: seen.append(output))
    model(x)            # the hook runs after layer.forward; a non-None result replaces output
    handle.remove()     # or: with layer.register_forward_hook(...): ...

A module keeps its hooks in two OrderedDicts (a handle holds a weak reference to one), id -> (hook, with_kwargs,
always_call); ``Module.__call__`` goes through ``call_with_hooks`` only when one is set.
"""

import itertools
import warnings
import weakref

from ..errors import ConvscopeError


class RemovableHandle:
    """What registering a hook returns: ``remove()`` unregisters it (twice is harmless);
    ``with handle:`` removes it when the block ends. ``id`` is unique per handle."""

    _ids = itertools.count()

    def __init__(self, hooks):
        self.id = next(RemovableHandle._ids)
        self._hooks = weakref.ref(hooks)

    def remove(self):
        hooks = self._hooks()
        if hooks is not None:
            hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def add_hook(hooks, hook, prepend=False, with_kwargs=False, always_call=False):
    """Register hook in the OrderedDict ``hooks`` (last, or first with prepend); its handle."""
    if not callable(hook):
        raise ConvscopeError(
            f"register hook: expects a callable such as hook(module, args, output), got a"
            f" {type(hook).__name__}"
        )
    handle = RemovableHandle(hooks)
    entry = (hook, bool(with_kwargs), bool(always_call))
    hooks[handle.id] = entry
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def call_with_hooks(module, args, kwargs):
    """module.forward(*args, **kwargs) between its pre-hooks and its forward hooks."""
    for hook, with_kwargs, _ in list(module._forward_pre_hooks.values()):
        if with_kwargs:
            result = hook(module, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise ConvscopeError(
                        f"{type(module).__name__}: a forward pre-hook registered with"
                        f" with_kwargs=True must return None or an (args, kwargs) pair, got"
                        f" {type(result).__name__}"
                    )
                args, kwargs = result
        else:
            result = hook(module, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
    hooks = list(module._forward_hooks.values())
    try:
        output = module.forward(*args, **kwargs)
    except Exception:
        for hook, with_kwargs, always_call in hooks:
            if always_call:
                _call_after_failure(module, hook, with_kwargs, args, kwargs)
        raise
    for hook, with_kwargs, _ in hooks:
        result = hook(module, args, kwargs, output) if with_kwargs else hook(module, args, output)
        if result is not None:
            output = result
    return output


def _call_after_failure(module, hook, with_kwargs, args, kwargs):
    """An always_call hook after forward raised: output None; its own error only warns."""
    try:
        hook(module, args, kwargs, None) if with_kwargs else hook(module, args, None)
    except Exception as exc:  # the forward's exception is the one that propagates
        warnings.warn(f"forward hook {hook!r} raised {exc!r} after forward failed", stacklevel=4)
