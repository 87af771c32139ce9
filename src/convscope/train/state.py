"""A paused run as one nested structure: weights, optimizer state, loop progress, dropout RNG.

    save_state(path, capture(model, optimizer, progress, history=rows))
    progress = restore(load_state(path), model, optimizer, path)

``rng`` is the state of ``nn.init``'s default generator, which Dropout draws its masks from;
with it, a resumed run of a model with dropout ends where the uninterrupted run ends too.
"""

from dataclasses import fields

from ..errors import CheckpointError
from ..nn import init
from .checkpoint import load_weights
from .loop import EpochEvent, Progress


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
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: damaged training state ({exc})") from None
    return Progress(**_numbers(state.get("progress"), Progress, "progress", path))


def check_history(history, path="state"):
    """The saved metrics rows, each {epoch, train_loss, ...: number}; CheckpointError if not."""
    if not isinstance(history, list):
        raise CheckpointError(f"{path}: damaged training state (history is not a list of rows)")
    return [_numbers(row, EpochEvent, "history row", path) for row in history]


def _numbers(saved, kind, what, path):
    """``saved`` when it holds exactly the fields of dataclass ``kind``, each a number >= 0
    (an integer where the field is one)."""
    types = {f.name: int if f.type is int else int | float for f in fields(kind)}
    names = list(types)
    ok = isinstance(saved, dict) and sorted(saved) == sorted(names)
    ok = ok and all(
        isinstance(v, types[k]) and not isinstance(v, bool) and v >= 0 for k, v in saved.items()
    )
    if not ok:
        raise CheckpointError(
            f"{path}: damaged training state ({what} {saved!r:.80} is not {{{', '.join(names)}:"
            f" numbers >= 0}})"
        )
    return saved
