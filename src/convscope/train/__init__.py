"""Training: the session (settings, data, model, run folder), the loop (a generator of progress
events), evaluation, and checkpoints."""

from .checkpoint import load_model, load_state, load_tensors, load_weights, save_model, save_state
from .config import TrainConfig
from .evaluation import evaluate, predict_logits, require_finite
from .loop import EpochEvent, Progress, StepEvent, Stopped, fit
from .session import Session
from .state import capture, restore
from .world import SingleProcess

__all__ = [
    "Session",
    "SingleProcess",
    "TrainConfig",
    "fit",
    "evaluate",
    "predict_logits",
    "require_finite",
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
