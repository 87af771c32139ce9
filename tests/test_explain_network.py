"""explain.network and explain.network_cells: a real model layer by layer, against PyTorch
(float64), and every cell trace's numbers against the network's own."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope.nn as nn
from convscope.errors import CheckpointError, ShapeError
from convscope.explain import network as N
from convscope.explain import network_cells as NC
from convscope.explain import network_checks as NK
from convscope.explain.sandbox import sandbox
from convscope.models import vgg
from web_oracle import bundled, torch_pass, torch_twin

TOL = dict(rtol=1e-10, atol=1e-12)


@pytest.fixture(scope="module")
def lenet():
    model, _ = bundled()
    chain = N.layers(model)
    x = np.random.default_rng(3).standard_normal((1, 1, 28, 28))
    acts = N.forward(chain, x)
    return chain, x, acts, N.backward(chain, acts, 4)


def test_the_chain_is_the_models_forward_and_its_gradients_are_torchs(lenet):
    chain, x, acts, g = lenet
    assert [n for n, _ in chain] == ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2",
                                     "flatten", "fc1", "relu3", "fc2", "relu4", "fc3"]  # fmt: skip
    outs, douts, dx, grads, loss = torch_pass(torch_twin(chain), x, 4)
    for k in range(len(chain)):
        np.testing.assert_allclose(acts[k + 1], outs[k], **TOL)
        np.testing.assert_allclose(g["grad_out"][k], douts[k], **TOL)
    np.testing.assert_allclose(g["grad_in"], dx, **TOL)
    for name, params in g["params"].items():
        for key, value in params.items():
            np.testing.assert_allclose(value, grads[name][key], **TOL)
    assert g["loss"] == pytest.approx(loss, rel=1e-12)
    p = torch.softmax(torch.tensor(acts[-1]), 1).numpy()[0]
    np.testing.assert_allclose(g["dlogits"], p - np.eye(10)[4], **TOL)
    assert all(c.ok for c in g["checks"])


def test_a_model_whose_forward_is_not_its_layers_in_order_is_refused():
    class Swapped(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 3)
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.fc1(self.relu(x))  # registered fc1, relu; run relu, fc1

    model = Swapped().double()
    with pytest.raises(CheckpointError, match="not its layers applied one after another"):
        N.check_chain(model, N.layers(model), (4,))


def test_vgg_with_batch_norm_is_a_chain():
    model = vgg().double().eval()
    chain = N.layers(model)
    N.check_chain(model, chain, (1, 28, 28))
    assert [type(m).__name__ for _, m in chain][:3] == ["Conv2d", "BatchNorm2d", "ReLU"]


@given(n=st.integers(1, 12), k=st.integers(1, 5), s=st.integers(1, 3), p=st.integers(0, 3),
       d=st.integers(1, 3))  # fmt: skip
def test_window_tables_list_what_each_output_reads_and_each_transposed_input_writes(n, k, s, p, d):
    out = (n + 2 * p - d * (k - 1) - 1) // s + 1
    if out >= 1:
        table = N.window_table(n, k, s, p, d)
        want = [[i * s + u * d - p if 0 <= i * s + u * d - p < n else -1 for i in range(out)]
                for u in range(k)]  # fmt: skip
        assert table.tolist() == want  # integers: exact
    t_out = (n - 1) * s - 2 * p + d * (k - 1) + 1
    if t_out >= 1:
        table = N.window_table(n, k, s, p, d, transposed=True, out=t_out)
        want = [[i * s + u * d - p if 0 <= i * s + u * d - p < t_out else -1 for i in range(n)]
                for u in range(k)]  # fmt: skip
        assert table.tolist() == want


@given(k=st.integers(1, 4), s=st.integers(1, 3), data=st.data())
def test_pool_routes_are_torchs_argmax(k, s, data):
    h = data.draw(st.integers(k, 9))
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    ties = data.draw(st.booleans())
    x = (
        rng.integers(0, 3, (1, 2, h, h)).astype(float)
        if ties
        else rng.standard_normal((1, 2, h, h))
    )
    routes = N.pool_routes(nn.MaxPool2d(k, s), x)
    _, idx = torch.nn.functional.max_pool2d(torch.tensor(x), k, s, return_indices=True)
    assert routes.tolist() == idx[0].tolist()  # integer indices: exact


@settings(max_examples=40)
@given(s=st.integers(1, 3), p=st.integers(0, 2), d=st.integers(1, 2), seed=st.integers(0, 99))
def test_conv_identities_hold_for_stride_padding_and_dilation(s, p, d, seed):
    rng = np.random.default_rng(seed)
    conv = nn.Conv2d(2, 3, 3, stride=s, padding=p, dilation=d, dtype=np.float64)
    x = rng.standard_normal((1, 2, 9, 8))
    out = conv(x).data
    do = rng.standard_normal(out.shape)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(conv.weight.data, requires_grad=True)
    torch.nn.functional.conv2d(xt, wt, stride=s, padding=p, dilation=d).backward(torch.tensor(do))
    checks = NK.conv_identities(conv, x, do, wt.grad.numpy(), xt.grad.numpy())
    assert len(checks) == 2 and all(c.ok for c in checks), [c.line() for c in checks]


def test_the_identities_notice_a_wrong_gradient(lenet):
    chain, _, acts, g = lenet
    wrong = g["params"]["conv2"]["weight"] * 1.01
    checks = NK.conv_identities(chain[3][1], acts[3], g["grad_out"][3], wrong, g["grad_out"][2])
    assert [c.ok for c in checks] == [False, True]


def test_finite_differences_agree_and_notice_a_wrong_gradient(lenet):
    chain, x, _, g = lenet
    loss = NK.loss_of_param(chain, x, chain[0][1].weight, 4)
    w = chain[0][1].weight.data
    assert NK.directional_check("conv1.weight", loss, w, g["params"]["conv1"]["weight"]).ok
    assert not NK.directional_check(
        "conv1.weight", loss, w, 1.1 * g["params"]["conv1"]["weight"]
    ).ok
    np.testing.assert_array_equal(chain[0][1].weight.data, w)  # restored
    assert NK.directional_check("x", NK.loss_of(chain, 4), x, g["grad_in"]).ok


def test_the_loop_twins_recompute_every_conv_and_pool_cell(lenet):
    chain, _, acts, _ = lenet
    checks = NK.naive_checks(chain, acts)
    assert set(checks) == {"conv1", "pool1", "conv2", "pool2"}
    assert all(c.ok for cs in checks.values() for c in cs)


def test_a_conv_cell_is_its_sum_of_products_then_its_activation(lenet):
    chain, _, acts, _ = lenet
    relu = ("relu2", chain[4][1], acts[5][0])
    trace = NC.conv_cell("conv2", chain[3][1], acts[3][0], acts[4][0], (5, 3, 4), after=[relu])
    assert trace.ok and len(trace.checks) == 3
    z = acts[4][0, 5, 3, 4]
    assert trace.steps[0].result == pytest.approx(z, abs=1e-12)
    assert trace.steps[-1].formula == (
        f"relu2[5,3,4] = max(0, Z) = max(0, {NC.fmt(z)}) = {NC.fmt(max(z, 0.0))}"
    )
    assert len(trace.steps[0].operands["products"].ravel()) == 6 * 5 * 5


def test_batch_norm_after_a_conv_is_written_out_with_its_running_statistics():
    model = vgg().double().eval()
    bn = model.features[1]
    rng = np.random.default_rng(0)
    bn.running_mean = rng.standard_normal(16)
    bn.running_var = rng.random(16) + 0.5
    chain = N.layers(model)
    acts = N.forward(chain, rng.standard_normal((1, 1, 28, 28)))
    after = [(n, m, acts[k + 1][0]) for k, (n, m) in enumerate(chain) if k in (1, 2)]
    trace = NC.conv_cell("features.0", chain[0][1], acts[0][0], acts[1][0], (2, 5, 6), after)
    assert trace.ok, [c.line() for c in trace.checks]
    assert "sqrt(var[2] + eps)" in trace.steps[-2].formula


def test_pool_cell_and_where_its_gradient_goes(lenet):
    chain, _, acts, g = lenet
    trace = NC.pool_cell(
        "pool1", chain[2][1], acts[2][0], acts[3][0], (4, 6, 7), grad=g["grad_out"][2][0]
    )
    assert trace.ok
    assert [s.label for s in trace.steps] == ["Y[4,6,7]", "dY[4,6,7]"]
    r, q = divmod(int(N.pool_routes(chain[2][1], acts[2])[4, 6, 7]), 28)
    assert f"dA[4,{r},{q}]" in trace.steps[1].formula


def test_gradient_cells_are_the_networks_gradients(lenet):
    chain, x, acts, g = lenet
    _, douts, dx, grads, _ = torch_pass(torch_twin(chain), x, 4)
    conv2, do = chain[3][1], g["grad_out"][3][0]
    w = NC.weight_grad_cell(
        "conv2", conv2, acts[3][0], do, g["params"]["conv2"]["weight"], (7, 2, 1, 3)
    )
    assert w.ok and w.output["dW"][2, 1, 3] == pytest.approx(
        grads["conv2"]["weight"][7, 2, 1, 3], abs=1e-12
    )
    i = NC.input_grad_cell("conv2", conv2, acts[3][0], do, g["grad_out"][2][0], (2, 5, 6))
    assert i.ok and i.output == pytest.approx(douts[2][0, 2, 5, 6], abs=1e-12)
    assert len(i.steps[0].operands["terms"]) == 16 * 25  # every filter, every kernel offset
    edge = NC.input_grad_cell(
        "conv1", chain[0][1], acts[0][0], g["grad_out"][0][0], g["grad_in"][0], (0, 0, 0)
    )
    assert edge.ok and len(edge.steps[0].operands["terms"]) == 6 * 3 * 3  # padding 2 cuts the rest
    assert edge.output == pytest.approx(dx[0, 0, 0, 0], abs=1e-12)


def test_cells_outside_a_layer_and_unsupported_layers_get_a_sentence(lenet):
    chain, _, acts, _ = lenet
    with pytest.raises(
        ShapeError, match=r"conv1: cell \[6, 0, 0\] is outside its output, which is 6x28x28"
    ):
        NC.conv_cell("conv1", chain[0][1], acts[0][0], acts[1][0], [6, 0, 0])
    reflect = nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect", dtype=np.float64)
    x = np.zeros((1, 5, 5))
    with pytest.raises(ShapeError, match="zero padding only"):
        NC.conv_cell("c", reflect, x, reflect(x[None]).data[0], (0, 0, 0))


@given(h=st.integers(1, 9), k=st.integers(1, 4), s=st.integers(1, 3), p=st.integers(0, 2),
       d=st.integers(1, 2), op=st.integers(0, 2), transposed=st.booleans())  # fmt: skip
def test_the_sandbox_agrees_with_torch_or_says_why_not(h, k, s, p, d, op, transposed):
    x, w = torch.zeros(1, 1, h, h), torch.zeros(1, 1, k, k)
    try:
        if transposed:
            want = torch.nn.functional.conv_transpose2d(x, w, stride=s, padding=p, output_padding=op,
                                                        dilation=d).shape[2:]  # fmt: skip
        else:
            want = torch.nn.functional.conv2d(x, w, stride=s, padding=p, dilation=d).shape[2:]
    except RuntimeError:
        want = None
    if want is not None and min(want) < 1:
        want = None  # torch returns an empty transposed output; convscope calls the size invalid
    trace = sandbox((h, h), k, s, p, d, transposed, op)
    assert trace.output == (list(want) if want is not None else None)
    last = trace.steps[-1]
    assert (last.operands["invalid"] == []) == (want is not None)
    if want is not None:
        assert np.shape(last.operands["windows"]["rows"]) == (k, h if transposed else want[0])
