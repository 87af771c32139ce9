"""Global switch for graph recording: ``with cs.no_grad(): ...`` (also a decorator)."""

import contextlib

_enabled = True


def is_grad_enabled():
    return _enabled


class no_grad(contextlib.ContextDecorator):  # noqa: N801 - PyTorch's name
    """Within this block ops record no graph, so no backward and no cached activations."""

    def __enter__(self):
        global _enabled
        self._prev, _enabled = _enabled, False
        return self

    def __exit__(self, *exc):
        global _enabled
        _enabled = self._prev
        return False


class enable_grad(contextlib.ContextDecorator):  # noqa: N801 - PyTorch's name
    """Re-enable recording inside a no_grad block."""

    def __enter__(self):
        global _enabled
        self._prev, _enabled = _enabled, True
        return self

    def __exit__(self, *exc):
        global _enabled
        _enabled = self._prev
        return False


__all__ = ["no_grad", "enable_grad", "is_grad_enabled"]
