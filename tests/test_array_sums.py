"""transform/array_sums.py with optimize/direct_numpy.py: np.sum of an operand proven an
ndarray (or NumPy scalar) is printed `x.sum(...)` by the Python back end, anything else
stays np.sum. The prover is checked on a table of expressions; through the compiler each
derivative is checked against central finite differences (or hand-derived values), where
the method form is used and where it must not be (Python floats, forward-mode tangents
that may be the float seed 1.0, masked arrays whose np.sum is their method)."""
from __future__ import annotations

import gast
import numpy as np
import pytest
from fdcheck import assert_grad_matches

import tangent_src
from tangent_src.transform.array_sums import array_like

RNG = np.random.default_rng(12)
CLASSES = {"x": ("N",), "W": ("N", "N"), "s": (), "xs": None, "v": ("?", "1")}


@pytest.mark.parametrize("expr, proven", [
    ("x", True), ("W", True), ("v", True), ("dz", True),       # array classes, the adjoint
    ("s", False), ("xs", False), ("unknown", False),           # scalar, unknown, unseen
    ("-x", True), ("not x", False), ("x * 2.0", True), ("s * x + 1", True),
    ("s * s", False), ("2.0 * 3.0", False), ("x * xs", False),  # xs may be anything
    ("x @ W", False),                                           # (not arithmetic we trust)
    ("np.exp(x)", True), ("np.tanh(s * x)", True), ("np.exp(s)", True),  # a NumPy scalar
    ("np.exp(x, out=x)", False), ("np.real(x)", False),         # np.real is no ufunc
    ("helper(x)", False), ("x[0]", False), ("x.T", False),
    ("(x - s) / (1.0 + np.exp(-x))", True), ("x ** 2", True), ("x < 1.0", False),
])
def test_array_like(expr, proven):
    node = gast.parse(expr).body[0].value
    assert array_like(node, CLASSES, frozenset({"dz"})) is proven


def _method_lines(df) -> list:
    return [line.strip() for line in df.source.splitlines()
            if ".sum(" in line and not line.strip().startswith("#")]


def bias_sums(W, b, c, X):
    h = np.tanh(X @ W + b)
    return np.sum(h * h) + np.sum(np.exp(h + c))


def test_bias_adjoints_use_the_method_form():
    """A row bias (summed over rows) and a Python float bias (summed whole): the
    gradients against finite differences; the sums printed as methods."""
    W, b, X = RNG.normal(size=(3, 4)), RNG.normal(size=4), RNG.normal(size=(5, 3))
    args = (W, b, 0.3, X)
    assert_grad_matches(bias_sums, args, wrt=(0, 1, 2))
    df = tangent_src.grad(bias_sums, wrt=(0, 1, 2))
    df(*args)
    lines = _method_lines(df)
    assert any(".sum(axis=0)" in line for line in lines), df.source
    assert any(line.startswith("dc = ") and line.endswith(".sum()") for line in lines), \
        df.source
    code = "\n".join(line for line in df.source.splitlines() if "#" not in line)
    assert "np.add.reduce" not in code and "np.sum(" not in code, df.source


def float_sums(a, x):
    t = a * a
    return np.sum(t) + np.sum(x * a)


def test_python_float_operands_keep_np_sum():
    """`np.sum(a * a)` of a Python float: a float has no .sum, so np.sum stays."""
    args = (0.7, RNG.normal(size=3))
    assert_grad_matches(float_sums, args, wrt=(0, 1))
    both = tangent_src.value_and_grad(float_sums, wrt=(0, 1))
    value, _ = both(*args)
    assert value == float_sums(*args)
    assert "out = np.sum(t) + (x * a).sum()" in both.source, both.source


def spread(x, w):
    return np.sum(np.sin(x) * w) + np.sum(x * x)


def test_forward_mode_tangents_keep_np_sum():
    """jvp with the default tangent dx=1.0 (a float even for an array x): its sum stays
    np.sum. The derivative along all-ones against central differences."""
    x, w = RNG.normal(size=4), RNG.normal(size=4)
    jvp = tangent_src.autodiff(spread, mode="forward", wrt=0)
    got = jvp(x, w)
    eps = 1e-6
    want = (spread(x + eps, w) - spread(x - eps, w)) / (2 * eps)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert "np.sum(" in jvp.source, jvp.source


def masked_loss(x):
    return np.sum(np.sin(x)) + np.sum(x * x)


def test_masked_arrays_sum_their_unmasked_entries():
    """np.sum of a masked array is its method (the masked entries left out): the value
    and the gradient of the entries kept are np.sum's, hand-derived (cos x + 2x)."""
    x = np.ma.array([0.3, 2.0, -1.1], mask=[0, 1, 0])
    both = tangent_src.value_and_grad(masked_loss)
    value, grad = both(x)
    assert value == masked_loss(x)
    assert value == pytest.approx(np.sin(0.3) + np.sin(-1.1) + 0.09 + 1.21, rel=1e-14)
    kept = ~np.ma.getmaskarray(x)
    np.testing.assert_allclose(np.asarray(grad)[kept],
                               (np.cos(x) + 2 * x).data[kept], rtol=1e-12)
    assert "np.add.reduce" not in both.source, both.source


def replaced_adjoint(x, b):
    y = np.tanh(x) + b
    with tangent_src.insert_grad_of(y) as dy:
        dy = 0.5  # noqa: F841 (the hook sets the adjoint)
    return np.sum(y * y)


def test_an_adjoint_a_hook_replaces_keeps_np_sum():
    """A gradient-surgery hook may set an array's adjoint to a float: sums of it stay
    np.sum. The values are the hand-derived ones for dy = 0.5."""
    x = np.array([0.1, 0.2, 0.3])
    df = tangent_src.grad(replaced_adjoint, wrt=(0, 1))
    dx, db = df(x, 0.25)
    np.testing.assert_allclose(dx, 0.5 * (1.0 - np.tanh(x) ** 2), rtol=1e-14)
    assert db == 0.5
