"""Forward hooks and pre-hooks on nn.Module behave as PyTorch's: the same calls, in the same
order, with the same arguments; returned values replace outputs and inputs; handles remove."""

import numpy as np
import pytest
import torch

import convscope as cs
import convscope.nn as nn
from convscope.errors import ConvscopeError


def twins():
    """The same small Sequential in convscope and torch (float64, same weights)."""

    def build(lib):
        return lib.Sequential(lib.Conv2d(1, 2, 3), lib.ReLU(), lib.Flatten(), lib.Linear(8, 3))

    torch.manual_seed(0)
    theirs = build(torch.nn).double()
    ours = build(nn).double()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def numpy(value):
    return value.detach().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


X = np.random.default_rng(0).standard_normal((2, 1, 4, 4))


def run_both(setup):
    """setup(model, log) registers hooks; (our output, torch output, our log, torch log)."""
    ours, theirs = twins()
    logs = [], []
    setup(ours, logs[0])
    setup(theirs, logs[1])
    return numpy(ours(cs.tensor(X))), numpy(theirs(torch.from_numpy(X))), *logs


def test_forward_hooks_see_module_args_and_output_in_torchs_order():
    def setup(model, log):
        for name, layer in model.named_children():
            layer.register_forward_hook(
                lambda m, args, out, name=name: log.append(
                    (name, type(m).__name__, len(args), numpy(args[0]), numpy(out))
                )
            )

    ours, theirs, log_ours, log_theirs = run_both(setup)
    assert [e[:3] for e in log_ours] == [e[:3] for e in log_theirs]
    assert [e[:3] for e in log_ours][0] == ("0", "Conv2d", 1)
    for a, b in zip(log_ours, log_theirs, strict=True):
        np.testing.assert_allclose(a[3], b[3], rtol=0, atol=1e-12)
        np.testing.assert_allclose(a[4], b[4], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_returned_values_replace_the_output_and_the_input():
    def setup(model, log):
        model[1].register_forward_hook(lambda m, args, out: out * 2)
        model[3].register_forward_pre_hook(lambda m, args: args[0] - 1)  # one value: wrapped
        model[0].register_forward_pre_hook(lambda m, args: (args[0] * 3,))

    ours, theirs, _, _ = run_both(setup)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    plain, _ = twins()
    assert np.abs(ours - numpy(plain(cs.tensor(X)))).max() > 0.1


def test_prepend_runs_first_and_handles_remove():
    def setup(model, log):
        model.register_forward_hook(lambda m, a, o: log.append("a"))
        model.register_forward_hook(lambda m, a, o: log.append("b"), prepend=True)
        model.register_forward_pre_hook(lambda m, a: log.append("pre"))
        model.register_forward_pre_hook(lambda m, a: log.append("first"), prepend=True)

    _, _, log_ours, log_theirs = run_both(setup)
    assert log_ours == log_theirs == ["first", "pre", "b", "a"]

    model, _ = twins()
    calls = []
    handle = model.register_forward_hook(lambda m, a, o: calls.append(1))
    model(X)
    handle.remove()
    handle.remove()  # twice is harmless
    model(X)
    with model[0].register_forward_pre_hook(lambda m, a: calls.append(2)):
        model(X)
    model(X)
    assert calls == [1, 2]
    assert not model._forward_hooks and not model[0]._forward_pre_hooks
    assert set(model.state_dict()) == {"0.weight", "0.bias", "3.weight", "3.bias"}


class Scaled(nn.Module):
    """forward(x, scale=1.0): a keyword argument for with_kwargs hooks."""

    def forward(self, x, scale=1.0):
        return x * scale


class TorchScaled(torch.nn.Module):
    def forward(self, x, scale=1.0):
        return x * scale


@pytest.mark.parametrize("module", [Scaled, TorchScaled])
def test_with_kwargs_hooks_see_and_change_keyword_arguments(module):
    layer, seen = module(), []
    layer.register_forward_pre_hook(
        lambda m, args, kwargs: (args, {**kwargs, "scale": kwargs["scale"] * 10}), with_kwargs=True
    )
    layer.register_forward_hook(
        lambda m, args, kwargs, out: seen.append((dict(kwargs), float(out.sum()))), with_kwargs=True
    )
    x = torch.ones(2) if module is TorchScaled else cs.ones(2)
    assert float(layer(x, scale=2.0).sum()) == 40.0
    assert seen == [({"scale": 20.0}, 40.0)]


class Failing(nn.Module):
    def forward(self, x):
        raise ConvscopeError("forward failed")


def test_always_call_hooks_run_when_forward_raises():
    layer, seen = Failing(), []
    layer.register_forward_hook(lambda m, a, out: seen.append(("always", out)), always_call=True)
    layer.register_forward_hook(lambda m, a, out: seen.append(("normal", out)))
    with pytest.raises(ConvscopeError, match="forward failed"):
        layer(cs.ones(1))
    assert seen == [("always", None)]


def test_a_hook_may_remove_itself_while_running():
    model, _ = twins()
    calls = []
    handles = []

    def once(m, a, o):
        calls.append(1)
        handles[0].remove()

    handles.append(model.register_forward_hook(once))
    model(X)
    model(X)
    assert calls == [1]


def test_bad_hooks_get_a_sentence():
    model, _ = twins()
    with pytest.raises(ConvscopeError, match="expects a callable such as hook"):
        model.register_forward_hook("print")
    model.register_forward_pre_hook(lambda m, a, k: "oops", with_kwargs=True)
    with pytest.raises(
        ConvscopeError, match=r"must return None or an \(args, kwargs\) pair, got str"
    ):
        model(X)
