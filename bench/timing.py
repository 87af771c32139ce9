"""Same-process, alternating timing: warm-ups, then rounds that run every contender once
(in a rotating order, with a short pause after each call), reported as medians.

Alternating makes a slow spell on the shared machine hit every contender alike, and
the pause lets BLAS worker threads go back to sleep before the next call starts.
"""

import statistics
import time


def time_alternating(fns, *, warmup=2, rounds=7, pause=0.03):
    """fns: name -> zero-argument callable. Returns name -> list of seconds, one per round."""
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
            time.sleep(pause)
    times = {name: [] for name in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            t0 = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - t0)
            time.sleep(pause)
    return times


def median_ms(seconds):
    return 1e3 * statistics.median(seconds)
