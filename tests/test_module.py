"""Module, Parameter, containers, state_dict and init: the same keys, shapes and repr as torch.nn."""

import math

import numpy as np
import pytest
import torch

import convscope as cs
import convscope.nn as nn
from convscope.errors import CheckpointError, ShapeError


def lenet(lib):
    return lib.Sequential(
        lib.Conv2d(1, 6, 5, padding=2), lib.ReLU(), lib.MaxPool2d(2),
        lib.Conv2d(6, 16, 5), lib.ReLU(), lib.MaxPool2d(2), lib.Flatten(),
        lib.Linear(400, 120), lib.ReLU(), lib.Linear(120, 84), lib.ReLU(), lib.Linear(84, 10),
    )  # fmt: skip


def vgg_block(lib):
    return lib.Sequential(
        lib.Conv2d(3, 8, 3, padding=1, bias=False), lib.BatchNorm2d(8), lib.ReLU(),
        lib.Conv2d(8, 8, 3, padding=1), lib.BatchNorm2d(8, affine=False), lib.ReLU(),
        lib.MaxPool2d(2), lib.Dropout(0.25),
    )  # fmt: skip


def decoder(lib):
    return lib.Sequential(
        lib.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1, groups=2),
        lib.Conv1d(4, 6, 3, dilation=2, groups=2), lib.BatchNorm1d(6, track_running_stats=False),
        lib.ConvTranspose1d(6, 2, 4, bias=False), lib.Upsample(scale_factor=2),
    )  # fmt: skip


class Net(nn.Module):
    """Attribute registration, the way users write models."""

    def __init__(self, lib=nn):
        super().__init__()
        self.conv1 = lib.Conv2d(1, 4, 3)
        self.bn = lib.BatchNorm2d(4)
        self.blocks = lib.ModuleList([lib.Conv2d(4, 4, 3, padding=1) for _ in range(2)])
        self.head = lib.Linear(4, 3)


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.blocks = torch.nn.ModuleList([torch.nn.Conv2d(4, 4, 3, padding=1) for _ in range(2)])
        self.head = torch.nn.Linear(4, 3)


ARCHITECTURES = [(lenet, lenet), (vgg_block, vgg_block), (decoder, decoder)]


def _shapes(state):
    return [(k, tuple(v.shape)) for k, v in state.items()]


@pytest.mark.parametrize(("ours", "theirs"), ARCHITECTURES)
def test_state_dict_keys_shapes_and_order_equal_torch(ours, theirs):
    mine, ref = ours(nn).state_dict(), theirs(torch.nn).state_dict()
    assert _shapes(mine) == _shapes(ref)
    for k, v in mine.items():
        assert isinstance(v, np.ndarray)
        assert v.dtype == ref[k].numpy().dtype, k  # float32, and int64 num_batches_tracked


def test_attribute_registration_matches_torch():
    assert _shapes(Net().state_dict()) == _shapes(TorchNet().state_dict())
    net = Net()
    assert [n for n, _ in net.named_children()] == ["conv1", "bn", "blocks", "head"]
    assert [n for n, _ in net.named_modules()] == [
        n for n, _ in TorchNet().named_modules()
    ]  # "", conv1, bn, blocks, blocks.0, blocks.1, head
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in TorchNet().named_parameters()]
    assert [n for n, _ in net.named_buffers()] == [n for n, _ in TorchNet().named_buffers()]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    assert len(list(net.parameters(recurse=False))) == 0
    assert len(list(net.buffers())) == 3


@pytest.mark.parametrize("make", [lenet, vgg_block, decoder, lambda lib: Net(lib)])
def test_repr_equals_torch(make):
    if make is decoder or make is vgg_block or make is lenet:
        ref = repr(make(torch.nn))
    else:
        ref = repr(TorchNet()).replace("TorchNet", "Net")
    assert repr(make(nn)) == ref


def test_conv_repr_shows_every_non_default_like_torch():
    for kw in [
        dict(stride=2, padding=1, dilation=2, groups=2, bias=False),
        dict(padding="same", padding_mode="circular"),
        dict(padding="valid", padding_mode="replicate"),
    ]:
        assert repr(nn.Conv2d(4, 6, (3, 2), **kw)) == repr(torch.nn.Conv2d(4, 6, (3, 2), **kw))
    assert repr(nn.Conv1d(2, 2, 3, padding_mode="reflect", padding=1)) == repr(
        torch.nn.Conv1d(2, 2, 3, padding_mode="reflect", padding=1)
    )


def test_load_state_dict_round_trip_and_from_torch():
    src, dst = vgg_block(nn), vgg_block(nn)
    for _, buf in src.named_buffers():
        buf[...] = np.arange(buf.size).reshape(buf.shape) + 3
    missing, unexpected = dst.load_state_dict(src.state_dict())
    assert missing == [] and unexpected == []
    for (k, a), (_, b) in zip(src.state_dict().items(), dst.state_dict().items(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=k)
    ref = lenet(torch.nn)
    mine = lenet(nn)
    mine.load_state_dict(ref.state_dict())  # torch tensors are accepted as they are
    for k, v in ref.state_dict().items():
        np.testing.assert_array_equal(mine.state_dict()[k], v.numpy())
    ref.load_state_dict({k: torch.from_numpy(v) for k, v in mine.state_dict().items()})


def test_state_dict_is_a_copy():
    net = nn.Linear(2, 2)
    state = net.state_dict()
    state["weight"][...] = 7
    assert not np.any(net.weight.data == 7)


def test_load_state_dict_lists_every_missing_unexpected_and_misshaped_key():
    net = lenet(nn)
    state = net.state_dict()
    del state["0.bias"], state["11.weight"]
    state["3.weight"] = np.zeros((16, 3, 5, 5), np.float32)
    state["7.bias"] = np.zeros(7, np.float32)
    state["fc.weight"] = np.zeros((10, 84), np.float32)
    before = net.state_dict()
    with pytest.raises(CheckpointError) as err:
        net.load_state_dict(state)
    msg = str(err.value)
    for part in [
        r"missing keys: 0.bias (6,), 11.weight (10, 84)",
        r"unexpected keys: fc.weight (10, 84)",
        r"3.weight expects (16, 6, 5, 5), got (16, 3, 5, 5)",
        r"7.bias expects (120,), got (7,)",
        "strict=False",
    ]:
        assert part in msg, (part, msg)
    for k, v in net.state_dict().items():  # nothing half-loaded
        np.testing.assert_array_equal(v, before[k])
    with pytest.raises(CheckpointError, match=r"mis-shaped keys: 3.weight") as err:
        net.load_state_dict(state, strict=False)
    assert "missing" not in str(err.value)
    state["3.weight"] = before["3.weight"]
    state["7.bias"] = before["7.bias"]
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["0.bias", "11.weight"] and result.unexpected_keys == [
        "fc.weight"
    ]


def test_train_eval_zero_grad_apply():
    net = vgg_block(nn)
    assert net.training and all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    for p in net.parameters():
        p.grad = np.ones_like(p.data)
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    visited = []
    net.apply(lambda m: visited.append(type(m).__name__))
    assert visited[-1] == "Sequential" and visited[0] == "Conv2d" and len(visited) == 9


def test_double_and_float_convert_parameters_and_float_buffers():
    net = vgg_block(nn).double()
    assert all(p.dtype == np.float64 for p in net.parameters())
    state = net.state_dict()
    assert state["1.running_mean"].dtype == np.float64
    assert state["1.num_batches_tracked"].dtype == np.int64
    assert all(p.dtype == np.float32 for p in net.float().parameters())
    assert nn.Linear(3, 2, dtype=np.float64).weight.dtype == np.float64


def test_sequential_indexing_slicing_append_and_module_list():
    seq = lenet(nn)
    assert len(seq) == 12 and isinstance(seq[0], nn.Conv2d) and isinstance(seq[-1], nn.Linear)
    head = seq[7:]
    assert isinstance(head, nn.Sequential) and len(head) == 5
    assert list(head.state_dict()) == [
        "7.weight",
        "7.bias",
        "9.weight",
        "9.bias",
        "11.weight",
        "11.bias",
    ]
    assert [type(m).__name__ for m in seq][:3] == ["Conv2d", "ReLU", "MaxPool2d"]
    seq.append(nn.Softmax(dim=1))
    assert "12" in dict(seq.named_children())
    with pytest.raises(IndexError, match="index 20 is out of range for 13 modules"):
        seq[20]
    named = nn.Sequential({"conv": nn.Conv2d(1, 2, 3), "act": nn.ReLU()})
    assert list(named.state_dict()) == ["conv.weight", "conv.bias"]
    with pytest.raises(TypeError, match="entry 1 is a int, not an nn.Module"):
        nn.Sequential(nn.ReLU(), 3)
    blocks = nn.ModuleList([nn.Linear(2, 2)]).extend([nn.Linear(2, 3)])
    blocks[0] = nn.Linear(2, 5)
    assert [m.out_features for m in blocks] == [5, 3] and len(blocks[1:]) == 1


def test_setattr_rules():
    net = Net()
    net.head = nn.Linear(4, 5)  # replacing a sub-module keeps its place
    assert list(dict(net.named_children())) == ["conv1", "bn", "blocks", "head"]
    net.scale = nn.Parameter(np.ones(1))
    assert list(net.state_dict())[0] == "scale"
    net.conv1.bias = None
    assert "conv1.bias" not in net.state_dict()
    with pytest.raises(TypeError, match="wrap it in nn.Parameter"):
        net.head.weight = np.zeros((5, 4))
    del net.scale
    assert "scale" not in net.state_dict()
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        net.nope  # noqa: B018
    with pytest.raises(NotImplementedError, match="must define forward"):
        nn.Module()(1)


def test_parameter_is_a_leaf_tensor_requiring_grad():
    p = nn.Parameter(np.arange(3))
    assert isinstance(p, cs.Tensor) and p.requires_grad and p.is_leaf and p.dtype == np.float32
    assert repr(p).startswith("Parameter containing:\ntensor(")


def test_default_initialisation_is_pytorchs_and_seedable():
    nn.init.manual_seed(7)
    a = nn.Conv2d(6, 16, 5)
    nn.init.manual_seed(7)
    b = nn.Conv2d(6, 16, 5)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)  # the same draws: exact
    c = nn.Conv2d(6, 16, 5, rng=np.random.default_rng(1))
    d = nn.Conv2d(6, 16, 5, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(c.weight.data, d.weight.data)
    assert not np.array_equal(a.weight.data, c.weight.data)
    big = nn.Conv2d(60, 64, 5, rng=np.random.default_rng(0))
    bound = 1 / math.sqrt(60 * 25)
    for arr in (big.weight.data, big.bias.data):
        assert np.abs(arr).max() <= bound and np.abs(arr).max() > 0.95 * bound
    w = big.weight.data
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound  # U(-b, b) has std b / sqrt(3)
    tconv = nn.ConvTranspose2d(8, 4, 3, groups=2, rng=np.random.default_rng(0))
    assert np.abs(tconv.weight.data).max() <= 1 / math.sqrt(2 * 9)  # fan_in = weight.shape[1] * k
    lin = nn.Linear(400, 120, rng=np.random.default_rng(0))
    assert np.abs(lin.weight.data).max() <= 1 / 20
    bn = nn.BatchNorm2d(3)
    np.testing.assert_array_equal(bn.weight.data, np.ones(3))
    np.testing.assert_array_equal(bn.bias.data, np.zeros(3))


def test_init_functions():
    rng = np.random.default_rng(0)
    w = np.empty((200, 300))
    nn.init.kaiming_normal_(w, nonlinearity="relu", rng=rng)
    assert abs(w.std() - math.sqrt(2 / 300)) < 0.01 * math.sqrt(2 / 300)
    nn.init.xavier_uniform_(w, rng=rng)
    assert np.abs(w).max() <= math.sqrt(6 / 500)
    nn.init.xavier_normal_(w, gain=2.0, rng=rng)
    assert abs(w.std() - 2 * math.sqrt(2 / 500)) < 0.02
    nn.init.kaiming_uniform_(w, mode="fan_out", rng=rng)
    assert np.abs(w).max() <= math.sqrt(2) * math.sqrt(3 / 200)
    t = cs.tensor(np.empty(4, np.float32))
    assert nn.init.constant_(t, 2.5) is t and np.all(t.data == 2.5) and t.dtype == np.float32
    assert nn.init.calculate_gain("tanh") == 5 / 3
    assert nn.init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    with pytest.raises(ShapeError, match="at least 2 dimensions, got shape"):
        nn.init.kaiming_uniform_(np.empty(3))
    with pytest.raises(ShapeError, match="unknown nonlinearity 'swish'"):
        nn.init.calculate_gain("swish")


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: nn.Conv2d(3, 6, 3, groups=2), "groups=2 must divide in_channels=3"),
        (lambda: nn.Conv2d(4, 6, 3, groups=4), "groups=4 must divide out_channels=6"),
        (lambda: nn.Conv2d(0, 6, 3), "in_channels must be a positive integer, got 0"),
        (lambda: nn.Conv2d(1, 6, 0), "kernel_size must be a positive integer"),
        (
            lambda: nn.Conv2d(1, 6, (3, 3, 3)),
            r"kernel_size=\(3, 3, 3\) must be an integer or a tuple of 2",
        ),
        (lambda: nn.Conv2d(1, 6, 3, stride=0), "stride must be a positive integer"),
        (lambda: nn.Conv2d(1, 6, 3, padding=-1), "padding must be >= 0"),
        (lambda: nn.Conv2d(1, 6, 3, padding="full"), "padding='full' is not understood"),
        (lambda: nn.Conv1d(1, 6, 3, dilation=0), "dilation must be a positive integer"),
        (lambda: nn.Conv2d(1, 6, 3, padding_mode="mirror"), "padding_mode='mirror' is not one of"),
        (
            lambda: nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=2),
            "output_padding=.* must be smaller than stride",
        ),
        (lambda: nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect"), "only padding_mode='zeros'"),
        (lambda: nn.ConvTranspose1d(2, 2, 3, padding="same"), "padding='same' is not supported"),
        (lambda: nn.Linear(0, 3), "in_features must be a positive integer, got 0"),
        (lambda: nn.BatchNorm2d(0), "num_features must be a positive integer"),
        (lambda: nn.BatchNorm2d(3, momentum="0.1"), "momentum must be a real number"),
        (lambda: nn.Dropout(1.5), r"p must be a probability in \[0, 1\], got p=1.5"),
    ],
)
def test_bad_layer_arguments_raise_a_sentence(make, match):
    with pytest.raises(ShapeError, match=match):
        make()


def test_shared_layer_appears_under_every_name_in_state_dict_like_torch():
    def build(lib):
        net = lib.Module()
        lin = lib.Linear(3, 2)
        net.a, net.b = lin, lin
        net.c = lib.Sequential(lin, lib.ReLU())
        return net

    ours, theirs = build(nn), build(torch.nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert len(list(ours.parameters())) == len(list(theirs.parameters())) == 2
    state = {k: v.numpy() * 0 + 7 for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    np.testing.assert_array_equal(ours.a.weight.data, 7)
    with pytest.raises(CheckpointError, match=r"missing keys: b.weight \(2, 3\)"):
        ours.load_state_dict({k: v for k, v in state.items() if not k.startswith("b.")})


def test_load_state_dict_of_a_non_mapping_is_a_sentence():
    with pytest.raises(CheckpointError, match="expects a mapping name -> array.*got a list"):
        nn.Linear(2, 2).load_state_dict([1, 2])


def test_to_casts_dtype_and_accepts_cpu_only():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    assert net.to(np.float64) is net
    assert net[0].weight.dtype == np.float64 and net[1].running_mean.dtype == np.float64
    net.to("cpu", dtype="float32")
    assert net[0].weight.dtype == np.float32 and net[1].num_batches_tracked.dtype == np.int64
    for bad in ("cuda", np.int32, "float16"):
        with pytest.raises(cs.errors.ConvscopeError, match="Sequential.to: cannot move to"):
            net.to(bad)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: nn.Dropout("0.5"), r"Dropout: p must be a probability in \[0, 1\], got p='0.5'"),
        (lambda: nn.Dropout2d(-0.1), r"Dropout2d: p must be a probability"),
        (lambda: nn.MaxPool2d(0), "MaxPool2d: kernel_size must be a positive integer"),
        (lambda: nn.MaxPool1d(2, stride=0), "MaxPool1d: stride must be a positive integer"),
        (lambda: nn.AvgPool2d(2, padding=2), "AvgPool2d: padding=2 is more than half"),
        (lambda: nn.AvgPool2d(2, count_include_pad="no"), "count_include_pad must be True or"),
        (lambda: nn.MaxPool2d(2, ceil_mode="yes"), "MaxPool2d: ceil_mode must be True or False"),
        (
            lambda: nn.Upsample(scale_factor=2, mode="trilinear"),
            "mode='trilinear' is not supported",
        ),
        (lambda: nn.Upsample(scale_factor=2, align_corners=True), "align_corners applies to"),
        (lambda: nn.Upsample(), "give exactly one of size and scale_factor"),
    ],
)
def test_layer_constructors_reject_bad_arguments(make, match):
    with pytest.raises(ShapeError, match=match):
        make()


def test_functional_pools_reject_a_non_bool_flag():
    x = np.ones((1, 1, 4, 4))
    with pytest.raises(ShapeError, match="avg_pool2d: count_include_pad must be True or False"):
        nn.functional.avg_pool2d(x, 2, count_include_pad="no")
    with pytest.raises(ShapeError, match="max_pool2d: ceil_mode must be True or False, got 'no'"):
        nn.functional.max_pool2d(x, 2, ceil_mode="no")
