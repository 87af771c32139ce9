"""Switch for graph recording: ``with cs.no_grad(): ...`` (also a decorator).

As in PyTorch, the switch is per thread: a ``no_grad`` block in one thread (a server request,
a data-parallel rank in a thread) never turns recording off in another.
"""

import contextlib
import threading

_local = threading.local()


def is_grad_enabled():
    return getattr(_local, "enabled", True)


def _set(enabled):
    _local.enabled = enabled


class no_grad(contextlib.ContextDecorator):  # noqa: N801 - PyTorch's name
    """Within this block ops record no graph, so no backward and no cached activations."""

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set(False)
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False


class enable_grad(contextlib.ContextDecorator):  # noqa: N801 - PyTorch's name
    """Re-enable recording inside a no_grad block."""

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set(True)
        return self

    def __exit__(self, *exc):
        _set(self._prev)
        return False


__all__ = ["no_grad", "enable_grad", "is_grad_enabled"]
