"""The settings of a training run and the objects they build; the defaults are ``convscope train``'s.

Default schedule (LeNet-5, embedded digits): Adam, lr 2e-3 decayed to 0 by a per-step cosine over
10 epochs, batch 64. In PyTorch this schedule ends at 98.7% (98.45-99.05% over 6 seeds) on the
2,000 held-out digits; plain SGD (momentum 0.9, lr 0.01) plateaus at 98.2 +- 0.3%.
"""

from dataclasses import asdict, dataclass

from .. import optim
from ..errors import ConvscopeError
from .loop import constant, cosine

DEFAULT_LR = {"adam": 2e-3, "sgd": 0.02}


@dataclass
class TrainConfig:
    model: str = "lenet"
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float | None = None  # None: DEFAULT_LR[optimizer]
    momentum: float = 0.9  # SGD only
    weight_decay: float = 0.0
    schedule: str = "cosine"  # or "constant"
    seed: int = 0

    def __post_init__(self):
        checks = [
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch size must be >= 1, got {self.batch_size}"),
            (
                self.optimizer in DEFAULT_LR,
                f"optimizer must be sgd or adam, got {self.optimizer!r}",
            ),
            (self.lr is None or self.lr > 0, f"learning rate must be > 0, got {self.lr}"),
            (
                self.schedule in ("cosine", "constant"),
                f"schedule must be cosine or constant, got {self.schedule!r}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ConvscopeError(message)

    @property
    def base_lr(self):
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    def as_dict(self):
        return asdict(self)

    def build_optimizer(self, params):
        if self.optimizer == "adam":
            return optim.Adam(params, lr=self.base_lr, weight_decay=self.weight_decay)
        return optim.SGD(
            params, lr=self.base_lr, momentum=self.momentum, weight_decay=self.weight_decay
        )

    def lr_schedule(self, steps_per_epoch):
        """lr as a function of the global step."""
        if self.schedule == "cosine":
            return cosine(self.base_lr, self.epochs * steps_per_epoch)
        return constant(self.base_lr)
