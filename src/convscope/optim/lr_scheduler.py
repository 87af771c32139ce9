"""Learning-rate schedules: call ``scheduler.step()`` once per epoch, after ``optimizer.step()``
(OneCycleLR: once per batch).

Each sets every group's ``lr`` from its closed form in ``last_epoch`` (the epochs done),
so resuming from ``state_dict()`` gives the same rates as an uninterrupted run.
StepLR, MultiStepLR, ExponentialLR, LambdaLR, LinearLR, CosineAnnealingLR and OneCycleLR
follow PyTorch's formulas and arguments. LambdaLR's functions are not saved in
``state_dict()``: pass the same ones when rebuilding it.
"""

import bisect
import math
import numbers

from ..errors import ConvscopeError


class LRScheduler:
    """Base: remembers each group's starting ``lr`` (``base_lrs``) and the epoch counter."""

    def __init__(self, optimizer, last_epoch=-1):
        if not hasattr(optimizer, "param_groups"):
            raise ConvscopeError(
                f"{type(self).__name__}: expects an optimizer, got {type(optimizer).__name__};"
                f" build one first, e.g. optim.SGD(model.parameters(), lr=0.1)"
            )
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, base_lr, epoch):
        raise NotImplementedError

    def _set(self, epoch):
        """Write every group's lr (and whatever else a schedule drives) for this epoch."""
        for i, (group, base) in enumerate(zip(self.optimizer.param_groups, self.base_lrs, strict=True)):  # fmt: skip
            group["lr"] = self.group_lr(i, base, epoch)

    def group_lr(self, index, base_lr, epoch):
        """The lr of param group ``index``: lr_at(base_lr, epoch) unless a schedule is per group."""
        return self.lr_at(base_lr, epoch)

    def step(self):
        self.last_epoch += 1
        self._set(self.last_epoch)

    def get_last_lr(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """Plain numbers: ``{"last_epoch": int, "base_lrs": [float, ...]}``."""
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state):
        self.last_epoch = int(state["last_epoch"])
        self.base_lrs = [float(v) for v in state["base_lrs"]]
        self._set(self.last_epoch)


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (epoch // step_size)."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        if not (isinstance(step_size, int) and step_size >= 1):
            raise ConvscopeError(f"StepLR: step_size must be an integer >= 1, got {step_size!r}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, epoch):
        return base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * (epoch / T_max))) / 2.

    ``convscope train``'s cosine: built with T_max = epochs * batches per epoch and stepped once
    per batch (``train.fit`` does), the learning rate decays to eta_min over the whole run."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):  # noqa: N803 - PyTorch's name
        if not (isinstance(T_max, int) and T_max >= 1):
            raise ConvscopeError(f"CosineAnnealingLR: T_max must be an integer >= 1, got {T_max!r}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, epoch):
        return (
            self.eta_min
            + (base_lr - self.eta_min) * (1 + math.cos(math.pi * (epoch / self.T_max))) / 2
        )


class MultiStepLR(LRScheduler):
    """lr = base_lr * gamma ** (number of milestones <= epoch)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        milestones = list(milestones) if isinstance(milestones, (list, tuple, set)) else None
        if not milestones or not all(_is_int(m) and m >= 0 for m in milestones):
            raise ConvscopeError(
                f"MultiStepLR: milestones must be a list of epoch numbers >= 0, got"
                f" {milestones!r}; e.g. milestones=[30, 80]"
            )
        self.milestones, self.gamma = sorted(milestones), _number("MultiStepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, epoch):
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, epoch)


class ExponentialLR(LRScheduler):
    """lr = base_lr * gamma ** epoch."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = _number("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, epoch):
        return base_lr * self.gamma**epoch


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(epoch); lr_lambda is one function or one per param group."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        groups = getattr(optimizer, "param_groups", [])
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * len(groups)  # fmt: skip
        if len(lambdas) != len(groups) or not all(callable(f) for f in lambdas):
            raise ConvscopeError(
                f"LambdaLR: lr_lambda must be a function of the epoch (or one per param group,"
                f" {len(groups)} here), got {lr_lambda!r}; e.g. lr_lambda=lambda epoch: 0.95**epoch"
            )
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def group_lr(self, index, base_lr, epoch):
        return base_lr * self.lr_lambdas[index](epoch)


class LinearLR(LRScheduler):
    """lr = base_lr * (start + (end - start) * min(epoch, total_iters) / total_iters)."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):  # fmt: skip
        start, end = (_number("LinearLR", n, v) for n, v in (("start_factor", start_factor), ("end_factor", end_factor)))  # fmt: skip
        if not 0 < start <= 1 or not 0 <= end <= 1:
            raise ConvscopeError(
                f"LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1], got"
                f" start_factor={start}, end_factor={end}"
            )
        if not (_is_int(total_iters) and total_iters >= 1):
            raise ConvscopeError(f"LinearLR: total_iters must be an integer >= 1, got {total_iters!r}")  # fmt: skip
        self.start_factor, self.end_factor, self.total_iters = start, end, total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr, epoch):
        done = min(epoch, self.total_iters) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * done)


class OneCycleLR(LRScheduler):
    """The 1cycle policy, as torch.optim.lr_scheduler.OneCycleLR; step() once per batch.

    lr rises from max_lr / div_factor to max_lr over the first pct_start of total_steps
    (= epochs * steps_per_epoch when not given), then anneals ("cos" or "linear") to
    initial_lr / final_div_factor (three_phase: back to initial_lr first, then to that
    minimum). With cycle_momentum, SGD's momentum (Adam's beta1) moves the opposite way
    between max_momentum and base_momentum. Each phase i spans steps start_i .. end_i:

        value = end + (start - end) / 2 * (cos(pi * pct) + 1)    pct = (step - start_i) / (end_i - start_i)
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):  # fmt: skip
        name = "OneCycleLR"
        groups = getattr(optimizer, "param_groups", None)
        if groups is None:
            raise ConvscopeError(
                f"{name}: expects an optimizer, got {type(optimizer).__name__}; build one first,"
                f" e.g. optim.SGD(model.parameters(), lr=0.1, momentum=0.9)"
            )
        if total_steps is None:
            if not (_is_int(epochs) and _is_int(steps_per_epoch) and epochs >= 1 and steps_per_epoch >= 1):  # fmt: skip
                raise ConvscopeError(
                    f"{name}: give total_steps, or epochs and steps_per_epoch (integers >= 1);"
                    f" got total_steps=None, epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r}"
                )
            total_steps = epochs * steps_per_epoch
        if not (_is_int(total_steps) and total_steps >= 1):
            raise ConvscopeError(f"{name}: total_steps must be an integer >= 1, got {total_steps!r}")  # fmt: skip
        if not (isinstance(pct_start, numbers.Real) and 0 <= pct_start <= 1):
            raise ConvscopeError(f"{name}: pct_start must be in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ConvscopeError(f"{name}: anneal_strategy={anneal_strategy!r} is not 'cos' or 'linear'")  # fmt: skip
        self.use_beta1 = "betas" in getattr(optimizer, "defaults", {})
        if cycle_momentum and not self.use_beta1 and "momentum" not in optimizer.defaults:
            raise ConvscopeError(
                f"{name}: cycle_momentum=True needs an optimizer with momentum or betas (SGD,"
                f" Adam, RMSprop); pass cycle_momentum=False"
            )
        self.total_steps, self.anneal_strategy = total_steps, anneal_strategy
        self.cycle_momentum = cycle_momentum
        for group, top, base_m, max_m in zip(groups, _per_group(max_lr, groups, name, "max_lr"),
                                             _per_group(base_momentum, groups, name, "base_momentum"),
                                             _per_group(max_momentum, groups, name, "max_momentum"),
                                             strict=True):  # fmt: skip
            if last_epoch == -1:
                group.update(initial_lr=top / div_factor, max_lr=top)
                group["min_lr"] = group["initial_lr"] / final_div_factor
                if cycle_momentum:
                    group.update(max_momentum=max_m, base_momentum=base_m)
        ends = [pct_start * total_steps - 1, 2 * pct_start * total_steps - 2, total_steps - 1]
        self.phases = (
            [(ends[0], "initial_lr", "max_lr", "max_momentum", "base_momentum"),
             (ends[1], "max_lr", "initial_lr", "base_momentum", "max_momentum"),
             (ends[2], "initial_lr", "min_lr", "max_momentum", "max_momentum")]
            if three_phase else
            [(ends[0], "initial_lr", "max_lr", "max_momentum", "base_momentum"),
             (ends[2], "max_lr", "min_lr", "base_momentum", "max_momentum")]
        )  # fmt: skip
        super().__init__(optimizer, last_epoch)

    def _set(self, epoch):
        if epoch > self.total_steps:
            raise ConvscopeError(
                f"OneCycleLR: stepped {epoch} times but total_steps={self.total_steps}; build the"
                f" scheduler with the number of batches you train for"
            )
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self.phases):
                if epoch <= end or i == len(self.phases) - 1:
                    pct = (epoch - start) / (end - start)
                    group["lr"] = self._anneal(group[lr0], group[lr1], pct)
                    if self.cycle_momentum:
                        m = self._anneal(group[m0], group[m1], pct)
                        if self.use_beta1:
                            group["betas"] = (m, *group["betas"][1:])
                        else:
                            group["momentum"] = m
                    break
                start = end

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "linear":
            return (end - start) * pct + start
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def _per_group(value, groups, op, name):
    values = list(value) if isinstance(value, (list, tuple)) else [value] * len(groups)
    if len(values) != len(groups) or not all(isinstance(v, numbers.Real) for v in values):
        raise ConvscopeError(
            f"{op}: {name} must be a number or one per param group ({len(groups)}), got {value!r}"
        )
    return values


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _number(op, name, value):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ConvscopeError(f"{op}: {name} must be a number, got {value!r}")
    return value
