"""Every layer against its torch.nn twin with the same weights: forward and all gradients (float64)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope as cs
import convscope.nn as nn
from convscope.errors import ShapeError
from tolerance import assert_values_close, largest

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # torch's implicit-dim notices


def _twins(make, double=True):
    """The same layer built in both libraries, convscope's loaded with torch's weights."""
    theirs = make(torch.nn)
    ours = make(nn)
    if double:
        theirs = theirs.double()
        ours = ours.double()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def check_layer(make, shape, seed=0, train=True, x=None):
    """Forward, dL/dx and dL/dparam of convscope vs torch for L = sum(y * R), R random."""
    ours, theirs = _twins(make)
    ours.train(train)
    theirs.train(train)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) if x is None else x
    xt = torch.tensor(x, requires_grad=True)
    xo = cs.tensor(x.copy(), requires_grad=True)
    yt, yo = theirs(xt), ours(xo)
    proj = rng.standard_normal(yt.shape)
    (yt * torch.tensor(proj)).sum().backward()
    (yo * proj).sum().backward()
    tparams = dict(theirs.named_parameters())
    pairs = [(yo.data, yt.detach(), "output"), (xo.grad, xt.grad, "dL/dx")]
    pairs += [(p.grad, tparams[name].grad, name) for name, p in ours.named_parameters()]
    pairs += [
        (b, tb, name)
        for (name, b), (_, tb) in zip(ours.named_buffers(), theirs.named_buffers(), strict=True)
    ]
    scale = largest(x, proj, *(t for _, t, _ in pairs), *tparams.values())
    for o, t, what in pairs:
        assert_values_close(o, t, scale=scale, err_msg=what)
    return ours, theirs


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    ("kernel", "kw"),
    [
        (3, dict(padding=1)),
        ((3, 2), dict(padding=(2, 1), stride=(2, 1))),
        ((4, 3), dict(padding="same", dilation=(1, 2))),
        (3, dict(padding="valid", groups=2, bias=False)),
        (5, dict(padding=2, stride=3, dilation=1)),
    ],
)
def test_conv2d_every_padding_mode_matches_torch(mode, kernel, kw):
    check_layer(lambda lib: lib.Conv2d(4, 6, kernel, padding_mode=mode, **kw), (2, 4, 7, 6))


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv1d_padding_modes_match_torch(mode):
    check_layer(
        lambda lib: lib.Conv1d(3, 6, 4, padding="same", padding_mode=mode, groups=3), (2, 3, 9)
    )
    check_layer(lambda lib: lib.Conv1d(3, 2, 3, stride=2, padding=2, padding_mode=mode), (2, 3, 8))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 3), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2),
    st.sampled_from([1, 2]), st.integers(3, 6), st.booleans(), st.integers(0, 10**6),
)  # fmt: skip
def test_conv_transpose2d_matches_torch(k, s, p, d, g, size, bias, seed):
    out_pad = max(s, d) - 1 if seed % 2 else 0
    p = min(p, d * (k - 1) // 2)  # keeps the output size >= 1
    check_layer(
        lambda lib: lib.ConvTranspose2d(
            2, 4, (k, k + 1), stride=s, padding=(p, 0), output_padding=out_pad, groups=g,
            bias=bias, dilation=d,
        ),
        (2, 2, size, size + 1),
        seed,
    )  # fmt: skip


def test_conv_transpose1d_matches_torch():
    check_layer(
        lambda lib: lib.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
        (3, 4, 5),
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.MaxPool2d(2),
        lambda lib: lib.MaxPool2d((3, 2), stride=(2, 1), padding=1, ceil_mode=True),
        lambda lib: lib.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
        lambda lib: lib.AvgPool2d(2, ceil_mode=True),
    ],
)
def test_pool2d_layers_match_torch(make):
    check_layer(make, (2, 3, 7, 6))


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.MaxPool1d(3, stride=2, padding=1),
        lambda lib: lib.AvgPool1d(2, ceil_mode=True),
    ],
)
def test_pool1d_layers_match_torch(make):
    check_layer(make, (2, 3, 9))


def test_min_pool_is_minus_max_pool_of_minus_x():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6))  # values move: exact
    np.testing.assert_array_equal(nn.MinPool2d(2)(x).data, -nn.MaxPool2d(2)(-x).data)
    np.testing.assert_array_equal(
        nn.MinPool1d(3, 1)(x[:, :, 0]).data, -nn.MaxPool1d(3, 1)(-x[:, :, 0]).data
    )
    assert (
        repr(nn.MinPool2d(2))
        == "MinPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.ReLU(),
        lambda lib: lib.LeakyReLU(0.2),
        lambda lib: lib.Sigmoid(),
        lambda lib: lib.Tanh(),
        lambda lib: lib.GELU(),
        lambda lib: lib.GELU(approximate="tanh"),
        lambda lib: lib.Softmax(dim=1),
        lambda lib: lib.LogSoftmax(dim=-1),
        lambda lib: lib.Softmax(),  # PyTorch's implicit dim: 1 for a 4-D input
        lambda lib: lib.Upsample(scale_factor=2),
        lambda lib: lib.Upsample(size=(5, 9)),
        lambda lib: lib.Upsample(scale_factor=1.5, mode="bilinear"),
        lambda lib: lib.Upsample(size=(5, 9), mode="bilinear", align_corners=True),
        lambda lib: lib.UpsamplingBilinear2d(scale_factor=2),
        lambda lib: lib.Upsample(scale_factor=(1.5, 0.8), mode="bicubic"),
        lambda lib: lib.Upsample(size=(3, 2), mode="area"),
        lambda lib: lib.Upsample(size=(6, 7), mode="nearest-exact"),
        lambda lib: lib.UpsamplingNearest2d(size=(3, 7)),
        lambda lib: lib.Identity(),
        lambda lib: lib.ReLU6(),
        lambda lib: lib.ELU(alpha=0.5),
        lambda lib: lib.SiLU(),
        lambda lib: lib.Softplus(beta=2.0, threshold=3.0),
        lambda lib: lib.ZeroPad2d(2),
        lambda lib: lib.ZeroPad2d((1, 0, 2, 3)),
        lambda lib: lib.Unflatten(1, (3, 1)),
        lambda lib: lib.Unflatten(-1, (-1, 1)),
        lambda lib: lib.AdaptiveAvgPool2d((3, 2)),
        lambda lib: lib.AdaptiveAvgPool2d(1),
        lambda lib: lib.AdaptiveMaxPool2d((None, 3)),
        lambda lib: lib.LayerNorm((4, 5)),
        lambda lib: lib.LayerNorm(5, elementwise_affine=False),
        lambda lib: lib.LayerNorm([3, 4, 5], bias=False, eps=1e-3),
        lambda lib: lib.GroupNorm(3, 3),
        lambda lib: lib.GroupNorm(1, 3, affine=False),
        lambda lib: lib.GroupNorm(3, 3, bias=False),
    ],
)
def test_activation_and_resample_layers_match_torch(make):
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5))
    x[0, 0, 0, :2] = 0.0  # relu's kink: torch's gradient there is 0
    check_layer(make, x.shape, x=x)
    assert repr(make(nn)) == repr(make(torch.nn))


def test_softmax_implicit_dim_follows_torch_for_3d_inputs():
    x = np.random.default_rng(2).standard_normal((2, 3, 4))
    assert_values_close(nn.Softmax()(x), torch.nn.Softmax()(torch.tensor(x)), scale=largest(x))


def test_float32_layers_stay_float32_and_agree_with_torch():
    ours, theirs = _twins(
        lambda lib: lib.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"), double=False
    )
    x = np.random.default_rng(3).standard_normal((2, 3, 8, 8)).astype(np.float32)
    y = ours(x)
    assert y.dtype == np.float32 and ours.weight.dtype == np.float32
    assert_values_close(y, theirs(torch.tensor(x)), scale=largest(x, ours.weight.data))


def test_layers_accept_ndarrays_and_report_bad_inputs_with_the_layer_numbers():
    conv = nn.Conv2d(3, 4, 5)
    with pytest.raises(ShapeError, match="input has 2 channels"):
        conv(np.zeros((1, 2, 8, 8)))
    with pytest.raises(ShapeError, match="kernel 5 is larger than the padded input 4"):
        conv(np.zeros((1, 3, 4, 8)))
    with pytest.raises(ShapeError, match="expected a 4-D input"):
        conv(np.zeros((8, 8)))


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda lib: lib.Linear(5, 3), (4, 5)),
        (lambda lib: lib.Linear(5, 3, bias=False), (2, 3, 5)),
        (lambda lib: lib.Flatten(), (2, 3, 4, 5)),
        (lambda lib: lib.Flatten(0, 2), (2, 3, 4, 5)),
    ],
)
def test_linear_and_flatten_match_torch(make, shape):
    check_layer(make, shape)


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda lib: lib.BatchNorm2d(3), (4, 3, 5, 6)),
        (lambda lib: lib.BatchNorm2d(3, momentum=None, eps=1e-3), (4, 3, 2, 3)),
        (lambda lib: lib.BatchNorm2d(3, affine=False), (2, 3, 4, 4)),
        (lambda lib: lib.BatchNorm2d(3, track_running_stats=False), (2, 3, 4, 4)),
        (lambda lib: lib.BatchNorm1d(4), (6, 4)),
        (lambda lib: lib.BatchNorm1d(4, momentum=0.3), (3, 4, 5)),
    ],
)
def test_batch_norm_train_then_eval_matches_torch(make, shape):
    ours, theirs = _twins(make)
    for seed in range(3):  # running statistics after three training batches
        check_layer(lambda lib, o=ours, t=theirs: o if lib is nn else t, shape, seed=seed)
    check_layer(lambda lib, o=ours, t=theirs: o if lib is nn else t, shape, seed=9, train=False)
    state = ours.state_dict()
    if "num_batches_tracked" in state:
        assert state["num_batches_tracked"] == 3 and state["num_batches_tracked"].dtype == np.int64


def test_batch_norm_rejects_wrong_channels_and_dimensions():
    with pytest.raises(ShapeError, match=r"input has 4 channels .* num_features=3"):
        nn.BatchNorm2d(3)(np.zeros((2, 4, 5, 5)))
    with pytest.raises(
        ShapeError, match=r"BatchNorm2d: expected a 4-D input \(N, C, H, W\), got shape \(2, 3\)"
    ):
        nn.BatchNorm2d(3)(np.zeros((2, 3)))
    with pytest.raises(ShapeError, match="BatchNorm1d: expected a 2-D or 3-D input"):
        nn.BatchNorm1d(3)(np.zeros((2, 3, 4, 4)))


def test_dropout_drops_in_training_and_is_identity_in_eval():
    x = np.ones((200, 100))
    drop = nn.Dropout(0.3, rng=np.random.default_rng(0))
    y = drop(x).data
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7)
    again = nn.Dropout(0.3, rng=np.random.default_rng(0))(x).data
    np.testing.assert_array_equal(y, again)  # the layer's generator decides the mask: exact
    drop.eval()
    np.testing.assert_array_equal(drop(x).data, x)
    xt = cs.tensor(x, requires_grad=True)
    nn.Dropout(0.5, rng=np.random.default_rng(1))(xt).sum().backward()
    assert set(np.unique(xt.grad)) <= {0.0, 2.0}
    nn.init.manual_seed(5)
    a = nn.Dropout(0.5)(x).data
    nn.init.manual_seed(5)
    np.testing.assert_array_equal(nn.Dropout(0.5)(x).data, a)


def test_model_eval_switches_dropout_and_batch_norm():
    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Dropout(0.5))
    x = np.random.default_rng(0).standard_normal((4, 2, 6, 6))
    net.eval()
    a, b = net(x).data, net(x).data
    # no dropout, running statistics (untouched in eval): the same computation twice, bit for bit
    np.testing.assert_array_equal(a, b)
    assert net[1].num_batches_tracked == 0
    net.train()
    net(x)
    assert net[1].num_batches_tracked == 1


@pytest.mark.parametrize(
    ("make", "target_kind"),
    [
        (lambda lib: lib.CrossEntropyLoss(), "class"),
        (lambda lib: lib.CrossEntropyLoss(reduction="sum", label_smoothing=0.1), "class"),
        (lambda lib: lib.CrossEntropyLoss(reduction="none"), "class"),
        (lambda lib: lib.NLLLoss(), "class"),
        (lambda lib: lib.NLLLoss(reduction="sum"), "class"),
        (lambda lib: lib.NLLLoss(torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=torch.float64)), "class"),
        (
            lambda lib: lib.CrossEntropyLoss(
                torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=torch.float64),
                ignore_index=2,
                label_smoothing=0.2,
            ),
            "class",
        ),
        (lambda lib: lib.MSELoss(), "real"),
        (lambda lib: lib.MSELoss(reduction="none"), "real"),
        (lambda lib: lib.L1Loss(), "real"),
        (lambda lib: lib.L1Loss(reduction="sum"), "real"),
        (lambda lib: lib.CrossEntropyLoss(label_smoothing=0.3), "prob"),
        (lambda lib: lib.BCEWithLogitsLoss(), "prob"),
        (
            lambda lib: lib.BCEWithLogitsLoss(
                weight=torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=torch.float64),
                pos_weight=torch.tensor([0.5, 1.0, 2.0, 4.0], dtype=torch.float64),
                reduction="none",
            ),
            "prob",
        ),
    ],
)
def test_loss_layers_match_torch(make, target_kind):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4))
    target = {
        "class": lambda: rng.integers(0, 4, 6),
        "real": lambda: rng.standard_normal((6, 4)),
        "prob": lambda: rng.random((6, 4)),
    }[target_kind]()
    xo, xt = cs.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    lo, lt = make(nn)(xo, target), make(torch.nn)(xt, torch.tensor(target))
    lo.sum().backward()
    lt.sum().backward()
    scale = largest(x, target, lt.detach(), xt.grad)
    assert_values_close(lo, lt, scale=scale, err_msg="loss")
    assert_values_close(xo.grad, xt.grad, scale=scale, err_msg="dL/dx")
    assert repr(make(nn)) == repr(make(torch.nn))
    assert _shapes(make(nn).state_dict()) == _shapes(make(torch.nn).state_dict())


def _shapes(state):
    return [(k, tuple(v.shape)) for k, v in state.items()]


def test_dropout2d_zeroes_whole_channels_and_scales_the_rest():
    x = np.ones((8, 16, 3, 3))
    layer = nn.Dropout2d(0.25, rng=np.random.default_rng(0))
    xo = cs.tensor(x, requires_grad=True)
    y = layer(xo)
    planes = y.data.reshape(8, 16, 9)
    assert np.all((planes == 0) | (planes == 1 / 0.75))
    assert np.all(planes.min(axis=2) == planes.max(axis=2))  # one draw per (n, c) plane
    assert 0.1 < (planes[:, :, 0] == 0).mean() < 0.4
    y.sum().backward()
    np.testing.assert_array_equal(xo.grad, y.data)
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, x)
    with pytest.raises(ShapeError, match=r"dropout2d: expected a 4-D input.*got shape \(2, 3\)"):
        nn.Dropout2d()(np.ones((2, 3)))


def test_module_dict_registers_its_layers_in_order():
    def build(lib):
        net = lib.Module()
        net.blocks = lib.ModuleDict({"conv": lib.Conv2d(1, 2, 3), "act": lib.ReLU()})
        net.blocks["head"] = lib.Linear(2, 3)
        return net

    ours, theirs = build(nn), build(torch.nn)
    assert _shapes(ours.state_dict()) == _shapes(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    d = ours.blocks
    assert list(d) == ["conv", "act", "head"] and "act" in d and len(d) == 3
    assert isinstance(d.pop("act"), nn.ReLU) and list(d.keys()) == ["conv", "head"]
    d.update([("act", nn.SiLU())])
    assert [type(m).__name__ for m in d.values()] == ["Conv2d", "Linear", "SiLU"]
    with pytest.raises(KeyError, match="ModuleDict has no module 'missing'"):
        d["missing"]
    d.clear()
    assert len(list(ours.parameters())) == 0


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: nn.AdaptiveAvgPool2d(0), r"AdaptiveAvgPool2d: output_size=0 must be a positive"),
        (lambda: nn.AdaptiveMaxPool2d((2, 2, 2)), r"output_size=\(2, 2, 2\) must be"),
        (lambda: nn.LayerNorm(0), r"LayerNorm: normalized_shape=0 must be a positive integer"),
        (lambda: nn.GroupNorm(3, 4), r"GroupNorm: num_groups=3 must be a positive integer divid"),
        (lambda: nn.ZeroPad2d((1, 2)), r"ZeroPad2d: padding=\(1, 2\) must be an int or a tuple"),
        (lambda: nn.GroupNorm(2, 4)(np.ones((2, 3, 4))), r"does not have num_channels=4"),
        (lambda: nn.LayerNorm(4)(np.ones((2, 3))), r"layer_norm: normalized_shape=\(4,\) must"),
        (lambda: nn.Unflatten(1, (4, 2))(np.ones((2, 6))), r"unflatten: sizes \(4, 2\) cannot"),
        (lambda: nn.AdaptiveAvgPool2d(2)(np.ones((2, 3))), r"adaptive_avg_pool2d: expected a 4-D"),
    ],
)
def test_new_layers_reject_bad_arguments_with_a_sentence(make, match):
    with pytest.raises(ShapeError, match=match):
        make()
