"""help() shows PyTorch-style docstrings (Args, Shape with the output-size formula, Examples) and
their examples run; every public F function has a docstring."""

import doctest
import inspect

import numpy as np
import pytest

import convscope as cs
import convscope.nn as nn
import convscope.nn.functional as F

WINDOWED = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "MaxPool1d", "MaxPool2d",
            "MinPool1d", "MinPool2d", "AvgPool1d", "AvgPool2d"]  # fmt: skip
DOCUMENTED = [*WINDOWED, "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "BatchNorm1d", "BatchNorm2d"]


@pytest.mark.parametrize("name", DOCUMENTED)
def test_layers_show_args_shape_and_examples_that_run(name):
    cls = getattr(nn, name)
    doc = inspect.getdoc(cls)
    assert "see the module docstring" not in doc
    for section in ("Args:", "Shape:", "Examples:"):
        assert section in doc, (name, section)
    if name in WINDOWED:
        size = "L" if name.endswith("1d") else "H"
        assert f"{size}_out = " in doc and "stride[0]" in doc
    globs = {"cs": cs, "nn": nn, "F": F, "np": np}
    for test in doctest.DocTestFinder(recurse=False).find(cls, name, globs=globs):
        assert test.examples, name
        result = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS).run(test, out=lambda s: None)
        assert result.failed == 0, f"{name}: an example of its docstring fails"


@pytest.mark.parametrize("fn", ["max_pool2d", "avg_pool2d"])
def test_pool_function_examples_run(fn):
    globs = {"cs": cs, "F": F}
    (test,) = doctest.DocTestFinder(recurse=False).find(getattr(F, fn), fn, globs=globs)
    assert doctest.DocTestRunner().run(test, out=lambda s: None).failed == 0


def test_every_public_function_has_a_docstring():
    missing = [
        name
        for name, obj in vars(F).items()
        if inspect.isfunction(obj) and not name.startswith("_") and not inspect.getdoc(obj)
    ]
    assert missing == []


def test_the_rng_promise_of_the_nn_docstring_holds():
    assert "take no ``rng``" in nn.__doc__
    for make in (lambda: nn.Conv2d(1, 2, 3, rng=np.random.default_rng(0)),
                 lambda: nn.Linear(2, 3, rng=np.random.default_rng(0)),
                 lambda: nn.Dropout(rng=np.random.default_rng(0))):  # fmt: skip
        make()
    with pytest.raises(TypeError):
        nn.BatchNorm2d(3, rng=np.random.default_rng(0))
