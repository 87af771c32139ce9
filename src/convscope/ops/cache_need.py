"""Whether the cache an op's forward returns will be used by a backward.

autograd.apply clears the flag around a forward it records no graph for (under no_grad, or
when no input requires grad); called directly, an op keeps its cache as always. An op that
can compute its forward in less memory when nothing is kept asks ``cache_needed()`` (conv:
its windows in cache-sized chunks of the batch). Per thread and task (a ContextVar): the
web server's threads keep their own.
"""

from contextvars import ContextVar

_NEEDED = ContextVar("convscope_cache_needed", default=True)


# The ContextVar's own methods (C calls, no Python frame: apply runs them for every op
# recorded without a graph, 24 times in a LeNet-5 forward):
cache_needed = _NEEDED.get  # () -> False inside a forward that apply runs without a graph
set_cache_needed = _NEEDED.set  # (flag) -> the token that ``restore`` takes
restore = _NEEDED.reset  # (token): the flag as it was before set_cache_needed returned token
