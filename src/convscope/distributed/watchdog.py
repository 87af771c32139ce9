"""Watchdog: ends every rank when one collective waits longer than a timeout (no silent hang).

    watchdog = Watchdog(timeout=300, on_timeout=lambda what, waited: world.abort(...))
    with watchdog.watch("allreduce_gradients"):
        comm.Allreduce(MPI.IN_PLACE, buf)           # blocking, at MPI's full speed

A daemon thread wakes every ``min(1, timeout / 4)`` seconds and calls ``on_timeout`` when the
collective being watched has run longer than ``timeout``. The collective itself stays MPI's
blocking call (mpi4py releases the GIL while it waits, so the thread runs). A rank that dies
is the launcher's business (it ends the others); the watchdog covers a rank that is alive but
never arrives (stuck in I/O, stopped, deadlocked).
"""

import contextlib
import threading
import time


class Watchdog:
    def __init__(self, timeout, on_timeout):
        self.timeout, self.on_timeout = timeout, on_timeout
        self._watched = None  # (what, started) while a collective runs
        self._thread = None

    @contextlib.contextmanager
    def watch(self, what):
        """Watch the block (a collective): on_timeout(what, seconds) if it outlasts the timeout."""
        if self.timeout is None:
            yield
            return
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="convscope-watchdog", daemon=True
            )
            self._thread.start()
        self._watched = (what, time.monotonic())
        try:
            yield
        finally:
            self._watched = None

    def _run(self):
        period = min(1.0, self.timeout / 4)
        while True:
            time.sleep(period)
            watched = self._watched  # one read: the main thread may reset it meanwhile
            if watched is not None and time.monotonic() - watched[1] > self.timeout:
                self.on_timeout(watched[0], time.monotonic() - watched[1])
