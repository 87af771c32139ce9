"""A small CNN built in convscope and in PyTorch from the same weights: same loss, same gradients,
and the same parameters after a few optimiser steps (float64). Plus finite differences end to end."""

import numpy as np
import pytest
import torch

import convscope as cs
import convscope.nn as nn
from convscope import optim
from tolerance import assert_values_close, largest


def small_cnn(lib, size=12):
    """conv-relu-pool-conv-relu-pool-flatten-linear; size 12 -> 6 -> 4 -> 2, so 6*2*2 features."""
    flat = 6 * ((size // 2 - 2) // 2) ** 2
    return lib.Sequential(
        lib.Conv2d(1, 4, 3, padding=1), lib.ReLU(), lib.MaxPool2d(2),
        lib.Conv2d(4, 6, 3), lib.ReLU(), lib.MaxPool2d(2),
        lib.Flatten(), lib.Linear(flat, 5),
    )  # fmt: skip


def _pair(seed=0, size=12):
    torch.manual_seed(seed)
    theirs = small_cnn(torch.nn, size).double()
    ours = small_cnn(nn, size).double()
    ours.load_state_dict(theirs.state_dict())
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 1, size, size))
    y = rng.integers(0, 5, size=4)
    return ours, theirs, x, y


def _loss_both(ours, theirs, x, y):
    lo = nn.CrossEntropyLoss()(ours(cs.tensor(x)), y)
    lt = torch.nn.CrossEntropyLoss()(theirs(torch.tensor(x)), torch.tensor(y))
    return lo, lt


def _assert_params_equal(ours, theirs):
    tparams = dict(theirs.named_parameters())
    scale = largest(*tparams.values())
    for name, p in ours.named_parameters():
        assert_values_close(p, tparams[name], scale=scale, err_msg=name)


def test_same_loss_and_every_gradient_as_torch():
    ours, theirs, x, y = _pair()
    lo, lt = _loss_both(ours, theirs, x, y)
    assert_values_close(lo, lt, err_msg="loss")
    lo.backward()
    lt.backward()
    tparams = dict(theirs.named_parameters())
    scale = largest(*(p.grad for p in tparams.values()))
    for name, p in ours.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape
        assert_values_close(p.grad, tparams[name].grad, scale=scale, err_msg=name)


@pytest.mark.parametrize(
    ("ours_cls", "torch_cls", "kw"),
    [
        (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
        (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2)),
        (optim.Adam, torch.optim.Adam, dict(lr=1e-2, weight_decay=1e-3)),
        (optim.AdamW, torch.optim.AdamW, dict(lr=1e-2, amsgrad=True)),
    ],
)
def test_three_optimiser_steps_keep_parameters_equal(ours_cls, torch_cls, kw):
    ours, theirs, x, y = _pair(1)
    opt, topt = ours_cls(ours.parameters(), **kw), torch_cls(theirs.parameters(), **kw)
    for _ in range(3):
        opt.zero_grad()
        topt.zero_grad()
        lo, lt = _loss_both(ours, theirs, x, y)
        assert_values_close(lo, lt, err_msg="loss")
        lo.backward()
        lt.backward()
        opt.step()
        topt.step()
        _assert_params_equal(ours, theirs)


def test_optimizer_state_round_trip_continues_like_an_uninterrupted_run():
    ours, _, x, y = _pair(2)
    twin = small_cnn(nn).double()
    twin.load_state_dict(ours.state_dict())
    opt = optim.Adam(ours.parameters(), lr=1e-2)

    def step(model, optimizer):
        optimizer.zero_grad()
        nn.CrossEntropyLoss()(model(x), y).backward()
        optimizer.step()

    for _ in range(2):
        step(ours, opt)
    twin.load_state_dict(ours.state_dict())
    resumed = optim.Adam(twin.parameters(), lr=1e-2)
    resumed.load_state_dict(optim.unflatten_state_dict(*optim.flatten_state_dict(opt.state_dict())))
    for _ in range(2):
        step(ours, opt)
        step(twin, resumed)
    for (name, a), (_, b) in zip(ours.state_dict().items(), twin.state_dict().items(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)  # the same computations: bit for bit


def _central_differences(loss, arr, eps=1e-6):
    grad = np.zeros_like(arr)
    flat, gflat = arr.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + eps
        plus = loss()
        flat[i] = orig - eps
        minus = loss()
        flat[i] = orig
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def test_finite_differences_agree_with_backward_end_to_end():
    net = small_cnn(nn, size=8).double()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 1, 8, 8))
    y = np.array([1, 3])
    loss_fn = nn.CrossEntropyLoss()
    assert cs.gradcheck(lambda inp: loss_fn(net(inp), y), [x])
    net.zero_grad()  # gradcheck's own backward reached the parameters too
    xt = cs.tensor(x, requires_grad=True)
    loss_fn(net(xt), y).backward()

    def loss():
        with cs.no_grad():
            return loss_fn(net(x), y).item()

    for name, p in [("input", xt), *net.named_parameters()]:
        target = x if name == "input" else p.data
        numeric = _central_differences(loss, target)
        np.testing.assert_allclose(p.grad, numeric, rtol=1e-5, atol=1e-7, err_msg=name)


def modern_cnn(lib):
    """The layers a PyTorch port reaches for: GroupNorm, SiLU, Dropout2d, a ModuleDict head,
    AdaptiveAvgPool2d, LayerNorm, ELU, ReLU6."""
    net = lib.Module()
    net.body = lib.Sequential(
        lib.Conv2d(3, 8, 3, padding=1), lib.GroupNorm(2, 8), lib.SiLU(), lib.Dropout2d(0.2),
        lib.ZeroPad2d((0, 1, 0, 1)), lib.Conv2d(8, 6, 3, stride=2), lib.ELU(0.7),
        lib.AdaptiveAvgPool2d((2, 2)), lib.Flatten(), lib.LayerNorm(24),
    )  # fmt: skip
    net.heads = lib.ModuleDict({"fc": lib.Linear(24, 4), "act": lib.ReLU6()})
    return net


def _forward(net, x):
    return net.heads["act"](net.heads["fc"](net.body(x)))


def test_modern_layers_with_bce_and_rmsprop_and_one_cycle_follow_torch():
    torch.manual_seed(4)
    theirs = modern_cnn(torch.nn).double().eval()  # eval: Dropout2d is the identity in both
    ours = modern_cnn(nn).to(np.float64).eval()
    ours.load_state_dict(theirs.state_dict())
    rng = np.random.default_rng(4)
    x, target = rng.standard_normal((3, 3, 9, 7)), rng.random((3, 4))
    kw = dict(lr=1e-2, momentum=0.5, centered=True)
    opt, topt = optim.RMSprop(ours.parameters(), **kw), torch.optim.RMSprop(theirs.parameters(), **kw)  # fmt: skip
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=4)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.05, total_steps=4)
    for _ in range(3):
        opt.zero_grad()
        topt.zero_grad()
        lo = nn.BCEWithLogitsLoss()(_forward(ours, x), target)
        lt = torch.nn.BCEWithLogitsLoss()(_forward(theirs, torch.tensor(x)), torch.tensor(target))
        assert_values_close(lo, lt, err_msg="loss")
        lo.backward()
        lt.backward()
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        _assert_params_equal(ours, theirs)
