"""Forward mode agrees with reverse mode on every function of the reverse-mode corpus.

For each case, the gradient is assembled column by column from `tangent_src.jvp` with
standard basis tangents (zero tangents for every other argument) and compared with
`tangent_src.grad`. Nothing is skipped: a case forward mode cannot handle (a
`TangentError`, or any other exception) is a failure.
"""
from __future__ import annotations

import copy
import inspect

import numpy as np
import pytest
from test_reverse_corpus import CORPUS

import tangent_src

RTOL = 1e-9
ATOL = 1e-12
CASE_IDS = [c.name for c in CORPUS]


def _index_of(func, w):
    """The position of one wrt entry (an index or a parameter name) among the arguments."""
    if isinstance(w, str):
        return list(inspect.signature(func).parameters).index(w)
    return int(w)


def _zero_tangent(arg):
    return 0.0 if isinstance(arg, float) else np.zeros(np.shape(arg), dtype=np.float64)


def _basis(arg):
    """(index, tangent) for every standard basis direction of one argument."""
    if isinstance(arg, float):
        yield (), 1.0
        return
    for idx in np.ndindex(np.shape(arg)):
        e = np.zeros(np.shape(arg), dtype=np.float64)
        e[idx] = 1.0
        yield idx, e


def forward_gradient(func, args, position):
    """The gradient of scalar func(*args) in args[position], one jvp per basis direction."""
    arg = args[position]
    expected_value = func(*copy.deepcopy(args))
    grad = 0.0 if isinstance(arg, float) else np.zeros(np.shape(arg), dtype=np.float64)
    for idx, e in _basis(arg):
        tangents = [_zero_tangent(a) for a in args]
        tangents[position] = e
        primals = copy.deepcopy(args)
        value, tangent = tangent_src.jvp(func, primals, tuple(tangents))
        for before, after in zip(args, primals):
            np.testing.assert_array_equal(after, before, err_msg="jvp modified its input")
        np.testing.assert_allclose(value, expected_value, rtol=1e-12, atol=1e-12,
                                   err_msg="jvp returned a different value than the function")
        assert np.ndim(tangent) == 0, f"tangent of a scalar output has shape {np.shape(tangent)}"
        if isinstance(arg, float):
            grad = float(tangent)
        else:
            grad[idx] = tangent
    return grad


def test_corpus_is_the_full_reverse_corpus():
    """The forward check runs over the whole corpus, not a subset."""
    assert len(CORPUS) >= 75
    assert len(set(CASE_IDS)) == len(CASE_IDS)


@pytest.mark.parametrize("c", CORPUS, ids=CASE_IDS)
def test_forward_gradient_equals_reverse_gradient(c):
    """Forward mode (jvp along every basis direction) gives reverse mode's gradient."""
    args = c.make_args()
    wrt = c.wrt if isinstance(c.wrt, tuple) else (c.wrt,)
    reverse = tangent_src.grad(c.func, wrt=c.wrt)(*copy.deepcopy(args))
    if not isinstance(c.wrt, tuple):
        reverse = (reverse,)
    assert len(reverse) == len(wrt)
    for w, expected in zip(wrt, reverse):
        position = _index_of(c.func, w)
        forward = forward_gradient(c.func, args, position)
        assert np.shape(forward) == np.shape(args[position])
        np.testing.assert_allclose(forward, expected, rtol=RTOL, atol=ATOL,
                                   err_msg=f"{c.name}: d/d[{w!r}] forward != reverse")
