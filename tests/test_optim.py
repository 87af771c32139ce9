"""Optimisers against torch.optim: same parameters, same gradients, same updates (float64)."""

import json

import numpy as np
import pytest
import torch

import convscope as cs
from convscope.errors import CheckpointError, ConvscopeError
from convscope.optim import (
    SGD,
    Adam,
    AdamW,
    RMSprop,
    flatten_state_dict,
    unflatten_state_dict,
)
from convscope.optim import lr_scheduler as sched_lib
from convscope.optim.lr_scheduler import CosineAnnealingLR, StepLR
from tolerance import assert_values_close, largest

SHAPES = [(3, 4), (5,), (2, 1, 3)]

CONFIGS = [
    (SGD, torch.optim.SGD, dict(lr=0.1)),
    (SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
    (SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.5, dampening=0.3, weight_decay=0.1)),
    (Adam, torch.optim.Adam, dict(lr=0.01)),
    (Adam, torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    (AdamW, torch.optim.AdamW, dict(lr=0.01)),
    (AdamW, torch.optim.AdamW, dict(lr=0.02, weight_decay=0.3, amsgrad=True, eps=1e-6)),
    (RMSprop, torch.optim.RMSprop, dict(lr=0.01)),
    (RMSprop, torch.optim.RMSprop, dict(lr=0.01, alpha=0.9, momentum=0.8, weight_decay=0.1)),
    (RMSprop, torch.optim.RMSprop, dict(lr=0.005, centered=True, eps=1e-6)),
    (RMSprop, torch.optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5)),
]


def _pair(seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in SHAPES]
    ours = [cs.tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    return ours, theirs


def _set_grads(ours, theirs, step):
    """A gradient that depends on the parameters (as a real loss's would) and on the step."""
    for i, p in enumerate(ours):
        p.grad = np.sin(p.data * (i + 1) + step) + 0.1 * p.data**2
        if theirs:
            theirs[i].grad = torch.tensor(p.grad.copy())


def _run(opt, topt, ours, theirs, steps, start=0):
    for step in range(start, start + steps):
        _set_grads(ours, theirs, step)
        opt.step()
        topt.step()


@pytest.mark.parametrize(("ours_cls", "torch_cls", "kw"), CONFIGS)
def test_updates_match_torch(ours_cls, torch_cls, kw):
    ours, theirs = _pair()
    opt, topt = ours_cls(ours, **kw), torch_cls(theirs, **kw)
    _run(opt, topt, ours, theirs, 5)
    for p, q in zip(ours, theirs, strict=True):
        assert_values_close(p, q, scale=largest(*theirs))


@pytest.mark.parametrize(("ours_cls", "torch_cls", "kw"), CONFIGS)
def test_state_dict_round_trip_continues_identically(ours_cls, torch_cls, kw):
    ours, theirs = _pair(1)
    opt, topt = ours_cls(ours, **kw), torch_cls(theirs, **kw)
    _run(opt, topt, ours, theirs, 3)
    arrays, meta = flatten_state_dict(opt.state_dict())
    meta = json.loads(json.dumps(meta))  # what a safetensors + JSON checkpoint carries
    for a in arrays.values():
        assert isinstance(a, np.ndarray)
    copies = [cs.tensor(p.data.copy(), requires_grad=True) for p in ours]
    resumed = ours_cls(copies, lr=123.0)
    resumed.load_state_dict(unflatten_state_dict(arrays, meta))
    assert resumed.param_groups[0]["lr"] == kw["lr"]
    _run(opt, topt, ours, theirs, 3, start=3)
    for step in range(3, 6):
        _set_grads(copies, None, step)
        resumed.step()
    for p, c, q in zip(ours, copies, theirs, strict=True):
        np.testing.assert_array_equal(c.data, p.data)  # the same steps: bit for bit
        assert_values_close(p, q, scale=largest(*theirs))


def test_param_groups_use_their_own_hyperparameters():
    ours, theirs = _pair(2)
    opt = SGD([{"params": ours[:2]}, {"params": ours[2:], "lr": 0.5}], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(
        [{"params": theirs[:2]}, {"params": theirs[2:], "lr": 0.5}], lr=0.1, momentum=0.9
    )
    _run(opt, topt, ours, theirs, 3)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    for p, q in zip(ours, theirs, strict=True):
        assert_values_close(p, q, scale=largest(*theirs))
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert set(sd["state"]) == {0, 1, 2}


def test_float32_parameters_stay_float32():
    p = cs.tensor(np.ones((2, 2), np.float32), requires_grad=True)
    for opt in (SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1), Adam([p]), AdamW([p])):
        p.grad = np.full((2, 2), 0.5, np.float32)
        opt.step()
        assert p.dtype == np.float32
        assert all(
            v.dtype == np.float32 for v in opt.state[p].values() if isinstance(v, np.ndarray)
        )


def test_zero_grad_sets_none_and_parameters_without_grad_are_skipped():
    a, b = cs.tensor(np.ones(3), requires_grad=True), cs.tensor(np.ones(3), requires_grad=True)
    opt = Adam([a, b], lr=0.1)
    a.grad = np.ones(3)
    opt.step()
    np.testing.assert_array_equal(b.data, np.ones(3))
    assert b not in opt.state and opt.state[a]["step"] == 1
    opt.zero_grad()
    assert a.grad is None
    a.grad = np.ones(3)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad, np.zeros(3))


def test_closure_is_called_and_its_loss_returned():
    p = cs.tensor(np.array([2.0]), requires_grad=True)
    opt = SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 4.0
    np.testing.assert_allclose(p.data, [1.0])  # 2 - 0.25 * 4


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: SGD(p, lr=-1), "learning rate must be >= 0, got lr=-1"),
        (lambda p: SGD(p, lr=0.1, momentum=-0.5), "momentum must be >= 0"),
        (lambda p: SGD(p, lr=0.1, weight_decay=-1), "weight_decay must be >= 0"),
        (lambda p: SGD(p, lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
        (lambda p: SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "dampening 0"),
        (lambda p: Adam(p, lr=-0.1), "Adam: learning rate must be >= 0"),
        (lambda p: Adam(p, betas=(0.9, 1.0)), r"betas must be two numbers in \[0, 1\)"),
        (lambda p: AdamW(p, betas=(-0.1, 0.9)), r"AdamW: betas must be"),
        (lambda p: Adam(p, eps=-1e-8), "eps must be >= 0"),
        (lambda p: Adam([], lr=0.1), "empty parameter list"),
        (lambda p: SGD([1.0, 2.0], lr=0.1), "parameters must be Tensors, got float"),
        (lambda p: SGD([{"params": p}, {"params": p}], lr=0.1), "more than one parameter group"),
        (lambda p: RMSprop(p, alpha=-0.5), "RMSprop: alpha must be >= 0, got alpha=-0.5"),
        (lambda p: RMSprop(p, momentum=-1), "RMSprop: momentum must be >= 0"),
    ],
)
def test_bad_hyperparameters_raise_a_sentence(make, match):
    with pytest.raises(ConvscopeError, match=match):
        make([cs.tensor(np.ones(2), requires_grad=True)])


def test_load_state_dict_rejects_a_state_for_other_parameters():
    p = cs.tensor(np.ones((2, 3)), requires_grad=True)
    opt = Adam([p])
    p.grad = np.ones((2, 3))
    opt.step()
    other = Adam([cs.tensor(np.ones((3, 2)), requires_grad=True)])
    with pytest.raises(CheckpointError, match=r"state.0.exp_avg expects \(3, 2\), got \(2, 3\)"):
        other.load_state_dict(opt.state_dict())
    two = Adam(
        [cs.tensor(np.ones(1), requires_grad=True), cs.tensor(np.ones(1), requires_grad=True)]
    )
    with pytest.raises(
        CheckpointError, match=r"groups of sizes \[1\] but this optimizer has \[2\]"
    ):
        two.load_state_dict(opt.state_dict())


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (
            lambda o: StepLR(o, step_size=2, gamma=0.5),
            lambda o: torch.optim.lr_scheduler.StepLR(o, 2, 0.5),
        ),
        (
            lambda o: CosineAnnealingLR(o, T_max=5, eta_min=0.01),
            lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 5, eta_min=0.01),
        ),
        *[
            (
                lambda o, name=name, kw=kw: getattr(sched_lib, name)(o, **kw),
                lambda o, name=name, kw=kw: getattr(torch.optim.lr_scheduler, name)(o, **kw),
            )
            for name, kw in [
                ("MultiStepLR", dict(milestones=[4, 1, 4], gamma=0.5)),
                ("ExponentialLR", dict(gamma=0.9)),
                ("LambdaLR", dict(lr_lambda=lambda e: 1 / (1 + e))),
                ("LinearLR", dict(start_factor=0.25, total_iters=4)),
                ("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=3)),
                ("OneCycleLR", dict(max_lr=1.0, total_steps=10)),
                ("OneCycleLR", dict(max_lr=0.5, epochs=2, steps_per_epoch=5, pct_start=0.4,
                                    anneal_strategy="linear", three_phase=True)),
                ("OneCycleLR", dict(max_lr=0.3, total_steps=9, cycle_momentum=False)),
            ]
        ],
    ],
)  # fmt: skip
def test_schedulers_match_torch(ours, theirs):
    p, q = cs.tensor(np.ones(1), requires_grad=True), torch.ones(1, requires_grad=True)
    opt, topt = SGD([p], lr=0.1, momentum=0.9), torch.optim.SGD([q], lr=0.1, momentum=0.9)
    sched, tsched = ours(opt), theirs(topt)
    for _ in range(7):
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12)
        assert opt.param_groups[0]["momentum"] == pytest.approx(topt.param_groups[0]["momentum"])
        topt.step()
        sched.step()
        tsched.step()
    resumed = ours(SGD([p], lr=0.1, momentum=0.9))
    resumed.load_state_dict(json.loads(json.dumps(sched.state_dict())))
    assert resumed.get_last_lr() == sched.get_last_lr()


def test_one_cycle_cycles_adams_beta1_and_rmsprop_trains_under_it():
    p, q = cs.tensor(np.ones(1), requires_grad=True), torch.ones(1, requires_grad=True)
    opt, topt = Adam([p], lr=0.1), torch.optim.Adam([q], lr=0.1)
    sched = sched_lib.OneCycleLR(opt, max_lr=0.2, total_steps=6)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.2, total_steps=6)
    for _ in range(6):
        assert opt.param_groups[0]["betas"] == pytest.approx(topt.param_groups[0]["betas"])
        np.testing.assert_allclose(sched.get_last_lr(), tsched.get_last_lr(), rtol=1e-12)
        topt.step()
        sched.step()
        tsched.step()
    with pytest.raises(ConvscopeError, match="OneCycleLR: stepped 7 times but total_steps=6"):
        sched.step()
    sched_lib.OneCycleLR(RMSprop([p]), max_lr=0.1, total_steps=3)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda o: sched_lib.MultiStepLR(o, milestones=3), "milestones must be a list of epoch"),
        (lambda o: sched_lib.ExponentialLR(o, gamma="0.9"), "ExponentialLR: gamma must be a num"),
        (lambda o: sched_lib.LambdaLR(o, lr_lambda=0.5), "LambdaLR: lr_lambda must be a function"),
        (lambda o: sched_lib.LinearLR(o, start_factor=0), r"start_factor must be in \(0, 1\]"),
        (lambda o: sched_lib.LinearLR(o, total_iters=0), "total_iters must be an integer >= 1"),
        (lambda o: sched_lib.OneCycleLR(o, max_lr=1.0), "give total_steps, or epochs and steps_"),
        (lambda o: sched_lib.OneCycleLR(None, 1.0, 5), "OneCycleLR: expects an optimizer, got N"),
        (lambda o: sched_lib.OneCycleLR(o, 1.0, 5, pct_start=2), r"pct_start must be in \[0, 1\]"),
        (lambda o: sched_lib.OneCycleLR(o, [1.0, 2.0], 5), "max_lr must be a number or one per"),
    ],
)
def test_bad_scheduler_arguments_raise_a_sentence(make, match):
    with pytest.raises(ConvscopeError, match=match):
        make(SGD([cs.tensor(np.ones(1), requires_grad=True)], lr=0.1, momentum=0.9))


def test_load_state_dict_accepts_scalars_saved_as_0d_arrays():
    p = cs.tensor(np.ones(3), requires_grad=True)
    opt = Adam([p])
    p.grad = np.ones(3)
    opt.step()
    state = opt.state_dict()
    state["state"][0]["step"] = np.array(1)
    again = Adam([cs.tensor(np.ones(3), requires_grad=True)])
    again.load_state_dict(state)
    assert again.state_dict()["state"][0]["step"] == 1


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda m: cs.optim.SGD(m, lr=0.1), "SGD: got the model Linear itself; pass model.param"),
        (lambda m: cs.optim.SGD(3, lr=0.1), "params must be an iterable of Tensors, got int"),
        (lambda m: cs.optim.Adam(m.parameters(), lr="0.1"), "Adam: lr must be a number, got '0.1'"),
        (lambda m: cs.optim.SGD(m.parameters(), momentum=None), "momentum must be a number"),
        (lambda m: cs.optim.Adam(m.parameters(), betas=("a", 1)), "betas must be two numbers"),
        (lambda m: cs.optim.lr_scheduler.StepLR(None, 2), "StepLR: expects an optimizer, got None"),
    ],
)
def test_misuse_is_a_sentence(make, match):
    with pytest.raises(cs.errors.ConvscopeError, match=match):
        make(cs.nn.Linear(2, 2))
