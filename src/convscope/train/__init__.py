"""Training: the loop (a generator of progress events), its settings, and checkpoints."""

from .checkpoint import load_model, load_state, load_tensors, load_weights, save_model, save_state
from .config import TrainConfig
from .loop import EpochEvent, Progress, StepEvent, Stopped, cosine, evaluate, fit, predict_logits
from .state import capture, restore

__all__ = [
    "TrainConfig",
    "fit",
    "evaluate",
    "predict_logits",
    "cosine",
    "Progress",
    "StepEvent",
    "EpochEvent",
    "Stopped",
    "save_model",
    "load_model",
    "load_weights",
    "load_tensors",
    "save_state",
    "load_state",
    "capture",
    "restore",
]
