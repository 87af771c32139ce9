"""PyTorch's own test inputs, through convscope: the OpInfo reference inputs of every op it has.

PyTorch keeps, for each operator, a generator of sample inputs its own test suite runs
(``torch.testing._internal.common_methods_invocations.op_db``: ``OpInfo.reference_inputs``,
the sample inputs plus the extra reference cases; about 3,700 float64 samples for the ops
below). Each sample runs in PyTorch and in convscope (float tensors become convscope Tensors,
integer tensors NumPy arrays, torch dtypes NumPy dtypes):

- both refuse it (convscope with a ConvscopeError sentence), or
- both return the same outputs (shape; values; integer outputs such as max pooling's indices
  exactly), change the same inputs in place (batch_norm's running statistics) alike, and give
  the same gradient to every input that requires one, for the same random upstream gradient.

Tolerance (tests/tolerance.py): the linear ops (conv, linear, average pooling, pad,
resize, unpool, flatten) are sums of products, so two orders of summation differ by at most
SLACK*(n+1)*eps*sum|terms|, where sum|terms| is the same op on the absolute inputs (and the
absolute upstream gradient) and n bounds the terms of one sum (the largest input's size).
The other ops agree to 1e-10 relative plus 1e-12 of the largest magnitude in play.
Non-finite values must match exactly.

The samples taken differently are in SKIPPED (a sample) and NAN_INPUT_GRADIENT (a gradient
entry), each with its reason. torch's global generator is forked and seeded per op, so a run
is reproducible and leaves the other tests' randomness alone.
"""

import warnings
import zlib

import numpy as np
import pytest

import convscope as cs
import convscope.nn.functional as F
from convscope.errors import ConvscopeError
from tolerance import assert_sums_close, assert_values_close, largest

torch = pytest.importorskip("torch", reason="pip install 'convscope[test]' (torch==2.13.0)")
pytest.importorskip(
    "expecttest", reason="pip install 'convscope[test]' (or pip install expecttest)"
)


def _flatten(x, start_dim=0, end_dim=-1):  # torch.flatten's defaults (F.flatten's is nn.Flatten's)
    return F.flatten(x, start_dim, end_dim)


# (OpInfo name, variant) -> the convscope function taking the same arguments
OPS = {
    ("nn.functional.conv1d", ""): F.conv1d,
    ("nn.functional.conv2d", ""): F.conv2d,
    ("nn.functional.conv_transpose1d", ""): F.conv_transpose1d,
    ("nn.functional.conv_transpose2d", ""): F.conv_transpose2d,
    ("nn.functional.max_pool1d", ""): F.max_pool1d,
    ("nn.functional.max_pool2d", ""): F.max_pool2d,
    ("nn.functional.avg_pool1d", ""): F.avg_pool1d,
    ("nn.functional.avg_pool2d", ""): F.avg_pool2d,
    ("nn.functional.adaptive_avg_pool1d", ""): F.adaptive_avg_pool1d,
    ("nn.functional.adaptive_avg_pool2d", ""): F.adaptive_avg_pool2d,
    ("nn.functional.adaptive_max_pool1d", ""): F.adaptive_max_pool1d,
    ("nn.functional.adaptive_max_pool2d", ""): F.adaptive_max_pool2d,
    ("nn.functional.max_unpool1d", ""): F.max_unpool1d,
    ("nn.functional.max_unpool1d", "grad"): F.max_unpool1d,
    ("nn.functional.max_unpool2d", ""): F.max_unpool2d,
    ("nn.functional.max_unpool2d", "grad"): F.max_unpool2d,
    **{("nn.functional.pad", mode): F.pad for mode in
       ("constant", "reflect", "replicate", "replicate_negative", "circular")},
    **{("nn.functional.interpolate", mode): F.interpolate for mode in
       ("nearest", "nearest-exact", "area", "linear", "bilinear", "bicubic")},
    ("nn.functional.relu", ""): F.relu,
    ("nn.functional.leaky_relu", ""): F.leaky_relu,
    ("nn.functional.relu6", ""): F.relu6,
    ("nn.functional.elu", ""): F.elu,
    ("nn.functional.silu", ""): F.silu,
    ("nn.functional.softplus", ""): F.softplus,
    ("nn.functional.gelu", ""): F.gelu,
    ("sigmoid", ""): F.sigmoid,
    ("tanh", ""): F.tanh,
    ("softmax", ""): F.softmax,
    ("softmax", "with_dtype"): F.softmax,
    ("log_softmax", ""): F.log_softmax,
    ("log_softmax", "with_dtype"): F.log_softmax,
    ("nn.functional.linear", ""): F.linear,
    ("flatten", ""): _flatten,
    ("nn.functional.dropout", ""): F.dropout,
    ("nn.functional.dropout2d", ""): F.dropout2d,
    ("nn.functional.batch_norm", ""): F.batch_norm,
    ("nn.functional.layer_norm", ""): F.layer_norm,
    ("nn.functional.group_norm", ""): F.group_norm,
    ("nn.functional.cross_entropy", ""): F.cross_entropy,
    ("nn.functional.nll_loss", ""): F.nll_loss,
    ("nn.functional.mse_loss", ""): F.mse_loss,
    ("nn.functional.l1_loss", ""): F.l1_loss,
    ("nn.functional.binary_cross_entropy_with_logits", ""): F.binary_cross_entropy_with_logits,
}  # fmt: skip

# sums of products in every input: compared with sum|terms| from a run on absolute values
LINEAR = {
    "nn.functional.conv1d", "nn.functional.conv2d", "nn.functional.conv_transpose1d",
    "nn.functional.conv_transpose2d", "nn.functional.linear", "nn.functional.avg_pool1d",
    "nn.functional.avg_pool2d", "nn.functional.adaptive_avg_pool1d",
    "nn.functional.adaptive_avg_pool2d", "nn.functional.max_unpool1d",
    "nn.functional.max_unpool2d", "nn.functional.pad", "nn.functional.interpolate", "flatten",
}  # fmt: skip
# ... except where the weights are computed from source positions (interpolation), which
# PyTorch's kernels may round differently (a fused multiply-add): the relative rule there
COMPUTED_WEIGHTS = {("nn.functional.interpolate", m) for m in ("linear", "bilinear", "bicubic")}
RANDOM = {"nn.functional.dropout", "nn.functional.dropout2d"}  # masks differ: shapes only

# Samples convscope takes differently from PyTorch, and why (the list stays short).
SKIPPED = {
    **{
        ("nn.functional.interpolate", mode): (
            lambda s: s.input.ndim == 5,
            "3-D (volumetric) resize: convscope has 1-D and 2-D ops only",
        )
        for mode in ("nearest", "nearest-exact", "area")
    },
    ("nn.functional.batch_norm", ""): (
        lambda s: s.input.ndim == 1,
        "a 1-D input: PyTorch returns an empty result for shape (0,) and refuses every other"
        " 1-D input; convscope refuses them all (batch_norm needs a channel axis)",
    ),
}
# PyTorch's gradient at a NaN input depends on where the element sits: its vectorised loop
# and its scalar tail disagree (relu6: 0 or 1; elu: nan or 1). Those entries are not compared.
NAN_INPUT_GRADIENT = {"nn.functional.relu6", "nn.functional.elu"}


@pytest.fixture(scope="module")
def op_db():
    """PyTorch's OpInfo database (~3 s to import: once per module)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.testing._internal.common_methods_invocations import op_db as db
    return {(o.name, o.variant_test_name): o for o in db if (o.name, o.variant_test_name) in OPS}


def _fresh(v, absolute=False):
    """Samples share and reuse their tensors (some are views): each run gets its own leaves."""
    if isinstance(v, torch.Tensor):
        t = v.detach().clone()
        if absolute and t.is_floating_point():
            t = t.abs()
        return t.requires_grad_(v.requires_grad)
    if isinstance(v, (tuple, list)):
        return type(v)(_fresh(a, absolute) for a in v)
    return v


def _to_convscope(v):
    if isinstance(v, torch.Tensor):
        a = v.detach().numpy().copy()
        return cs.tensor(a, requires_grad=v.requires_grad) if a.dtype.kind == "f" else a
    if isinstance(v, torch.dtype):
        return {torch.float64: np.float64, torch.float32: np.float32}[v]
    if isinstance(v, (tuple, list)) and any(isinstance(a, torch.Tensor) for a in v):
        return type(v)(_to_convscope(a) for a in v)
    return v


def _leaves(values, kind):
    out = []
    for v in values:
        if isinstance(v, kind):
            out.append(v)
        elif isinstance(v, (tuple, list)):
            out += _leaves(v, kind)
    return out


def _call(info, sample, absolute=False):
    """(inputs, outputs) of PyTorch's op on fresh copies of the sample's tensors."""
    args = [_fresh(a, absolute) for a in (sample.input, *sample.args)]
    kwargs = {k: _fresh(v, absolute) for k, v in sample.kwargs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = info.op(*args, **kwargs)
    return [*args, *kwargs.values()], (out if isinstance(out, tuple) else (out,))


def _by_sums(info):
    """True when the op's values are compared as sums of products (LINEAR, COMPUTED_WEIGHTS)."""
    return info.name in LINEAR and (info.name, info.variant_test_name) not in COMPUTED_WEIGHTS


def _compare(sums, actual, expected, magnitude, n, scale, what):
    """Sums of products against sum|terms| (``sums``), other values to RTOL plus a floor."""
    if sums:
        assert_sums_close(actual, expected, magnitude, n, err_msg=what)
    else:
        assert_values_close(actual, expected, scale=scale, err_msg=what)


def check_sample(info, fn, sample, seed):
    """Run one sample both ways and compare (module docstring); AssertionError on a difference."""
    name = info.name
    try:
        inputs, outputs = _call(info, sample)
        refused = None
    except Exception as exc:  # PyTorch refuses: convscope must refuse with a sentence
        refused = exc
    args = [_to_convscope(a) for a in (sample.input, *sample.args)]
    kwargs = {k: _to_convscope(v) for k, v in sample.kwargs.items()}
    try:
        ours = fn(*args, **kwargs)
    except ConvscopeError as exc:
        assert refused is not None, f"convscope refuses what PyTorch takes: {exc}"
        return
    assert refused is None, f"PyTorch refuses ({refused}) but convscope returns a result"
    ours = ours if isinstance(ours, tuple) else (ours,)
    assert len(ours) == len(outputs), f"{len(ours)} outputs, PyTorch gives {len(outputs)}"
    theirs_in = _leaves(inputs, torch.Tensor)
    ours_in = _leaves([*args, *kwargs.values()], (cs.Tensor, np.ndarray))
    n = max((t.numel() for t in theirs_in), default=1)
    magnitude = None
    if _by_sums(info):
        magnitude = [t.detach().numpy() for t in _call(info, sample, absolute=True)[1]]
    scale = largest(*theirs_in, *outputs)
    for i, (a, t) in enumerate(zip(ours, outputs, strict=True)):
        a, t = np.asarray(getattr(a, "data", a)), t.detach().numpy()
        assert a.shape == t.shape, f"output {i}: shape {a.shape}, PyTorch {t.shape}"
        if name in RANDOM:
            continue
        if t.dtype.kind != "f":
            np.testing.assert_array_equal(a, t, err_msg=f"output {i} (integers)")
            continue
        mag = None if magnitude is None else magnitude[i]
        _compare(_by_sums(info), a, t, mag, n, scale, f"output {i}")
    for i, (a, t) in enumerate(zip(ours_in, theirs_in, strict=True)):  # changed in place alike
        if not t.requires_grad and t.is_floating_point() and name not in RANDOM:
            assert_values_close(a, t, scale=scale, err_msg=f"input {i} (changed in place)")
    _check_gradients(info, sample, ours, outputs, ours_in, theirs_in, n, scale, seed)


def _check_gradients(info, sample, ours, outputs, ours_in, theirs_in, n, scale, seed):
    name = info.name
    wanted = [i for i, t in enumerate(theirs_in) if t.requires_grad]
    if name in RANDOM or not wanted or outputs[0].grad_fn is None:
        return
    dy = torch.randn(outputs[0].shape, dtype=outputs[0].dtype,
                     generator=torch.Generator().manual_seed(seed))  # fmt: skip
    grads = torch.autograd.grad(outputs[0], [theirs_in[i] for i in wanted], dy, allow_unused=True)
    ours[0].backward(dy.numpy())
    magnitude = None
    if _by_sums(info):
        inputs, outs = _call(info, sample, absolute=True)
        leaves = [t for t in _leaves(inputs, torch.Tensor) if t.requires_grad]
        magnitude = torch.autograd.grad(outs[0], leaves, dy.abs(), allow_unused=True)
    scale = max(scale, largest(dy, *grads))
    for k, (i, g) in enumerate(zip(wanted, grads, strict=True)):
        x = theirs_in[i].detach().numpy()
        expected = np.zeros(x.shape) if g is None else g.numpy()
        actual = ours_in[i].grad
        actual = np.zeros(x.shape) if actual is None else actual
        if name in NAN_INPUT_GRADIENT:
            actual, expected = actual[~np.isnan(x)], expected[~np.isnan(x)]
        mag = None if magnitude is None or magnitude[k] is None else magnitude[k].numpy()
        if mag is not None and name in NAN_INPUT_GRADIENT:
            mag = mag[~np.isnan(x)]
        _compare(_by_sums(info), actual, expected, mag, n, scale, f"gradient of input {i}")


def _describe(v):
    if isinstance(v, torch.Tensor):
        return f"tensor{tuple(v.shape)}{'' if v.dtype == torch.float64 else f' {v.dtype}'}"
    if isinstance(v, (tuple, list)):
        return type(v)(_describe(a) for a in v)
    return v


# the ops with hundreds of samples (every combination of their arguments): ~20 s of the ~40
HEAVY = {("nn.functional.max_pool1d", ""), ("nn.functional.max_pool2d", ""),
         ("nn.functional.max_unpool1d", ""), ("nn.functional.max_unpool2d", "")}  # fmt: skip


@pytest.mark.parametrize(
    "key",
    [pytest.param(k, marks=pytest.mark.slow) if k in HEAVY else k for k in sorted(OPS)],
    ids=lambda k: "-".join(p for p in k if p),
)
def test_pytorch_reference_inputs(key, op_db):
    info, fn = op_db[key], OPS[key]
    skip = SKIPPED.get(key)
    failures, checked, skipped = [], 0, 0
    with torch.random.fork_rng():
        torch.manual_seed(zlib.crc32(repr(key).encode()))
        samples = list(info.reference_inputs("cpu", torch.float64, requires_grad=True))
    for k, sample in enumerate(samples):
        if skip and skip[0](sample):
            skipped += 1
            continue
        try:
            check_sample(info, fn, sample, seed=k)
        except AssertionError as exc:
            args = _describe([sample.input, *sample.args]), _describe(sample.kwargs)
            failures.append(f"sample {k} {args}: {str(exc).splitlines()[0]}")
        checked += 1
    assert checked > 0
    assert not failures, f"{len(failures)} of {checked} samples differ:\n" + "\n".join(
        failures[:10]
    )
    if skip:
        assert skipped > 0, f"SKIPPED names {key} but no sample matched: {skip[1]}"
