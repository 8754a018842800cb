"""Rules added to close the gap with what user code (and other autodiff libraries' test
suites) differentiates: differences, convolutions, partitions, Bessel and incomplete gamma
functions, matrix equations, ... -- each checked against central finite differences in
float64, in reverse mode (every element of every float argument) and forward mode (a
random direction), several call forms each, second order for some.

Every entry of TABLE is a call form: an expression in which {0}, {1}, ... stand for the
arguments (optionally preceded by statements, one per line), and one generator per
argument (`R`: uniform floats, differentiated; `K`: a constant, inlined). Each becomes
`case_<n>` in a real module file: a loss `np.sum(W * expression)` with a fixed random W,
written like user code.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import scipy.special as sp
from fdcheck import numerical_grad, write_case_module

import tangent_src
from tangent_src.errors import NoDerivativeRuleError

RTOL, ATOL = 1e-5, 1e-6


@dataclass
class R:
    """Uniform floats in [lo, hi] of `shape` (a float for shape ())."""

    shape: tuple = ()
    lo: float = -1.0
    hi: float = 1.0
    const = False

    def draw(self, rng):
        value = rng.uniform(self.lo, self.hi, size=self.shape)
        return float(value) if self.shape == () else value


@dataclass
class K:
    """A constant argument (orders, masks, spacings): inlined, not differentiated."""

    value: object
    const = True

    def draw(self, rng):
        return self.value


@dataclass
class Spread:
    """Values at least `gap` apart, shuffled (partitions: no ties within the FD step)."""

    shape: tuple
    gap: float = 0.2
    const = False

    def draw(self, rng):
        n = int(np.prod(self.shape))
        values = (np.arange(n) - n / 2) * self.gap + rng.uniform(0, self.gap / 4, size=n)
        return rng.permutation(values).reshape(self.shape)


def P(*shape, lo=0.5, hi=2.0):
    """Positive floats (the domain of the special functions)."""
    return R(tuple(shape), lo, hi)


def F(*shape):
    return R(tuple(shape))


TABLE: list = []   # (call, args, second)


def add(call, *args, second=False):
    TABLE.append((call, args, second))


# -- scipy.special ----------------------------------------------------------------------
for name in ("j0", "j1", "y0", "y1", "i0", "i1", "i0e", "i1e", "k0", "k1", "k0e", "k1e"):
    add(f"scipy.special.{name}({{0}})", P(3), second=name in ("j0", "k1e"))
add("np.i0({0})", F(3), second=True)
add("scipy.special.i0e({0}) * scipy.special.i1e({0})", F(4))       # both signs of x
for name, order in (("jv", "2.5"), ("yv", "1.5"), ("iv", "0.5"), ("kv", "3.0"), ("ive", "2"),
                    ("kve", "1"), ("jn", "2"), ("yn", "3")):
    add(f"scipy.special.{name}({order}, {{0}})", P(2, 3), second=name in ("jv", "ive"))
add("scipy.special.iv(np.array([0.0, 1.0, 2.5]), {0})", P(2, 3))   # broadcast orders
add("scipy.special.jv(1.0, {0}) * {0}", P())
add("scipy.special.gammainc({1}, {0})", P(3), K(2.5), second=True)
add("scipy.special.gammainc(np.array([[1.5], [3.0]]), {0})", P(3))
add("scipy.special.gammaincc(1.7, {0})", P(2, 2), second=True)
add("scipy.special.gammaincinv(2.0, {0})", R((3,), 0.1, 0.9), second=True)
add("scipy.special.gammainccinv(0.8, {0})", R((3,), 0.1, 0.9))
add("scipy.special.betainc(2.0, 3.0, {0})", R((4,), 0.1, 0.9), second=True)
add("scipy.special.betainc(np.array([0.5, 4.0]), 1.5, {0})", R((3, 2), 0.1, 0.9))
add("scipy.special.rgamma({0})", P(3), second=True)
add("scipy.special.cosm1({0})", F(3))
add("scipy.special.poch({0}, {1})", P(3), P(3), second=True)
add("scipy.special.binom({0}, {1})", R((3,), 3.0, 5.0), P(3), second=True)
add("scipy.special.powm1({0}, {1})", P(2, 3), F(3), second=True)
add("scipy.special.huber({0}, {1})", P(4), K(np.array([-2.0, -0.3, 0.2, 3.0])))
add("scipy.special.huber({1}, {0})", R((4,), 2.0, 3.0), K(np.array([0.5, 1.0, 4.0, 5.0])))
add("scipy.special.huber(1.0, {0})", F(4), second=True)
add("scipy.special.pseudo_huber({0}, {1})", P(3), F(3), second=True)
add("scipy.special.gammasgn({1}) * {0}", F(3), K(np.array([-1.5, 0.5, 2.0])))

# -- differences ------------------------------------------------------------------------
add("np.diff({0})", F(5), second=True)
add("np.diff({0}, 2)", F(6), second=True)
add("np.diff({0}, n=3, axis=0)", F(5, 2))
add("np.diff({0}, axis=1)", F(2, 4, 3))
add("np.diff({0}, 0)", F(3))
add("np.diff({0}, prepend={1})", F(4), F(), second=True)
add("np.diff({0}, 2, prepend={1}, append={2})", F(4), F(2), F(1))
add("np.diff({0}, axis=0, append={1})", F(3, 2), F(1, 2))
add("np.diff({0}, prepend=0.0, append={1})", F(2, 3), F())
add("np.diff({0}, prepend={1})", F(3), K(np.array([0.0, 1.0])))
add("np.diff({1}, prepend={0})", F(), K(np.array([0.5, 1.0, 3.0])))
add("np.ediff1d({0})", F(2, 3), second=True)
add("np.ediff1d({0}, to_end={1}, to_begin={2})", F(4), F(2), F())
add("np.ediff1d({0}, to_begin=[1.0, 2.0])", F(3))
add("np.ediff1d({1}, to_end={0})", F(2), K(np.array([1.0, 4.0, 2.0])))

# -- convolutions -----------------------------------------------------------------------
for mode in ("full", "same", "valid"):
    for n, m in ((5, 3), (3, 4), (4, 4)):
        for f in ("np.convolve", "np.correlate"):
            add(f"{f}({{0}}, {{1}}, '{mode}')", F(n), F(m), second=(n, m, mode) == (5, 3, "same"))
add("np.convolve({0}, {1})", F(4), K(np.array([0.25, 0.5, 0.25])))
add("np.correlate({0}, {1})", F(5), F(2))
add("np.correlate({0}, {1}, mode='full')", F(2), F(5))
for mode in ("full", "same", "valid"):
    for sa, sb in (((4, 5), (2, 3)), ((2, 3), (4, 5)), ((3,), (2,))):
        for f in ("scipy.signal.convolve", "scipy.signal.correlate"):
            add(f"{f}({{0}}, {{1}}, mode='{mode}')", F(*sa), F(*sb),
                second=(sa, mode) == ((4, 5), "valid"))
add("scipy.signal.convolve({0}, {1}, method='direct')", F(3, 2, 2), F(2, 2, 2))
add("scipy.signal.correlate({0}, {1}, 'same', method='fft')", F(4, 3), F(2, 2))

# -- rearrangements ---------------------------------------------------------------------
add("np.partition({0}, 2)", Spread((6,)), second=True)
add("np.partition({0}, (1, 3), axis=0)", Spread((5, 3)))
add("np.partition({0}, 3, axis=None) * np.arange(12.0)", Spread((3, 4)))
add("np.partition({0}, -1)[..., -1]", Spread((2, 2, 4)))
add("np.rollaxis({0}, 2)", F(2, 3, 4), second=True)
add("np.rollaxis({0}, 0, 3) * np.arange(2.0)", F(2, 3, 4))
add("np.rollaxis({0}, -1, 1)", F(2, 3, 4))
add("np.real_if_close({0}) * {0}", F(3), second=True)
_HOLES = np.array([1.0, np.nan, np.inf, -np.inf, 2.0])
add("np.nan_to_num(np.where(np.isnan({1}), {1}, {0}))", F(5), K(_HOLES), second=True)
add("np.nan_to_num(np.where(np.isfinite({1}), {0} * {0}, {1}), nan={2}, posinf={3}, "
    "neginf=-2.0)", F(5), K(_HOLES), F(), F(), second=True)
add("np.nan_to_num(np.where(np.isfinite({1}), {0}, {1}), neginf={2}, posinf=3.0)", F(5),
    K(_HOLES), F(1))

_CONDS = "[{1} < -0.3, {1} > 0.4]"
add(f"np.select({_CONDS}, [{{0}} * {{0}}, np.sin({{0}})])", F(6), K(np.linspace(-0.9, 0.8, 6)),
    second=True)
add(f"np.select({_CONDS}, [{{0}}, {{0}} ** 3], default={{2}})", F(6),
    K(np.linspace(-0.9, 0.8, 6)), F(), second=True)
add("choices = [{0}, 2.0 * {0}]\nnp.select([{1}, ~{1}], choices, {2})", F(2, 3),
    K(np.array([[True, False, False], [False, True, True]])), F(3))
add("np.trapezoid({0})", F(5), second=True)
add("np.trapezoid({0} * {0}, dx={1})", F(5), P(), second=True)
add("np.trapezoid({0}, {1}, axis=0)", F(4, 3), K(np.array([0.0, 0.2, 0.7, 1.5])))
add("np.trapezoid(np.exp({0}), {1})", F(2, 4), K(np.array([[0.0, 0.5, 0.6, 1.0],
                                                               [0.1, 0.2, 0.4, 0.9]])))
add("np.trapezoid({0}, dx={1}, axis=1)", F(2, 3, 2), P())

add("np.median({0})", Spread((5,)), second=True)
add("np.median({0})", Spread((2, 3)))
add("np.median({0}, axis=1, keepdims=True)", Spread((3, 4)))
add("np.median({0}, axis=(0, 2))", Spread((2, 3, 3)))
add("np.quantile({0}, {1})", Spread((6,)), R((), 0.05, 0.95), second=True)
add("np.quantile({0}, 0.3, axis=0)", Spread((4, 3)))
add("np.quantile({0}, {1}, axis=-1, keepdims=True)", Spread((2, 5)), R((), 0.1, 0.9))
add("np.percentile({0}, {1}, axis=1)", Spread((2, 6)), R((), 10.0, 90.0), second=True)
add("np.percentile({0}, 75)", Spread((3, 3)))
_NANS = np.array([[True, False, True, True], [False, True, True, False], [True] * 4])
add("np.nanmedian(np.where({1}, {0}, np.nan))", Spread((3, 4)), K(_NANS), second=True)
add("np.nanmedian(np.where({1}, {0}, np.nan), axis=1)", Spread((3, 4)), K(_NANS))
add("np.nanmedian(np.where({1}, {0}, np.nan), axis=0, keepdims=True)", Spread((3, 4)),
    K(_NANS))
add("np.nanquantile(np.where({2}, {0}, np.nan), {1}, axis=1)", Spread((3, 4)),
    R((), 0.1, 0.9), K(_NANS), second=True)
add("np.nanpercentile(np.where({2}, {0}, np.nan), {1})", Spread((3, 4)), R((), 10.0, 90.0),
    K(_NANS))

add("np.cov({0})", F(3, 5), second=True)
add("np.cov({0}, rowvar=False, bias=True)", F(6, 2))
add("np.cov({0}, ddof=2)", F(5))
add("np.cov({0}.T, rowvar=False) @ {0}", F(2, 4))
add("np.corrcoef({0})", F(3, 5), second=True)
add("np.corrcoef({0}, rowvar=False) ** 2", F(6, 2))


# -- matrix equations and functions -----------------------------------------------------
@dataclass
class Well:
    """2 I + 0.3 N: well conditioned, eigenvalues near 2 (real square roots and logs)."""

    n: int
    const = False

    def draw(self, rng):
        return 2.0 * np.eye(self.n) + 0.3 * rng.normal(size=(self.n, self.n))


add("scipy.linalg.solve_sylvester({0}, {1}, {2})", Well(3), Well(2), F(3, 2), second=True)
add("scipy.linalg.solve_sylvester({0}, {0}.T, {1})", Well(3), F(3, 3))
add("scipy.linalg.solve_continuous_lyapunov({0}, {1})", Well(3), F(3, 3), second=True)
add("scipy.linalg.sqrtm({0})", Well(3), second=True)
add("x = scipy.linalg.sqrtm({0} @ {0}.T)\nx @ x", Well(3))
add("scipy.linalg.logm({0})", Well(3), second=True)
add("np.trace(scipy.linalg.logm({0}))", Well(2))


# --------------------------------------------------------------------------- the module


def _write_module(table):
    return write_case_module("gap_cases", ["import numpy as np", "import scipy.linalg",
                                           "import scipy.signal", "import scipy.special"],
                             [(call, args) for call, args, _ in table], seed=2026)


MODULE, SAMPLES = _write_module(TABLE)


def _id(entry):
    call, args, _ = entry
    return call.format(*"abcdefgh"[:len(args)]).replace("\n", ";").replace(" ", "")


PARAMS = [pytest.param(n, id=_id(entry)) for n, entry in enumerate(TABLE)]


@pytest.mark.parametrize("n", PARAMS)
def test_reverse_matches_finite_differences(n):
    f, args = getattr(MODULE, f"case_{n}"), SAMPLES[n]
    wrt = tuple(range(len(args)))
    grads = tangent_src.grad(f, wrt=wrt)(*args)
    expected = numerical_grad(f, args, wrt)
    for k, (g, e, x) in enumerate(zip(grads, expected, args)):
        assert np.shape(g) == np.shape(x), f"d/dx{k}: shape {np.shape(g)} != {np.shape(x)}"
        np.testing.assert_allclose(g, e, rtol=RTOL, atol=ATOL, err_msg=f"d/dx{k}")


@pytest.mark.parametrize("n", PARAMS)
def test_forward_matches_finite_differences(n):
    f, args = getattr(MODULE, f"case_{n}"), SAMPLES[n]
    rng = np.random.default_rng(n)
    tangents = tuple(float(rng.normal()) if np.ndim(x) == 0 else rng.normal(size=np.shape(x))
                     for x in args)
    eps = 1e-6
    plus = f(*(x + eps * t for x, t in zip(args, tangents)))
    minus = f(*(x - eps * t for x, t in zip(args, tangents)))
    value, derivative = tangent_src.jvp(f, args, tangents)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)
    np.testing.assert_allclose(derivative, (plus - minus) / (2 * eps), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("n", [p for p, entry in zip(PARAMS, TABLE) if entry[2]])
def test_second_order(n):
    tangent_src.check_grads(getattr(MODULE, f"case_{n}"), SAMPLES[n], order=2)


def test_every_new_callable_has_an_entry():
    from tangent_src import runtime as rt
    from tangent_src.rules import REGISTRY, matrix_equations, signals, special_families
    calls = " ".join(call for call, _, _ in TABLE)
    keys = [k for k in signals.CALLABLES + matrix_equations.CALLABLES +
            special_families.CALLABLES if getattr(k, "__name__", "") not in rt.HELPERS]
    for key in keys:
        assert key in REGISTRY.adjoints and key in REGISTRY.tangents, key
        assert f"{key.__name__}(" in calls, f"no entry exercises {key.__name__}"


# --------------------------------------------------------------------------- refusals


def incomplete_gamma_in_shape(a, x):
    return np.sum(sp.gammainc(a, x))


def bessel_in_order(v, x):
    return np.sum(sp.jv(v, x) * x)


def test_derivatives_without_a_closed_form_are_refused_not_zero():
    x = np.array([0.5, 1.5])
    # gammainc's first derivative in a is an integral now (tests/test_rules_more.py); its
    # second derivative in a is refused
    with pytest.raises(NotImplementedError, match="second derivative of the incomplete"):
        tangent_src.hessian(incomplete_gamma_in_shape, wrt=0)(2.0, x)
    with pytest.raises(NotImplementedError, match="order v"):
        tangent_src.grad(bessel_in_order, wrt=0)(1.5, x)
    with pytest.raises(NotImplementedError, match="order v"):
        tangent_src.jvp(bessel_in_order, (1.5, x), (1.0, np.zeros(2)))
    # with respect to x alone, the same functions differentiate
    g = tangent_src.grad(incomplete_gamma_in_shape, wrt=1)(2.0, x)
    np.testing.assert_allclose(g, numerical_grad(incomplete_gamma_in_shape, (2.0, x), 1),
                               rtol=RTOL)


def trapezoid_in_the_grid(y, x):
    return np.trapezoid(y, x)


def test_trapezoid_refuses_moving_sample_points():
    y, x = np.array([1.0, 2.0, 0.5]), np.array([0.0, 0.4, 1.0])
    with pytest.raises(NotImplementedError, match="sample points"):
        tangent_src.grad(trapezoid_in_the_grid, wrt=1)(y, x)
    with pytest.raises(NotImplementedError, match="sample points"):
        tangent_src.jvp(trapezoid_in_the_grid, (y, x), (y, x))


def quantiles(a):
    return np.sum(np.quantile(a, [0.25, 0.75]))


def test_quantiles_of_an_array_of_q_are_refused():
    with pytest.raises(NotImplementedError, match="scalar q"):
        tangent_src.grad(quantiles)(np.array([0.3, 1.2, -0.4, 2.0]))


def covariance_with_a_second_array(a, b):
    return np.sum(np.cov(a, b))


def test_covariance_with_a_second_array_is_refused():
    a, b = np.array([0.3, 1.2, -0.4]), np.array([1.0, 0.5, 2.0])
    with pytest.raises(NotImplementedError, match="no y"):
        tangent_src.grad(covariance_with_a_second_array)(a, b)


def uses_a_function_without_rules(x):
    return np.sum(sp.struve(1.0, x))


def test_a_function_without_a_rule_is_named_in_the_error():
    with pytest.raises(NoDerivativeRuleError, match="struve"):
        tangent_src.grad(uses_a_function_without_rules)(np.array([0.5, 1.0]))
