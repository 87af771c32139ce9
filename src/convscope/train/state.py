"""A paused run as one nested structure: weights, optimizer state, loop progress, dropout RNG.

    save_state(path, capture(model, optimizer, progress, history=rows))
    progress = restore(load_state(path), model, optimizer, path)

``rng`` is the state of ``nn.init``'s default generator, which Dropout draws its masks from;
with it, a resumed run of a model with dropout ends where the uninterrupted run ends too.
"""

from ..errors import CheckpointError
from ..nn import init
from .checkpoint import load_weights
from .loop import Progress


def capture(model, optimizer, progress, **extra):
    """The dict save_state writes; ``extra`` entries (e.g. history, settings) ride along."""
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "progress": progress.as_dict(),
        "rng": init.default_generator().bit_generator.state,
        **extra,
    }


def restore(state, model, optimizer, path="state"):
    """Load weights, optimizer state and RNG from a captured state; return its Progress."""
    load_weights(model, state["model"], path)
    try:
        optimizer.load_state_dict(state["optimizer"])
        init.default_generator().bit_generator.state = state["rng"]
        return Progress(**state["progress"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: damaged training state ({exc})") from None
