"""Which checkpoint a command uses when the user names none.

find_checkpoint("runs/lenet-2026")   -> runs/lenet-2026/model.safetensors
find_checkpoint(None)                -> the newest runs/*/model.safetensors, else the bundled LeNet-5
"""

from pathlib import Path

from ..errors import CheckpointError
from ..models.bundled import BUNDLED_LENET


def find_checkpoint(path=None, runs="runs"):
    """The model file to load: ``path`` (a file or a run folder), or the default.

    The default is the most recently written ``model.safetensors`` under ``runs`` (a folder
    relative to the working directory), else the LeNet-5 bundled with the package.
    """
    if path is not None:
        path = Path(path)
        if path.is_dir():
            path = path / "model.safetensors"
        if not path.is_file():
            raise CheckpointError(f"{path}: no such checkpoint file")
        return path
    found = sorted(Path(runs).glob("*/model.safetensors"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else BUNDLED_LENET
