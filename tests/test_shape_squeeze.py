"""Shape inference through np.squeeze and np.expand_dims over literal axes
(analysis/shape_forms.py): a logsumexp written with `np.squeeze(mx, axis=0)` (ADBench
GMM's helper) is proven scalar, so grad needs no per-call output check, and the classes
the specializer now sees for squeezed and expanded values keep every broadcast adjoint
exact. Each gradient is checked against central finite differences."""
from __future__ import annotations

import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src

RNG = np.random.default_rng(2209)


def logsumexp(a, axis):
    mx = np.max(a, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(a - mx), axis=axis)) + np.squeeze(mx, axis=axis)


def mixture_loss(alphas, scores):
    """A mixture's log-likelihood in the GMM style: the result is a scalar only if the
    squeeze of a (1,) keepdims maximum is known to be a number."""
    lse_alphas = logsumexp(alphas, 0)
    return np.sum(logsumexp(scores + alphas[:, None], 0)) - scores.shape[1] * lse_alphas


def outer_sin(x, y):
    """expand_dims on both sides of a broadcast product: each adjoint must be summed."""
    return np.sum(np.sin(np.expand_dims(x, 0) * np.expand_dims(y, -1)))


def batch_of_one(x, w):
    """A (1, n) row squeezed to (n,) before an elementwise product with a vector."""
    return np.sum(np.tanh(np.squeeze(x, axis=0) * w) ** 2)


def squeeze_all(x, w):
    """np.squeeze without an axis of a (1, n, 1) array."""
    return np.sum(np.squeeze(x) * w)


def expand_two(x):
    """expand_dims with a tuple of axes, then a broadcast against a (2, 1, 3) array."""
    c = np.arange(6.0).reshape(2, 1, 3)
    return np.sum(np.exp(0.1 * np.expand_dims(x, (0, 1)) * c))


CASES = [
    (mixture_loss, (RNG.normal(size=4), RNG.normal(size=(4, 6)))),
    (outer_sin, (RNG.normal(size=3), RNG.normal(size=4))),
    (batch_of_one, (RNG.normal(size=(1, 5)), RNG.normal(size=5))),
    (squeeze_all, (RNG.normal(size=(1, 4, 1)), RNG.normal(size=4))),
    (expand_two, (RNG.normal(size=3),)),
]


@pytest.mark.parametrize("func, args", CASES, ids=[c[0].__name__ for c in CASES])
def test_gradients_against_finite_differences(func, args):
    wrt = tuple(range(len(args)))
    grads = tangent_src.grad(func, wrt=wrt)(*args)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for k, g in enumerate(grads):
        expected = numerical_grad(func, args, wrt=k)
        np.testing.assert_allclose(g, expected, rtol=1e-6, atol=1e-8)


def test_squeezed_logsumexp_output_is_proven_scalar():
    """The check that grad's function returned a scalar costs nothing per call once the
    source proves it (the split forward/backward path is not taken)."""
    df = tangent_src.grad(mixture_loss, wrt=(0, 1))
    df(*CASES[0][1])
    assert df._last.output == "scalar"


def test_squeeze_of_a_size_n_axis_still_raises():
    """np.squeeze of an axis whose size is not 1 is NumPy's ValueError, not a guess."""
    with pytest.raises(ValueError):
        tangent_src.grad(batch_of_one)(RNG.normal(size=(2, 5)), RNG.normal(size=5))
