"""Whether the cache an op's forward returns will be used by a backward.

autograd.apply clears the flag around a forward it records no graph for (under no_grad, or
when no input requires grad); called directly, an op keeps its cache as always. An op that
can compute its forward in less memory when nothing is kept asks ``cache_needed()`` (conv:
its windows in cache-sized chunks of the batch). Per thread and task (a ContextVar): the
web server's threads keep their own.
"""

from contextvars import ContextVar

_NEEDED = ContextVar("convscope_cache_needed", default=True)


def cache_needed():
    """False inside a forward that autograd.apply runs without recording a graph."""
    return _NEEDED.get()


def set_cache_needed(flag):
    """Set the flag; returns the token that ``restore`` takes."""
    return _NEEDED.set(flag)


def restore(token):
    """Put the flag back as it was before ``set_cache_needed`` returned token."""
    _NEEDED.reset(token)
