"""Every rule of the elementwise, operator and reduction families, checked one way.

CASES is a table. Each entry is a call (text with {0}, {1}, ... standing for the
arguments), the registered callable it exercises, and how to draw each argument: a shape
and an interval chosen away from kinks and singular points, or a constant. At import,
every entry becomes a module-level function `case_<n>(x0, x1, ...)` returning
`np.sum(W_<n> * <call>)` with a fixed random weighting W_<n>, written to a real module
file (tangent_src differentiates source). Each case is checked in float64 against central
finite differences:

- reverse mode: `tangent_src.grad` with respect to every argument, every element;
- forward mode: `tangent_src.jvp` along a random direction;
- second order: `tangent_src.check_grads(order=2)`, i.e. forward and reverse mode over the
  generated forward and reverse derivatives (every case but a few duplicates of a shape).

Conventions at kinks (abs at 0, ties of max, clip's ends, sqrt at 0, sinc at 0, products
with zeros, NaN entries of the nan-reductions) have their own tests below, as do the size
of the registry and the freshness of docs/coverage.md.
"""
from __future__ import annotations

import importlib.util
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import gast
import numpy as np
import pytest
from fdcheck import import_generated, numerical_grad

import tangent_src
from tangent_src.rules import REGISTRY, elementwise, operators, reductions

ROOT = Path(__file__).resolve().parent.parent
RTOL, ATOL = 1e-5, 1e-6


@dataclass(frozen=True)
class Arg:
    """How to draw one argument: uniform in [lo, hi] (times a random sign if `signed`),
    with `nans` entries set to NaN; or the constant `const` (not differentiated)."""

    shape: tuple = ()
    lo: float = -1.0
    hi: float = 1.0
    signed: bool = False
    nans: int = 0
    const: object = None

    def draw(self, rng):
        if self.const is not None:
            return self.const
        value = rng.uniform(self.lo, self.hi, size=self.shape)
        if self.signed:
            value = value * rng.choice([-1.0, 1.0], size=self.shape)
        if self.nans:
            flat = value.reshape(-1)
            flat[[(7 * i + 1) % flat.size for i in range(self.nans)]] = np.nan
        return float(value) if self.shape == () else value


@dataclass
class Case:
    key: object          # the registered callable (or operator class) exercised
    call: str            # "np.exp({0})"
    args: tuple          # one Arg per placeholder
    second: bool = True  # also check second derivatives
    name: str = ""

    @property
    def id(self) -> str:
        dims = ",".join("x".join(map(str, a.shape)) or "s" for a in self.args if a.const is None)
        return f"{self.call.format(*'abcdefg'[:len(self.args)])}[{dims}]".replace(" ", "")


def R(shape=(), lo=-1.0, hi=1.0, signed=False, nans=0):
    return Arg(tuple(shape), lo, hi, signed, nans)


def C(value):
    return Arg(np.shape(value), const=value)


CASES: list[Case] = []


def add(key, call, *args, second=True):
    CASES.append(Case(key, call, tuple(args), second))


# --------------------------------------------------------------------------- elementwise

SHAPES = [(), (3,), (2, 3), (2, 1, 3)]
POSITIVE, SIGNED = dict(lo=0.5, hi=2.0), dict(lo=0.5, hi=2.0, signed=True)
UNIT = dict(lo=-0.8, hi=0.8)
UNARY = [   # (callable, text, domain)
    (np.exp, "np.exp", {}), (np.exp2, "np.exp2", {}), (np.expm1, "np.expm1", {}),
    (np.log, "np.log", POSITIVE), (np.log2, "np.log2", POSITIVE),
    (np.log10, "np.log10", POSITIVE), (np.log1p, "np.log1p", dict(lo=-0.5, hi=1.0)),
    (np.sqrt, "np.sqrt", POSITIVE), (np.cbrt, "np.cbrt", SIGNED),
    (np.square, "np.square", {}), (np.reciprocal, "np.reciprocal", SIGNED),
    (np.negative, "np.negative", {}), (np.positive, "np.positive", {}),
    (np.abs, "np.abs", dict(lo=0.2, hi=1.0, signed=True)),
    (np.absolute, "np.absolute", dict(lo=0.2, hi=1.0, signed=True)),
    (np.fabs, "np.fabs", dict(lo=0.2, hi=1.0, signed=True)),
    (np.sin, "np.sin", dict(lo=-2.0, hi=2.0)), (np.cos, "np.cos", dict(lo=-2.0, hi=2.0)),
    (np.tan, "np.tan", {}), (np.arcsin, "np.arcsin", UNIT), (np.arccos, "np.arccos", UNIT),
    (np.arctan, "np.arctan", dict(lo=-2.0, hi=2.0)), (np.sinh, "np.sinh", {}),
    (np.cosh, "np.cosh", {}), (np.tanh, "np.tanh", {}),
    (np.arcsinh, "np.arcsinh", dict(lo=-2.0, hi=2.0)),
    (np.arccosh, "np.arccosh", dict(lo=1.2, hi=3.0)), (np.arctanh, "np.arctanh", UNIT),
    (np.deg2rad, "np.deg2rad", {}), (np.radians, "np.radians", {}),
    (np.rad2deg, "np.rad2deg", {}), (np.degrees, "np.degrees", {}),
    (np.sinc, "np.sinc", dict(lo=-1.5, hi=1.5)), (np.conjugate, "np.conjugate", {}),
]
for key, text, domain in UNARY:
    for shape in SHAPES:
        add(key, f"{text}({{0}})", R(shape, **domain), second=shape in ((), (2, 3)))

MATH = [
    (math.exp, {}), (math.exp2, {}), (math.expm1, {}), (math.log, POSITIVE),
    (math.log2, POSITIVE), (math.log10, POSITIVE), (math.log1p, dict(lo=-0.5, hi=1.0)),
    (math.sqrt, POSITIVE), (math.cbrt, SIGNED), (math.fabs, dict(lo=0.2, hi=1.0, signed=True)),
    (math.sin, {}), (math.cos, {}), (math.tan, {}), (math.asin, UNIT), (math.acos, UNIT),
    (math.atan, {}), (math.sinh, {}), (math.cosh, {}), (math.tanh, {}),
    (math.asinh, {}), (math.acosh, dict(lo=1.2, hi=3.0)), (math.atanh, UNIT),
    (math.degrees, {}), (math.radians, {}), (math.erf, {}), (math.erfc, {}),
]
for key, domain in MATH:
    add(key, f"math.{key.__name__}({{0}})", R((), **domain))
add(abs, "abs({0})", R((), lo=0.2, hi=1.0, signed=True))
add(abs, "abs({0})", R((2, 3), lo=0.2, hi=1.0, signed=True))
add(float, "float({0})", R(()))

# np.clip: bounds None, scalars or arrays (broadcast), constant or differentiated.
add(np.clip, "np.clip({0}, -0.5, 0.5)", R(()))
add(np.clip, "np.clip({0}, -0.5, 0.5)", R((2, 3)))
add(np.clip, "np.clip({0}, {1}, {2})", R((2, 3)), R((3,), -0.8, -0.2), R((2, 1), 0.2, 0.8))
add(np.clip, "np.clip({0}, {1}, {2})", R((2, 3), -2.0, 2.0), R((), -0.8, -0.2), R((), 0.2, 0.8))
add(np.clip, "np.clip({0}, None, {1})", R((2, 3)), R((), -0.3, 0.3))
add(np.clip, "np.clip({0}, {1}, None)", R((3,)), R((3,), -0.5, 0.5))
add(np.clip, "np.clip({0}, min={1})", R((2, 3)), R((3,), -0.5, 0.5))
add(np.clip, "np.clip({0}, max={1})", R((2, 3)), R((), -0.5, 0.5))

# np.where: the condition is a constant.
_COND = np.array([[True, False, True], [False, False, True]])
add(np.where, "np.where({0}, {1}, {2})", C(_COND), R((2, 3)), R((3,)))
add(np.where, "np.where({0}, {1}, {2})", C(_COND), R(()), R((2, 1)))

# --------------------------------------------------------------------------- two arguments

PAIRS = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 3)),
         ((2, 1, 3), (2, 1))]
SECOND_PAIRS = (((), ()), ((2, 3), (3,)))
ANY = {}
MOD = (dict(lo=-3.0, hi=3.0), dict(lo=0.7, hi=1.3, signed=True))
BINARY = [   # (callable, text with {0} {1}, domain of a, domain of b)
    (np.add, "np.add({0}, {1})", ANY, ANY), (gast.Add, "{0} + {1}", ANY, ANY),
    (np.subtract, "np.subtract({0}, {1})", ANY, ANY), (gast.Sub, "{0} - {1}", ANY, ANY),
    (np.multiply, "np.multiply({0}, {1})", ANY, ANY), (gast.Mult, "{0} * {1}", ANY, ANY),
    (np.divide, "np.divide({0}, {1})", ANY, SIGNED),
    (np.true_divide, "np.true_divide({0}, {1})", ANY, SIGNED),
    (gast.Div, "{0} / {1}", ANY, SIGNED),
    (np.power, "np.power({0}, {1})", POSITIVE, dict(lo=-2.0, hi=2.0)),
    (np.float_power, "np.float_power({0}, {1})", POSITIVE, dict(lo=-2.0, hi=2.0)),
    (gast.Pow, "{0} ** {1}", POSITIVE, dict(lo=-2.0, hi=2.0)),
    (np.maximum, "np.maximum({0}, {1})", ANY, ANY), (np.minimum, "np.minimum({0}, {1})", ANY, ANY),
    (np.fmax, "np.fmax({0}, {1})", ANY, ANY), (np.fmin, "np.fmin({0}, {1})", ANY, ANY),
    (np.arctan2, "np.arctan2({0}, {1})", ANY, dict(lo=0.3, hi=1.0, signed=True)),
    (np.hypot, "np.hypot({0}, {1})", ANY, dict(lo=0.3, hi=1.0, signed=True)),
    (np.logaddexp, "np.logaddexp({0}, {1})", dict(lo=-2.0, hi=2.0), dict(lo=-2.0, hi=2.0)),
    (np.logaddexp2, "np.logaddexp2({0}, {1})", dict(lo=-2.0, hi=2.0), dict(lo=-2.0, hi=2.0)),
    (np.mod, "np.mod({0}, {1})", *MOD), (np.remainder, "np.remainder({0}, {1})", *MOD),
    (gast.Mod, "{0} % {1}", *MOD), (np.fmod, "np.fmod({0}, {1})", *MOD),
]
for key, text, da, db in BINARY:
    for sa, sb in PAIRS:
        add(key, text, R(sa, **da), R(sb, **db), second=(sa, sb) in SECOND_PAIRS)
for key, text, da, db in [
        (max, "max({0}, {1})", ANY, ANY), (min, "min({0}, {1})", ANY, ANY),
        (pow, "pow({0}, {1})", POSITIVE, ANY), (math.pow, "math.pow({0}, {1})", POSITIVE, ANY),
        (math.atan2, "math.atan2({0}, {1})", ANY, dict(lo=0.3, hi=1.0, signed=True)),
        (math.hypot, "math.hypot({0}, {1})", ANY, dict(lo=0.3, hi=1.0, signed=True)),
        (math.fmod, "math.fmod({0}, {1})", *MOD)]:
    add(key, text, R((), **da), R((), **db))
for shape in SHAPES:  # constant exponents, negative bases
    second = shape == (2, 3)
    add(gast.Pow, "{0} ** 3", R(shape), second=second)
    add(np.power, "np.power({0}, 2)", R(shape), second=second)
    add(gast.USub, "-{0}", R(shape), second=second)
    add(gast.UAdd, "+{0}", R(shape), second=second)

# --------------------------------------------------------------------------- reductions

# (shape, keywords): every form of axis (None, int, negative, positional, tuple) and keepdims
AXES = [((), ""), ((4,), ""), ((3, 4), ""), ((3, 4), ", axis=0"), ((3, 4), ", axis=-1"),
        ((3, 4), ", 1"), ((3, 4), ", axis=1, keepdims=True"), ((3, 4), ", keepdims=True"),
        ((2, 3, 4), ", axis=(0, 2)"), ((2, 3, 4), ", axis=(-1, 0), keepdims=True"),
        ((2, 3, 4), ", axis=1")]
SECOND_AXES = (((4,), ""), ((3, 4), ", axis=1, keepdims=True"), ((2, 3, 4), ", axis=(0, 2)"))
REDUCE = [  # (callable, domain, shapes with a NaN in them)
    (np.sum, ANY, 0), (np.mean, ANY, 0), (np.prod, dict(lo=0.5, hi=1.5, signed=True), 0),
    (np.max, ANY, 0), (np.min, ANY, 0), (np.amax, ANY, 0), (np.amin, ANY, 0),
    (np.ptp, ANY, 0), (np.var, ANY, 0), (np.std, ANY, 0), (np.average, ANY, 0),
    (np.nansum, ANY, 2), (np.nanmean, ANY, 2), (np.nanmax, ANY, 2), (np.nanmin, ANY, 2),
    (np.nanprod, dict(lo=0.5, hi=1.5, signed=True), 2), (np.nanvar, ANY, 2),
    (np.nanstd, ANY, 2),
]
for key, domain, nans in REDUCE:
    for shape, keywords in AXES:
        if key in (np.std, np.nanstd) and shape == ():
            continue   # the spread of one number is 0, where std is not differentiable
        arg = R(shape, nans=nans if len(shape) > 1 else 0, **domain)
        second = (shape, keywords) in SECOND_AXES
        add(key, f"np.{key.__name__}({{0}}{keywords})", arg, second=second)
for key in (np.var, np.std, np.nanvar, np.nanstd):
    nans = 2 if key.__name__.startswith("nan") else 0
    add(key, f"np.{key.__name__}({{0}}, axis=0, ddof=1)", R((3, 4), nans=nans))
    add(key, f"np.{key.__name__}({{0}}, axis=(0, 2), ddof=1, keepdims=True)",
        R((2, 3, 4), nans=nans))
    add(key, f"np.{key.__name__}({{0}}, ddof=1)", R((4,)))
W_POSITIVE = dict(lo=0.5, hi=1.5)
add(np.average, "np.average({0}, weights={1})", R((3, 4)), R((3, 4), **W_POSITIVE))
add(np.average, "np.average({0}, axis=1, weights={1})", R((3, 4)), R((4,), **W_POSITIVE))
add(np.average, "np.average({0}, 0, {1})", R((3, 4)), R((3,), **W_POSITIVE))
add(np.average, "np.average({0}, axis=(0, 2), weights={1}, keepdims=True)", R((2, 3, 4)),
    R((2, 4), **W_POSITIVE))
add(np.average, "np.average({0}, axis=-1, weights={1})", R((2, 3)), C(np.array([1.0, 2.0, 3.0])))

CUMULATIVE_AXES = [((), ""), ((5,), ""), ((3, 4), ""), ((3, 4), ", axis=0"),
                   ((3, 4), ", axis=-1"), ((3, 4), ", 1"), ((2, 3, 4), ", axis=1")]
for key, domain, nans in [(np.cumsum, ANY, 0), (np.cumprod, dict(lo=0.5, hi=1.5, signed=True), 0),
                          (np.nancumsum, ANY, 2),
                          (np.nancumprod, dict(lo=0.5, hi=1.5, signed=True), 2)]:
    for shape, keywords in CUMULATIVE_AXES:
        arg = R(shape, nans=nans if len(shape) > 1 else 0, **domain)
        second = shape == (5,) or keywords == ", axis=0"
        add(key, f"np.{key.__name__}({{0}}{keywords})", arg, second=second)
for key, domain in [(np.cumulative_sum, ANY),
                    (np.cumulative_prod, dict(lo=0.5, hi=1.5, signed=True))]:
    add(key, f"np.{key.__name__}({{0}})", R((5,), **domain))
    add(key, f"np.{key.__name__}({{0}}, axis=0)", R((3, 4), **domain))
    add(key, f"np.{key.__name__}({{0}}, axis=-1)", R((2, 3, 4), **domain), second=False)


# --------------------------------------------------------------------------- the module


def _write_module(cases: list[Case]):
    """Write one function per case to a real module file and import it."""
    lines = ['"""Generated by tests/test_rules.py: one function per rule case."""',
             "import math", "", "import numpy as np", ""]
    for n, case in enumerate(cases):
        params, atoms = [], []
        for k, arg in enumerate(case.args):
            if arg.const is None:
                params.append(f"x{k}")
                atoms.append(f"x{k}")
            else:
                atoms.append(f"C{n}_{k}")
                lines.append(f"C{n}_{k} = None")
        call = case.call.format(*atoms)
        case.name = f"case_{n}"
        lines += [f"W{n} = None", "", "", f"def raw_{n}({', '.join(params)}):",
                  f"    return {call}", "", "",
                  f"def case_{n}({', '.join(params)}):",
                  f"    return np.sum(W{n} * {call})", "", ""]
    module = import_generated("rule_cases", lines)
    rng = np.random.default_rng(20240611)
    samples = []
    for n, case in enumerate(cases):
        values = [arg.draw(rng) for arg in case.args]
        for k, (arg, value) in enumerate(zip(case.args, values)):
            if arg.const is not None:
                setattr(module, f"C{n}_{k}", value)
        args = tuple(v for a, v in zip(case.args, values) if a.const is None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are not drawn
            out = getattr(module, f"raw_{n}")(*args)
        weight = rng.normal(size=np.shape(out))
        setattr(module, f"W{n}", float(weight) if np.ndim(out) == 0 else weight)
        samples.append(args)
    return module, samples


MODULE, SAMPLES = _write_module(CASES)
PARAMS = [pytest.param(n, id=case.id) for n, case in enumerate(CASES)]


def _function(n):
    return getattr(MODULE, CASES[n].name), SAMPLES[n]


@pytest.mark.parametrize("n", PARAMS)
def test_reverse(n):
    f, args = _function(n)
    wrt = tuple(range(len(args)))
    grads = tangent_src.grad(f, wrt=wrt)(*args)
    expected = numerical_grad(f, args, wrt)
    for k, (g, e, x) in enumerate(zip(grads, expected, args)):
        assert np.shape(g) == np.shape(x), f"d/dx{k}: shape {np.shape(g)} != {np.shape(x)}"
        np.testing.assert_allclose(g, e, rtol=RTOL, atol=ATOL, err_msg=f"d/dx{k}")


@pytest.mark.parametrize("n", PARAMS)
def test_forward(n):
    f, args = _function(n)
    rng = np.random.default_rng(n)
    tangents = tuple(float(rng.normal()) if np.ndim(x) == 0 else rng.normal(size=np.shape(x))
                     for x in args)
    eps = 1e-6
    plus = f(*(x + eps * t for x, t in zip(args, tangents)))
    minus = f(*(x - eps * t for x, t in zip(args, tangents)))
    value, derivative = tangent_src.jvp(f, args, tangents)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)
    np.testing.assert_allclose(derivative, (plus - minus) / (2 * eps), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("n", [p for p, case in zip(PARAMS, CASES) if case.second])
def test_second_order(n):
    f, args = _function(n)
    tangent_src.check_grads(f, args, order=2)


def test_every_rule_of_these_families_is_in_the_table():
    families = (set(elementwise.UNARY) | set(operators.BINARY) | set(operators.POWERS) |
                set(reductions.REDUCTIONS) | {np.clip, np.where, gast.USub, gast.UAdd})
    families |= {np.cumsum, np.cumprod, np.nancumsum, np.nancumprod, np.cumulative_sum,
                 np.cumulative_prod}
    missing = families - {case.key for case in CASES}
    assert not missing, f"no case exercises {sorted(map(str, missing))}"
    first_only = families - {case.key for case in CASES if case.second}
    assert not first_only, f"no second-order case for {sorted(map(str, first_only))}"
    for key in families:
        assert key in REGISTRY.adjoints and key in REGISTRY.tangents, key


# --------------------------------------------------------------------------- conventions


def sqrt_sum(x):
    return np.sum(np.sqrt(x))


def abs_sum(x):
    return np.sum(np.abs(x))


def maximum_sum(a, b):
    return np.sum(np.maximum(a, b))


def max_of(x):
    return np.max(x)


def clip_sum(x, lo, hi):
    return np.sum(np.clip(x, lo, hi))


def sinc_of(x):
    return np.sinc(x)


def prod_of(x):
    return np.prod(x)


def prod_rows(x):
    return np.sum(np.prod(x, axis=1))


def cumprod_sum(x):
    return np.sum(np.cumprod(x))


def mod_sum(a, b):
    return np.sum(np.mod(a, b))


def fmod_sum(a, b):
    return np.sum(np.fmod(a, b))


def nanmean_of(x):
    return np.nanmean(x)


def nanmax_of(x):
    return np.nanmax(x)


def test_sqrt_at_zero_is_infinite():
    with np.errstate(divide="ignore"):
        g = tangent_src.grad(sqrt_sum)(np.array([0.0, 4.0]))
    assert g[0] == np.inf and g[1] == 0.25


def test_abs_at_zero_is_zero():
    np.testing.assert_array_equal(tangent_src.grad(abs_sum)(np.array([-2.0, 0.0, 3.0])),
                                  [-1.0, 0.0, 1.0])
    _, t = tangent_src.jvp(abs_sum, (np.array([0.0, -1.0]),), (np.array([5.0, 1.0]),))
    assert t == -1.0


def test_ties_split_evenly():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 5.0])
    da, db = tangent_src.grad(maximum_sum, wrt=(0, 1))(a, b)
    np.testing.assert_array_equal(da, [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(db, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(tangent_src.grad(max_of)(np.array([3.0, 1.0, 3.0, 3.0])),
                                  [1 / 3, 0.0, 1 / 3, 1 / 3])


def test_clip_ends_go_to_the_argument():
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    dx, dlo, dhi = tangent_src.grad(clip_sum, wrt=(0, 1, 2))(x, -0.5, 0.5)
    np.testing.assert_array_equal(dx, [0.0, 1.0, 1.0, 1.0, 0.0])
    assert (dlo, dhi) == (1.0, 1.0)


def test_sinc_at_zero_to_second_order():
    assert tangent_src.grad(sinc_of)(0.0) == 0.0
    np.testing.assert_allclose(tangent_src.grad(tangent_src.grad(sinc_of))(0.0),
                               -np.pi ** 2 / 3, rtol=1e-12)
    np.testing.assert_allclose(tangent_src.hessian(sinc_of)(1e-9), -np.pi ** 2 / 3, rtol=1e-9)


def test_products_with_zeros_are_exact():
    x = np.array([0.0, 2.0, 3.0, 0.5])
    np.testing.assert_array_equal(tangent_src.grad(prod_of)(x), [3.0, 0.0, 0.0, 0.0])
    y = np.array([0.0, 0.0, 3.0])
    np.testing.assert_array_equal(tangent_src.grad(prod_of)(y), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(tangent_src.hessian(prod_of)(y),
                               [[0.0, 3.0, 0.0], [3.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    m = np.array([[0.0, 2.0, 5.0], [1.0, 2.0, 3.0]])
    np.testing.assert_allclose(tangent_src.grad(prod_rows)(m), [[10.0, 0.0, 0.0],
                                                                [6.0, 3.0, 2.0]])
    # cumprod([0, 2, 3]) = [0, 0, 0]: d/dx0 = 1 + 2 + 6, the rest 0
    np.testing.assert_allclose(tangent_src.grad(cumprod_sum)(np.array([0.0, 2.0, 3.0])),
                               [9.0, 0.0, 0.0])
    tangent_src.check_grads(cumprod_sum, (np.array([0.0, 2.0, 3.0]),), order=2)


def test_mod_gradients():
    a, b = np.array([5.5, -5.5]), np.array([2.0, 2.0])
    da, db = tangent_src.grad(mod_sum, wrt=(0, 1))(a, b)
    np.testing.assert_array_equal(da, [1.0, 1.0])
    np.testing.assert_array_equal(db, [-2.0, 3.0])      # -floor(a / b)
    da, db = tangent_src.grad(fmod_sum, wrt=(0, 1))(a, b)
    np.testing.assert_array_equal(db, [-2.0, 2.0])      # -trunc(a / b)


def test_nan_entries_get_zero_gradient():
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, 2.0]])
    np.testing.assert_allclose(tangent_src.grad(nanmean_of)(x),
                               [[1 / 3, 0.0, 1 / 3], [0.0, 0.0, 1 / 3]])
    np.testing.assert_array_equal(tangent_src.grad(nanmax_of)(x),
                                  [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    _, t = tangent_src.jvp(nanmean_of, (x,), (np.ones_like(x),))
    assert t == 1.0


# --------------------------------------------------------------------------- registry, docs


@pytest.fixture(scope="module")
def coverage_script():
    spec = importlib.util.spec_from_file_location("coverage_script",
                                                  ROOT / "scripts" / "coverage.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_registry_has_150_callables_with_both_modes(coverage_script):
    """Issue #5's acceptance test: fails until the linear algebra, shape and SciPy families
    land too. Operator classes, sentinels and tangent_src's runtime helpers do not count."""
    both = coverage_script.counted(set(REGISTRY.adjoints) & set(REGISTRY.tangents))
    assert len(both) >= 150, f"only {len(both)} callables have both reverse and forward rules"


def test_coverage_doc_is_fresh(coverage_script):
    text = (ROOT / "docs" / "coverage.md").read_text()
    assert text == coverage_script.render(), \
        "docs/coverage.md is stale: run python scripts/coverage.py"

