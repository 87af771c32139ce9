"""A run folder on disk: what a training run leaves behind, written so that no crash loses it.

    runs/lenet-20260101-120000/
        model.safetensors   weights + metadata (loads in PyTorch too)
        metrics.jsonl       one JSON object per finished epoch
        curves.png          loss and accuracy per epoch
        state.safetensors   optimizer, progress, settings, history: what --resume reads
        .lock               held (flock, through ``filelock``) while a process trains into it

After every epoch (and on a stop) the four files are rewritten, each atomically (a temporary
file, then ``os.replace``), state.safetensors last: the other three are derived from what it
holds, so whatever moment a kill -9 hits, the state on disk describes files at least as new as
itself and ``--resume`` rewrites the rest. The lock dies with its process (the kernel drops an
flock when the holder exits, even by kill -9): no stale lock ever blocks a folder. Temporary
files a killed writer left are removed when the next run takes the lock.
"""

import json
from pathlib import Path

from ..errors import CheckpointError
from .checkpoint import TMP_SUFFIX, atomic_write, save_model, save_state
from .curves import curves_png

FILES = ("model.safetensors", "metrics.jsonl", "curves.png", "state.safetensors")


class RunFolder:
    """The files of one run under ``path``; ``lock()`` before writing, ``unlock()`` after."""

    def __init__(self, path):
        self.path = Path(path)
        self._lock = None

    def __truediv__(self, name):
        return self.path / name

    def __str__(self):
        return str(self.path)

    @property
    def state(self):
        return self.path / "state.safetensors"

    @property
    def has_state(self):
        return self.state.is_file()

    @property
    def unfinished(self):
        """True for the files of a run killed before its first state was written."""
        return not self.has_state and any((self / name).exists() for name in FILES[:3])

    def lock(self):
        """Create the folder and take its lock; CheckpointError when another process holds it."""
        from filelock import FileLock, Timeout

        if self._lock is not None:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.path / ".lock", timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise CheckpointError(
                f"{self.path}: another convscope train is writing to this run folder; wait for"
                f" it to finish (or stop it), or pick another --out"
            ) from None
        self._lock = lock
        self._remove_stale_temporaries()

    def unlock(self):
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _remove_stale_temporaries(self):
        """Delete what an atomic write killed midway left (only ever called under the lock)."""
        for name in FILES:
            for tmp in self.path.glob(f".{name}.*{TMP_SUFFIX}"):
                tmp.unlink(missing_ok=True)

    def save(self, model, name, model_config, facts, history, state):
        """Write the four files for the current point of the run, state.safetensors last."""
        epoch = len(history)
        save_model(self / "model.safetensors", model, name, model_config, epoch=epoch, **facts)
        rows = "".join(json.dumps(row) + "\n" for row in history)
        atomic_write(self / "metrics.jsonl", rows.encode())
        if history:
            atomic_write(self / "curves.png", curves_png(history))
        save_state(self.state, state)
