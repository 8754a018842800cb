# ruff: noqa: E501  (a table of call forms, one per line)
"""Generated call forms for tests/test_rules_systematic.py, in the spirit of other autodiff
libraries' test suites (autograd's test_numpy/test_systematic/test_scipy/test_linalg, JAX's
lax_numpy autodiff tests): every registered function called the way user code calls it
(methods, operators with reflected operands, positional and keyword arguments, every
`axis`, broadcasting pairs), plus functions tangent_src has no rule for, which must be
refused, never differentiated to a wrong value.

Each case is an expression in which {0}, {1}, ... stand for the arguments, optionally
preceded by statements (lines separated by newlines). It becomes a module-level function
`case_<n>(x0, x1, ...)` returning `np.sum(W<n> * (expression))` with a fixed random
weighting, written to a real file (tangent_src differentiates source). `run_case` checks
it against central finite differences in float64, computed here without tangent_src:

- reverse mode: `tangent_src.grad` with respect to every float argument, every element;
- forward mode: `tangent_src.jvp` along a random direction;
- second order (cases marked `second`): the Hessian along a random direction, both by
  forward over reverse (`tangent_src.hvp`) and compared with central differences of the
  finite-difference-checked gradient.

and reports one outcome: "ok", "refused" (a TangentError, acceptable), "WRONG" (a value that
disagrees with finite differences) or "CRASH" (any other exception).
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field

import numpy as np
from fdcheck import import_generated

RTOL, ATOL = 1e-5, 1e-6
EPS = 1e-6


# --------------------------------------------------------------------------- arguments


@dataclass(frozen=True)
class Arg:
    """How to draw one argument. kind: 'u' uniform in [lo, hi] (random sign if signed),
    'spread' values >= 0.2 apart (no ties), 'well' 2 I + 0.3 N, 'spd', 'sym' (distinct
    eigenvalues), 'rank' (m x n full rank, distinct singular values), 'const'."""

    shape: tuple = ()
    kind: str = "u"
    lo: float = -1.0
    hi: float = 1.0
    signed: bool = False
    value: object = None

    @property
    def const(self) -> bool:
        return self.kind == "const"

    @property
    def label(self) -> str:
        dims = "x".join(map(str, self.shape)) or "s"
        return dims if self.kind == "u" else f"{self.kind}{dims}"

    def draw(self, rng):
        if self.const:
            return self.value
        shape = self.shape
        if self.kind == "u":
            value = rng.uniform(self.lo, self.hi, size=shape)
            if self.signed:
                value = value * rng.choice([-1.0, 1.0], size=shape)
            return float(value) if shape == () else value
        if self.kind == "spread":
            n = int(np.prod(shape))
            values = (np.arange(n) - n / 2) * 0.2 + rng.uniform(0, 0.05, size=n)
            return rng.permutation(values).reshape(shape)
        if self.kind == "rank":
            m, n = shape
            k = min(m, n)
            u, _ = np.linalg.qr(rng.normal(size=(m, k)))
            v, _ = np.linalg.qr(rng.normal(size=(n, k)))
            return (u * np.linspace(2.0, 1.0, k)) @ v.T
        n = shape[-1]
        noise = rng.normal(size=shape)
        if self.kind == "well":
            return 2.0 * np.eye(n) + 0.3 * noise
        if self.kind == "spd":
            return noise @ np.swapaxes(noise, -1, -2) + n * np.eye(n)
        if self.kind == "sym":
            q, _ = np.linalg.qr(noise)
            return (q * np.arange(1.0, n + 1.0)) @ np.swapaxes(q, -1, -2)
        raise ValueError(self.kind)


def R(*shape, lo=-1.0, hi=1.0, signed=False) -> Arg:
    return Arg(tuple(shape), "u", lo, hi, signed)


def P(*shape, lo=0.5, hi=2.0) -> Arg:
    """Positive values (logs, roots, powers)."""
    return Arg(tuple(shape), "u", lo, hi)


def S(*shape) -> Arg:
    """Values bounded away from zero, either sign (divisors, abs, sign-sensitive)."""
    return Arg(tuple(shape), "u", 0.5, 2.0, True)


def SP(*shape) -> Arg:
    """Distinct values, no ties (sort, max, norms with inf)."""
    return Arg(tuple(shape), "spread")


def M(n, kind="well", batch=()) -> Arg:
    return Arg(tuple(batch) + (n, n), kind)


def RK(m, n) -> Arg:
    return Arg((m, n), "rank")


def K(value) -> Arg:
    """A constant, inlined as a module global (indices, masks): not differentiated."""
    return Arg(np.shape(value), "const", value=value)


def decay_dynamics(y, t, rates):
    """The dynamics of the scipy.integrate.odeint case (a function with source, which the
    rule differentiates with tangent_src)."""
    return -rates * y + np.sin(t)


@dataclass
class Case:
    call: str
    args: tuple
    second: bool = False
    group: str = ""
    rtol: float = RTOL
    name: str = field(default="", compare=False)

    @property
    def id(self) -> str:
        text = self.call.format(*"abcdefgh"[:len(self.args)]).replace("\n", ";")
        dims = ",".join(a.label for a in self.args if not a.const)
        return f"{text}[{dims}]".replace(" ", "")


CASES: list[Case] = []
_GROUP = [""]


def add(call: str, *args: Arg, second: bool = False, rtol: float = RTOL) -> None:
    CASES.append(Case(call, tuple(args), second, _GROUP[0], rtol))


def group(name: str) -> None:
    _GROUP[0] = name


LONG = os.environ.get("TANGENT_SRC_LONG", "") not in ("", "0")


# --------------------------------------------------------------------------- operators

group("operators")
BROADCAST = [((), ()), ((3,), (3,)), ((3,), (2, 3)), ((2, 3), (3,)), ((1, 3), (2, 1)),
             ((), (2, 3)), ((2, 3), ()), ((2, 1, 3), (2, 3))]
for sa, sb in BROADCAST:
    full = (sa, sb) in (((3,), (2, 3)), ((1, 3), (2, 1)))
    add("{0} + {1}", R(*sa), R(*sb), second=full)
    add("{0} - {1}", R(*sa), R(*sb))
    add("{0} * {1}", R(*sa), R(*sb), second=full)
    add("{0} / {1}", R(*sa), S(*sb), second=full)
    add("{0} ** {1}", P(*sa), R(*sb), second=full)
    if LONG or full:
        add("np.maximum({0}, {1})", SP(*sa) if sa else R(), R(*sb, lo=-0.05, hi=0.05))
        add("np.minimum({0}, {1})", SP(*sa) if sa else R(), R(*sb, lo=-0.05, hi=0.05))
        add("np.arctan2({0}, {1})", R(*sa), S(*sb))
        add("np.hypot({0}, {1})", S(*sa), S(*sb))
        add("np.logaddexp({0}, {1})", R(*sa), R(*sb))
        add("{0} % {1}", R(*sa, lo=0.1, hi=0.9), P(*sb, lo=1.2, hi=1.8))
for shape in [(), (3,), (2, 3)]:
    second = shape == (2, 3)
    for text in ["2.0 - {0}", "2.0 / {0}", "2.0 ** {0}", "{0} ** 3", "{0} ** 2", "-{0}", "+{0}",
                 "abs({0})", "{0} ** 0.5", "{0} ** -1", "1 / {0}", "3 * {0}", "{0} * 3",
                 "{0} / 2", "{0} - 1", "1 + {0}", "{0} ** 2.5", "np.float64(2.0) * {0}",
                 "{0} * {0}", "{0} / {0} + {0}", "{0} @ {0}" if shape == (3,) else "{0}"]:
        if text.endswith(("** 2", "** 3")):        # integer powers: any sign
            arg = R(*shape)
        elif "{0} **" in text or "/ {0}" in text:   # other powers, division by x: x > 0
            arg = P(*shape)
        else:
            arg = S(*shape)
        add(text, arg, second=second and text in ("2.0 ** {0}", "{0} ** 3", "abs({0})",
                                                  "2.0 / {0}", "{0} / {0} + {0}"))
add("np.power({0}, 3)", R(2, 3), second=True)
add("np.power({0}, {1})", P(2, 3), R(3), second=True)
add("np.square({0}) + np.sqrt({1})", R(3), P(3))
add("{0} @ {1}", R(3), R(3), second=True)
add("{0} @ {1}", R(2, 3), R(3), second=True)
add("{0} @ {1}", R(3), R(3, 2))
add("{0} @ {1}", R(2, 3), R(3, 4), second=True)
add("{0} @ {1}", R(2, 2, 3), R(3, 4))
add("{0} @ {1}", R(2, 2, 3), R(2, 3, 4))
add("{0} @ {1}", R(1, 2, 3), R(2, 3, 2))
add("{0} @ {1}", R(2, 2, 3), R(3), second=True)
add("{0} @ {1}", R(3), R(2, 3, 2), second=True)
add("{0} @ {1} @ {2}", R(2, 3), R(3, 3), R(3))
add("np.matmul({0}, {1})", R(2, 3), R(3, 2))
add("np.matmul({0}, {1})", R(3), R(2, 3, 4), second=True)
add("{0}.T @ {0}", R(3, 2), second=True)
add("{0} @ {1}.T", R(2, 3), R(4, 3))

# --------------------------------------------------------------------------- elementwise

group("elementwise")
UNARY = [("np.exp", R), ("np.log", P), ("np.sqrt", P), ("np.sin", R), ("np.cos", R),
         ("np.tan", R), ("np.tanh", R), ("np.arctan", R), ("np.log1p", P), ("np.expm1", R),
         ("np.abs", S), ("np.absolute", S), ("np.square", R), ("np.reciprocal", S),
         ("np.sinh", R), ("np.cosh", R), ("np.arcsinh", R), ("np.exp2", R), ("np.log2", P),
         ("np.log10", P), ("np.cbrt", S), ("np.negative", R), ("np.sinc", R),
         ("np.fabs", S), ("np.arcsin", lambda *s: R(*s, lo=-0.8, hi=0.8)),
         ("np.arccos", lambda *s: R(*s, lo=-0.8, hi=0.8)),
         ("np.arctanh", lambda *s: R(*s, lo=-0.8, hi=0.8)),
         ("np.arccosh", lambda *s: R(*s, lo=1.2, hi=3.0)), ("np.conj", R),
         ("np.deg2rad", R), ("np.rad2deg", R), ("np.real", R), ("np.imag", R),
         ("np.sign", S), ("np.floor", R), ("np.ceil", R), ("np.round", R), ("np.rint", R),
         ("np.trunc", R), ("np.fix", R), ("np.nan_to_num", R), ("np.angle", S),
         ("np.heaviside", None), ("np.i0", R), ("np.spacing", R)]
for text, gen in UNARY:
    if gen is None:
        continue
    for shape in ([(), (3,), (2, 1, 3)] if LONG else [(2, 3)]):
        add(f"{text}({{0}})", gen(*shape), second=text in ("np.tan", "np.sinc", "np.cbrt"))
    add(f"{text}({{0}})", gen())
add("np.heaviside({0}, 0.5)", S(3))
add("np.copysign({0}, {1})", S(3), S(3))
add("np.ldexp({0}, 2)", R(3))
add("np.clip({0}, 0.1, 0.5)", SP(2, 3))
add("np.clip({0}, -0.5, None)", SP(2, 3))
add("np.clip({0}, a_min={1}, a_max={2})", SP(2, 3), R(3, lo=-2.0, hi=-1.5), R(2, 1, lo=0.1, hi=0.3))
add("{0}.clip(-0.3, 0.3)", SP(3, 2))
add("{0}.clip(min=-0.3)", SP(3, 2))
add("np.where({0} > 0, {0}, 0.1 * {0})", S(2, 3), second=True)
add("np.where({1}, {0}, {2})", R(2, 3), K(np.array([True, False, True])), R(2, 1))
add("np.where({0} > {1}, {0} ** 2, {1})", S(3), S(2, 3))
add("np.where({1}, {0}, 0.0)", R(2, 3), K(np.array([[True], [False]])))
add("np.maximum({0}, 0.0)", S(2, 3), second=True)
add("np.maximum(0.0, {0})", S(2, 3))
add("np.minimum({0}, 1.0)", SP(2, 3))
add("max({0}, {1})", R(lo=0.5, hi=1.0), R(lo=-1.0, hi=0.0))
add("min({0}, 2.0 * {0})", S())
add("np.fmax({0}, {1})", SP(3), R(lo=-0.05, hi=0.05))
add("np.fmin({0}, {1})", SP(3), R(2, 1, lo=-0.05, hi=0.05))
add("np.logaddexp2({0}, {1})", R(3), R(2, 3))
add("np.fmod({0}, {1})", R(3, lo=0.2, hi=0.9), P(3, lo=1.2, hi=1.8))
add("np.mod({0}, 1.5)", R(3, lo=0.2, hi=1.3))
add("np.true_divide({0}, {1})", R(2, 3), S(3))
add("np.float_power({0}, 1.5)", P(3))
add("np.positive({0}) + np.subtract(1.0, {0}) + np.add({0}, 2.0)", R(3))
add("np.multiply({0}, {1})", R(3, 1), R(1, 2))
add("np.divide(1.0, {0})", S(3))

# --------------------------------------------------------------------------- reductions

group("reductions")
REDUCE_ARGS = [("", (2, 3)), ("axis=0", (2, 3)), ("axis=1", (2, 3)), ("axis=-1", (2, 3)),
               ("axis=-2", (2, 3)), ("1", (2, 3)), ("axis=(0, 1)", (2, 3)),
               ("axis=1, keepdims=True", (2, 3)), ("keepdims=True", (2, 3)),
               ("axis=None", (2, 3)), ("axis=(0, 2)", (2, 1, 3)),
               ("axis=(-1, 0), keepdims=True", (2, 1, 3)), ("axis=1", (2, 1, 3)),
               ("", ()), ("axis=0", (3,)), ("axis=-1, keepdims=True", (3,))]
for fname in ["sum", "mean", "prod", "max", "min", "var", "std", "amax", "amin", "ptp",
              "nansum", "nanmean", "nanmax", "nanmin", "nanprod", "nanvar", "nanstd",
              "average", "median", "nanmedian"]:
    for kw, shape in REDUCE_ARGS:
        if not LONG and kw not in ("", "axis=1", "axis=(0, 2)", "axis=-1, keepdims=True",
                                   "1", "axis=(-1, 0), keepdims=True"):
            continue
        if fname in ("std", "nanstd", "var", "nanvar") and (shape == () or shape == (2, 1, 3)
                                                            and kw == "axis=1"):
            continue  # a spread over one number: std is not differentiable there
        if fname == "average" and "keepdims" in kw and "axis" not in kw:
            continue
        gen = SP(*shape) if fname.endswith(("max", "min", "ptp", "median")) and shape != () \
            else (S(*shape) if "prod" in fname else R(*shape))
        sep = ", " if kw else ""
        second = kw in ("axis=1", "axis=(0, 2)") and fname in ("sum", "prod", "max", "var",
                                                               "std", "mean")
        add(f"np.{fname}({{0}}{sep}{kw})", gen, second=second)
for kw in ["ddof=1", "axis=0, ddof=1", "axis=1, ddof=1, keepdims=True", "1, None, None, 1"]:
    add(f"np.var({{0}}, {kw})", R(3, 4))
    add(f"np.std({{0}}, {kw})", R(3, 4))
add("np.prod({0})", R(2, 3), second=True)
add("np.prod({0} * {1})", R(3), K(np.array([1.0, 0.0, 2.0])))
add("np.prod({0}, axis=0)", R(2, 3))
add("np.sum({0}, axis=0, dtype=np.float64)", R(2, 3))
add("np.mean({0}, dtype=float)", R(2, 3))
add("np.sum({0}, where={1})", R(2, 3), K(np.array([True, False, True])))
add("np.sum({0}, initial=1.0)", R(2, 3))
add("np.max({0}, initial=-5.0)", SP(2, 3))
add("np.mean({0}, where={1})", R(2, 3), K(np.array([True, False, True])))
add("np.average({0}, axis=1, weights={1})", R(2, 3), P(3))
add("np.average({0}, weights={1})", R(2, 3), P(2, 3))
add("np.average({0}, weights={1}, axis=0)", R(2, 3), K(np.array([1.0, 3.0])))
add("np.sum({0}, (0, 1))", R(2, 3))
add("sum({0})", R(3))
add("sum([{0}, {1}, {0}])", R(2), R(2))
for kw, shape in [("", (4,)), ("", (2, 3)), ("axis=0", (2, 3)), ("axis=-1", (2, 3)),
                  ("1", (2, 3)), ("axis=1", (2, 1, 3))]:
    sep = ", " if kw else ""
    add(f"np.cumsum({{0}}{sep}{kw})", R(*shape), second=kw == "axis=0")
    add(f"np.cumprod({{0}}{sep}{kw})", S(*shape), second=kw == "axis=0")
add("np.cumprod({0})", R(4), second=True)
add("np.cumprod({0} * {1})", R(4), K(np.array([1.0, 0.0, 2.0, 1.0])))
add("np.cumprod({0} * {1}, axis=1)", R(2, 3), K(np.array([1.0, 0.0, 2.0])))
add("np.nancumsum({0}, axis=1)", R(2, 3))
add("np.nancumprod({0})", S(3))
add("np.cumulative_sum({0}, axis=0)", R(2, 3))
add("np.cumulative_sum({0}, include_initial=True)", R(3))
add("np.cumulative_prod({0})", S(4))
add("np.diff({0})", R(4))
add("np.diff({0}, axis=0)", R(3, 2))
add("np.ediff1d({0})", R(4))
add("np.trapezoid({0})", R(4))
add("np.cov({0})", R(2, 4))
add("np.corrcoef({0})", R(2, 4))
add("np.percentile({0}, 30)", SP(5))
add("np.quantile({0}, 0.3, axis=0)", SP(5, 2))
add("np.median({0})", SP(5))
add("np.convolve({0}, {1})", R(3), R(2))
add("np.correlate({0}, {1}, 'full')", R(3), R(2))
add("np.interp(0.3, {1}, {0})", R(3), K(np.array([0.0, 0.5, 1.0])))
add("np.polyval({0}, 0.7)", R(3))
add("np.gradient({0})", R(4))

# --------------------------------------------------------------------------- methods

group("methods")
for call, *rest in [
        ("{0}.sum()", R(2, 3), False), ("{0}.sum(axis=1)", R(2, 3), True),
        ("{0}.sum(1)", R(2, 3), False), ("{0}.sum(0, keepdims=True)", R(2, 3), False),
        ("{0}.sum(axis=(0, 2))", R(2, 1, 3), False), ("{0}.mean()", R(2, 3), False),
        ("{0}.mean(axis=0)", R(2, 3), True), ("{0}.mean(-1, keepdims=True)", R(2, 3), False),
        ("{0}.var()", R(2, 3), True), ("{0}.var(axis=1, ddof=1)", R(2, 3), False),
        ("{0}.std()", R(2, 3), True), ("{0}.std(0)", R(3, 2), False),
        ("{0}.max()", SP(2, 3), False), ("{0}.max(axis=1)", SP(2, 3), False),
        ("{0}.min(0)", SP(2, 3), False), ("{0}.min(axis=-1, keepdims=True)", SP(2, 3), False),
        ("{0}.prod()", S(2, 3), True), ("{0}.prod(axis=1)", S(2, 3), False),
        ("{0}.cumsum()", R(2, 3), False), ("{0}.cumsum(axis=1)", R(2, 3), True),
        ("{0}.cumprod()", S(2, 3), False), ("{0}.cumprod(0)", S(2, 3), False),
        ("{0}.T", R(2, 3), False), ("{0}.T", R(2, 1, 3), False), ("{0}.mT", R(2, 1, 3), False),
        ("{0}.reshape(3, 2)", R(2, 3), False), ("{0}.reshape((3, 2))", R(2, 3), False),
        ("{0}.reshape(-1)", R(2, 3), False), ("{0}.reshape(6, order='F')", R(2, 3), False),
        ("{0}.reshape((1, -1))", R(2, 3), False), ("{0}.flatten()", R(2, 3), False),
        ("{0}.ravel()", R(2, 3), False), ("{0}.transpose()", R(2, 3), False),
        ("{0}.transpose(1, 0)", R(2, 3), False), ("{0}.transpose((2, 0, 1))", R(2, 1, 3), False),
        ("{0}.transpose(2, 0, 1)", R(2, 1, 3), False), ("{0}.swapaxes(0, 2)", R(2, 1, 3), False),
        ("{0}.squeeze()", R(2, 1, 3), False), ("{0}.squeeze(axis=1)", R(2, 1, 3), False),
        ("{0}.squeeze(1)", R(2, 1, 3), False),
        ("{0}.dot({1})", R(2, 3), R(3)), ("{0}.dot({1})", R(3), R(3)),
        ("{0}.dot({1})", R(2, 3), R(3, 2)),
        ("{0}.trace()", R(3, 3), False), ("{0}.diagonal()", R(3, 3), False),
        ("{0}.diagonal(1)", R(3, 4), False), ("{0}.repeat(2)", R(2, 3), False),
        ("{0}.repeat(2, axis=0)", R(2, 3), False), ("{0}.copy()", R(2, 3), False),
        ("{0}.astype(float)", R(2, 3), False), ("{0}.astype(np.float64)", R(3), False),
        ("{0}.clip(0.0, 0.4)", SP(2, 3), False), ("{0}.conj()", R(3), False),
        ("{0}.real", R(3), False), ("{0}.round(2)", R(3), False), ("{0}.argmax() * {0}", R(3), False),
        ("{0}.item()", R(1), False), ("{0}.sort()\n{0}", SP(3), False),
        ("{0}.take([0, 2])", R(3), False), ("{0}.take([1, 0], axis=1)", R(2, 3), False),
        ("{0}.flat[1]", R(2, 3), False), ("{0}.tolist()[1]", R(3), False),
        ("{0}.all() * {0}", S(3), False),
        ("{0}.nonzero()[0] * {0}", S(3), False), ("{0}.shape[0] * {0}", R(3), False),
        ("{0}.ndim * {0}", R(3), False), ("{0}.size * {0}", R(2, 3), False),
        ("{0}.__mul__(2.0)", R(3), False), ("{0}.__rsub__(1.0)", R(3), False),
        ("{0}.__pow__(2)", R(3), False), ("{0}.__neg__()", R(3), False)]:
    add(call, *(r for r in rest if isinstance(r, Arg)), second=True in rest)

# --------------------------------------------------------------------------- indexing

group("indexing")
for call in ["{0}[0]", "{0}[-1]", "{0}[1:]", "{0}[::-1]", "{0}[:, 1]", "{0}[..., 0]",
             "{0}[None]", "{0}[:, None]", "{0}[..., None]", "{0}[np.newaxis, :, 1]",
             "{0}[[0, 1, 1]]", "{0}[:, [2, 0]]", "{0}[1, ::2]", "{0}[[0, 1], [2, 0]]",
             "{0}[-1, -2]", "{0}[{0} > 0]", "{0}[np.array([True, False])]",
             "{0}[1][2]", "{0}[0, :][1:]", "{0}[(0, 1)]", "{0}[np.arange(2)]",
             "{0}[:, np.array([0, 0, 2])]", "{0}[np.ix_([0, 1], [0, 2])]"]:
    add(call, R(2, 3))
add("{0}[{1}]", R(4), K(np.array([3, 0, 0])))
add("{0}[{1}]", R(2, 3), K(np.array([[True, False, True], [False, True, True]])))

# --------------------------------------------------------------------------- shaping

group("shaping")
for call, args, second in [
        ("np.reshape({0}, (3, 2))", (R(2, 3),), False), ("np.reshape({0}, -1)", (R(2, 3),), False),
        ("np.reshape({0}, (3, -1), order='F')", (R(2, 3),), False),
        ("np.ravel({0})", (R(2, 3),), False), ("np.transpose({0})", (R(2, 1, 3),), False),
        ("np.transpose({0}, (1, 0, 2))", (R(2, 1, 3),), False),
        ("np.transpose({0}, axes=[2, 0, 1])", (R(2, 1, 3),), False),
        ("np.permute_dims({0}, (1, 0))", (R(2, 3),), False),
        ("np.swapaxes({0}, 0, -1)", (R(2, 1, 3),), False),
        ("np.moveaxis({0}, 0, -1)", (R(2, 1, 3),), False),
        ("np.moveaxis({0}, [0, 1], [2, 0])", (R(2, 1, 3),), False),
        ("np.squeeze({0})", (R(2, 1, 3),), False), ("np.squeeze({0}, axis=1)", (R(2, 1, 3),), False),
        ("np.expand_dims({0}, 0)", (R(2, 3),), False), ("np.expand_dims({0}, -1)", (R(2, 3),), False),
        ("np.expand_dims({0}, axis=(0, 2))", (R(3),), False),
        ("np.atleast_1d({0})", (R(),), False), ("np.atleast_2d({0})", (R(3),), False),
        ("np.atleast_3d({0})", (R(2, 3),), False),
        ("np.broadcast_to({0}, (2, 3))", (R(3),), True),
        ("np.broadcast_to({0}, (2, 2, 3))", (R(2, 1, 3),), False),
        ("np.repeat({0}, 2)", (R(2, 3),), False), ("np.repeat({0}, 2, axis=1)", (R(2, 3),), False),
        ("np.repeat({0}, [1, 2], axis=0)", (R(2, 3),), False),
        ("np.repeat({0}, 3)", (R(),), False),
        ("np.tile({0}, 2)", (R(3),), False), ("np.tile({0}, (2, 1))", (R(2, 3),), True),
        ("np.tile({0}, (2, 1, 2))", (R(2, 3),), False), ("np.tile({0}, 3)", (R(),), False),
        ("np.roll({0}, 1)", (R(2, 3),), False), ("np.roll({0}, -1, axis=1)", (R(2, 3),), False),
        ("np.roll({0}, (1, 2), axis=(0, 1))", (R(2, 3),), False),
        ("np.roll({0}, shift=2, axis=0)", (R(4),), False),
        ("np.flip({0})", (R(2, 3),), False), ("np.flip({0}, 0)", (R(2, 3),), False),
        ("np.flip({0}, axis=(0, 1))", (R(2, 3),), False),
        ("np.fliplr({0})", (R(2, 3),), False), ("np.flipud({0})", (R(2, 3),), False),
        ("np.rot90({0})", (R(2, 3),), False), ("np.rot90({0}, 2)", (R(2, 3),), False),
        ("np.rot90({0}, k=-1, axes=(1, 0))", (R(2, 3),), False),
        ("np.sort({0})", (SP(2, 3),), True), ("np.sort({0}, axis=0)", (SP(2, 3),), False),
        ("np.sort({0}, axis=None)", (SP(2, 3),), False), ("np.sort({0}, -1)", (SP(4),), False),
        ("np.partition({0}, 1)", (SP(4),), False),
        ("np.concatenate([{0}, {1}])", (R(3), R(2)), True),
        ("np.concatenate(({0}, {1}), axis=1)", (R(2, 3), R(2, 1)), False),
        ("np.concatenate([{0}, {1}], axis=-1)", (R(2, 3), R(2, 2)), False),
        ("np.concatenate([{0}, {1}], axis=None)", (R(2, 3), R(2)), False),
        ("np.concatenate([{0}, {0}, {1}])", (R(3), R(2)), False),
        ("np.concatenate([{0}, {1}])", (R(3), K(np.ones(2))), False),
        ("np.concat([{0}, {1}])", (R(3), R(2)), False),
        ("np.stack([{0}, {1}])", (R(3), R(3)), True),
        ("np.stack(({0}, {1}), axis=1)", (R(2, 3), R(2, 3)), False),
        ("np.stack([{0}, {1}], axis=-1)", (R(2, 3), R(2, 3)), False),
        ("np.stack([{0}, 2.0 * {0}])", (R(2, 3),), False),
        ("np.hstack([{0}, {1}])", (R(3), R(2)), False),
        ("np.hstack(({0}, {1}))", (R(2, 3), R(2, 1)), False),
        ("np.vstack([{0}, {1}])", (R(3), R(3)), False),
        ("np.vstack([{0}, {1}])", (R(2, 3), R(3)), False),
        ("np.dstack([{0}, {1}])", (R(2, 3), R(2, 3)), False),
        ("np.column_stack([{0}, {1}])", (R(3), R(3, 2)), False),
        ("np.row_stack([{0}, {1}])", (R(3), R(3)), False),
        ("np.block([[{0}, {1}]])", (R(2, 2), R(2, 1)), False),
        ("np.split({0}, 3)[1]", (R(6),), False),
        ("np.split({0}, [1], axis=1)[1]", (R(2, 3),), False),
        ("np.split({0}, 2, axis=0)[0] * np.split({0}, 2, axis=0)[1]", (R(4, 3),), True),
        ("a, b = np.split({0}, 2)\na - 2.0 * b", (R(4),), False),
        ("np.array_split({0}, 2)[1]", (R(5),), False),
        ("np.hsplit({0}, 3)[2]", (R(2, 3),), False), ("np.vsplit({0}, 2)[1]", (R(2, 3),), False),
        ("np.dsplit({0}, [1])[1]", (R(2, 1, 3),), False),
        ("np.unstack({0})[1]", (R(2, 3),), False),
        ("np.append({0}, {1})", (R(2, 3), R(2)), False),
        ("np.append({0}, {1}, axis=0)", (R(2, 3), R(1, 3)), False),
        ("np.pad({0}, 1)", (R(2, 3),), False),
        ("np.pad({0}, ((1, 0), (0, 2)))", (R(2, 3),), False),
        ("np.pad({0}, 2, mode='edge')", (R(3),), False),
        ("np.pad({0}, (1, 2), mode='reflect')", (R(4),), False),
        ("np.pad({0}, 1, constant_values={1})", (R(3), R()), False),
        ("np.take({0}, [0, 2])", (R(2, 3),), False),
        ("np.take({0}, [0, 2, 2], axis=1)", (R(2, 3),), False),
        ("np.take({0}, 1, axis=0)", (R(2, 3),), False),
        ("np.take_along_axis({0}, np.argsort({0}, axis=1), axis=1)", (SP(2, 3),), False),
        ("np.compress([True, False, True], {0}, axis=1)", (R(2, 3),), False),
        ("np.extract({0} > 0, {0})", (S(2, 3),), False),
        ("np.diag({0})", (R(3),), False), ("np.diag({0})", (R(3, 3),), False),
        ("np.diag({0}, 1)", (R(3),), False), ("np.diag({0}, k=-1)", (R(3, 4),), False),
        ("np.diagflat({0})", (R(2, 2),), False), ("np.diagonal({0})", (R(3, 3),), False),
        ("np.diagonal({0}, 1, 0, 2)", (R(3, 2, 3),), False),
        ("np.diagonal({0}, axis1=-2, axis2=-1)", (R(2, 3, 3),), False),
        ("np.trace({0})", (R(3, 3),), False), ("np.trace({0}, 1)", (R(3, 4),), False),
        ("np.trace({0}, axis1=1, axis2=2)", (R(2, 3, 3),), False),
        ("np.triu({0})", (R(3, 3),), False), ("np.tril({0}, -1)", (R(3, 3),), False),
        ("np.triu({0}, 1)", (R(2, 3, 3),), False), ("np.tril({0}, k=1)", (R(3, 4),), False),
        ("np.triu({0})", (R(3),), False),
        ("np.array([{0}, {1}])", (R(), R()), False),
        ("np.array([[{0}, 2.0], [{1}, {0}]])", (R(), R()), False),
        ("np.array([{0}, {1}])", (R(3), R(3)), False),
        ("np.asarray({0})", (R(2, 3),), False), ("np.array({0})", (R(2, 3),), False),
        ("np.asarray([{0}, {1}])", (R(), R()), False),
        ("np.copy({0})", (R(3),), False), ("np.resize({0}, (3, 2))", (R(2, 3),), False),
        ("np.insert({0}, 1, 5.0)", (R(3),), False), ("np.delete({0}, 1)", (R(3),), False),
        ("np.select([{0} > 0], [{0}])", (S(3),), False),
        ("np.choose([0, 1, 0], [{0}, {1}])", (R(3), R(3)), False),
        ("np.meshgrid({0}, {1})[0]", (R(3), R(2)), False),
        ("np.outer({0}, {1})", (R(3), R(2)), True), ("np.outer({0}, {1})", (R(2, 2), R(3)), False),
        ("np.add.outer({0}, {1})", (R(3), R(2)), True),
        ("np.subtract.outer({0}, {1})", (R(2, 2), R(3)), True),
        ("np.multiply.outer({0}, {1})", (R(2), R(3, 2)), True),
        ("np.polyval({0}, {1})", (R(3), R(4)), True), ("np.polyval({0}, {1})", (R(2), R()), False),
        ("np.inner({0}, {1})", (R(3), R(3)), False), ("np.inner({0}, {1})", (R(2, 3), R(4, 3)), True),
        ("np.inner({0}, {1})", (R(), R(3)), False),
        ("np.dot({0}, {1})", (R(3), R(3)), True), ("np.dot({0}, {1})", (R(2, 3), R(3)), False),
        ("np.dot({0}, {1})", (R(3), R(3, 2)), False), ("np.dot({0}, {1})", (R(2, 3), R(3, 4)), True),
        ("np.dot({0}, {1})", (R(), R(2, 3)), False), ("np.dot({0}, {1})", (R(2, 3), R()), False),
        ("np.dot({0}, {1})", (R(2, 2, 3), R(3)), False),
        ("np.dot({0}, {1})", (R(2, 2, 3), R(3, 2)), True),
        ("np.dot({0}, {1})", (R(2, 3), R(2, 3, 2)), True),
        ("np.vdot({0}, {1})", (R(2, 3), R(2, 3)), False),
        ("np.tensordot({0}, {1}, axes=1)", (R(2, 3), R(3, 2)), False),
        ("np.tensordot({0}, {1})", (R(2, 3), R(2, 3)), False),
        ("np.tensordot({0}, {1}, axes=0)", (R(2), R(3)), False),
        ("np.tensordot({0}, {1}, axes=([1], [0]))", (R(2, 3), R(3, 4)), True),
        ("np.tensordot({0}, {1}, axes=([0, 2], [2, 0]))", (R(2, 1, 3), R(3, 2, 2)), False),
        ("np.tensordot({0}, {1}, [[1], [1]])", (R(2, 3), R(4, 3)), False),
        ("np.kron({0}, {1})", (R(2, 2), R(2, 3)), True), ("np.kron({0}, {1})", (R(2), R(3)), False),
        ("np.kron({0}, {1})", (R(3), R(2, 2)), False),
        ("np.cross({0}, {1})", (R(3), R(3)), False), ("np.cross({0}, {1})", (R(2, 3), R(3)), False),
        ("np.vecdot({0}, {1})", (R(2, 3), R(3)), False),
        ("np.matrix_transpose({0})", (R(2, 3),), False),
        ("np.einsum('ij,jk->ik', {0}, {1})", (R(2, 3), R(3, 2)), True),
        ("np.einsum('i,i', {0}, {1})", (R(3), R(3)), False),
        ("np.einsum('ij->', {0})", (R(2, 3),), False), ("np.einsum('ii->i', {0})", (R(3, 3),), False),
        ("np.einsum('ii', {0})", (R(3, 3),), False), ("np.einsum('ij->ji', {0})", (R(2, 3),), False),
        ("np.einsum('ij,ij->ij', {0}, {1})", (R(2, 3), R(2, 3)), False),
        ("np.einsum('...ij,...jk->...ik', {0}, {1})", (R(2, 2, 3), R(2, 3, 2)), False),
        ("np.einsum('ijk,ik->j', {0}, {1})", (R(2, 1, 3), R(2, 3)), False),
        ("np.einsum('i,j->ij', {0}, {1})", (R(3), R(2)), False),
        ("np.einsum('ij,jk', {0}, {1})", (R(2, 3), R(3, 2)), False),
        ("np.einsum('i,i,i->', {0}, {1}, {0})", (R(3), R(3)), True),
        ("np.einsum('b i, b j -> b i j', {0}, {1})", (R(2, 3), R(2, 2)), False),
        ("np.einsum('ij,j->i', {0}, {1}, optimize=True)", (R(2, 3), R(3)), False),
        ("np.einsum({0}, [0, 1], {1}, [1])", (R(2, 3), R(3)), False),
        ("np.linalg.multi_dot([{0}, {1}, {2}])", (R(2, 3), R(3, 3), R(3)), False),
        ]:
    add(call, *args, second=second)

# --------------------------------------------------------------------------- linear algebra

group("linalg")
for call, args, second in [
        ("np.linalg.inv({0})", (M(3),), True), ("np.linalg.inv({0})", (M(2, batch=(2,)),), False),
        ("np.linalg.det({0})", (M(3),), True), ("np.linalg.det({0})", (M(2, batch=(2,)),), False),
        ("np.linalg.slogdet({0})[1]", (M(3),), True),
        ("sign, logdet = np.linalg.slogdet({0})\nsign * logdet", (M(3),), False),
        ("np.linalg.slogdet({0}).logabsdet", (M(3),), False),
        ("np.linalg.solve({0}, {1})", (M(3), R(3)), True),
        ("np.linalg.solve({0}, {1})", (M(3), R(3, 2)), False),
        ("np.linalg.solve({0}, {1})", (M(2, batch=(2,)), R(2, 2, 1)), False),
        ("np.linalg.cholesky({0})", (M(3, "spd"),), True),
        ("np.linalg.cholesky(0.5 * ({0} + {0}.T))", (M(3, "spd"),), False),
        ("np.linalg.cholesky({0}, upper=True)", (M(3, "spd"),), False),
        ("np.linalg.eigh({0})[0]", (M(3, "sym"),), True),
        ("np.linalg.eigh(0.5 * ({0} + {0}.T))[0]", (M(3, "sym"),), False),
        ("w, v = np.linalg.eigh({0})\nv ** 2", (M(3, "sym"),), False),
        ("np.linalg.eigh({0}, UPLO='U')[1] ** 2", (M(3, "sym"),), False),
        ("np.linalg.eigh({0}).eigenvalues", (M(3, "sym"),), False),
        ("np.linalg.eigvalsh({0})", (M(3, "sym"),), False),
        ("np.linalg.eig({0})[0]", (M(3, "sym"),), False),
        ("np.linalg.eigvals({0})", (M(3, "sym"),), False),
        ("np.linalg.norm({0})", (R(3),), True), ("np.linalg.norm({0})", (R(2, 3),), False),
        ("np.linalg.norm({0}, 2)", (R(3),), False), ("np.linalg.norm({0}, ord=1)", (S(3),), False),
        ("np.linalg.norm({0}, np.inf)", (SP(4),), False),
        ("np.linalg.norm({0}, -np.inf)", (SP(4),), False),
        ("np.linalg.norm({0}, 3)", (S(3),), True), ("np.linalg.norm({0}, 0.5)", (S(3),), False),
        ("np.linalg.norm({0}, 0)", (S(3),), False),
        ("np.linalg.norm({0}, 'fro')", (R(2, 3),), False),
        ("np.linalg.norm({0}, axis=1)", (R(2, 3),), True),
        ("np.linalg.norm({0}, axis=-1, keepdims=True)", (R(2, 3),), False),
        ("np.linalg.norm({0}, ord=3, axis=0)", (S(2, 3),), False),
        ("np.linalg.norm({0}, 1)", (SP(3, 3),), False),
        ("np.linalg.norm({0}, np.inf)", (SP(3, 3),), False),
        ("np.linalg.norm({0}, 2)", (RK(3, 2),), False),
        ("np.linalg.norm({0}, 'nuc')", (RK(2, 3),), False),
        ("np.linalg.norm({0}, axis=(1, 2))", (R(2, 2, 3),), False),
        ("np.linalg.vector_norm({0})", (R(2, 3),), False),
        ("np.linalg.vector_norm({0}, ord=1, axis=0)", (S(2, 3),), False),
        ("np.linalg.matrix_norm({0})", (R(2, 3),), False),
        ("np.linalg.pinv({0})", (RK(3, 2),), True), ("np.linalg.pinv({0})", (RK(2, 3),), False),
        ("np.linalg.matrix_power({0}, 3)", (M(2),), True),
        ("np.linalg.matrix_power({0}, -2)", (M(2),), False),
        ("np.linalg.matrix_power({0}, 0)", (M(2),), False),
        ("np.linalg.svd({0})[1]", (RK(3, 2),), False),
        ("np.linalg.svd({0}, compute_uv=False)", (RK(3, 2),), True),
        ("u, s, vh = np.linalg.svd({0}, full_matrices=False)\n(u * s) @ vh", (RK(3, 2),), False),
        ("np.linalg.svdvals({0})", (RK(2, 3),), False),
        ("q, r = np.linalg.qr({0})\nq @ r + r[0, 0]", (RK(3, 2),), False),
        ("np.linalg.qr({0})[1] ** 2", (RK(3, 3),), False),
        ("np.linalg.lstsq({0}, {1})[0]", (RK(3, 2), R(3)), False),
        ("np.linalg.cond({0})", (M(2),), False),
        ("np.linalg.matrix_rank({0}) * {0}", (M(2),), False),
        ("np.linalg.trace({0})", (R(2, 3, 3),), False),
        ("np.linalg.diagonal({0})", (R(2, 3, 3),), False),
        ("np.linalg.outer({0}, {1})", (R(3), R(2)), False),
        ("np.linalg.matmul({0}, {1})", (R(2, 3), R(3)), False),
        ("np.linalg.tensordot({0}, {1}, axes=1)", (R(2, 3), R(3)), False),
        ("np.linalg.cross({0}, {1})", (R(3), R(3)), False),
        ("np.linalg.vecdot({0}, {1})", (R(2, 3), R(2, 3)), False),
        ("np.linalg.inv({0}) @ {1}", (M(3), R(3)), False),
        ("np.log(np.linalg.det({0} @ {0}.T))", (M(3),), False),
        ]:
    add(call, *args, second=second)

# --------------------------------------------------------------------------- scipy

group("scipy")
_SP = "scipy.special"
for call, args, second in [
        (f"{_SP}.logsumexp({{0}})", (R(4),), True),
        (f"{_SP}.logsumexp({{0}}, axis=1)", (R(2, 3),), True),
        (f"{_SP}.logsumexp({{0}}, axis=0, keepdims=True)", (R(2, 3),), False),
        (f"{_SP}.logsumexp({{0}}, axis=(0, 2))", (R(2, 1, 3),), False),
        (f"{_SP}.logsumexp({{0}}, -1)", (R(2, 3),), False),
        (f"{_SP}.logsumexp({{0}}, b={{1}})", (R(2, 3), P(2, 3)), False),
        (f"{_SP}.logsumexp({{0}}, axis=1, b={{1}})", (R(2, 3), P(3)), False),
        (f"{_SP}.logsumexp({{0}}, return_sign=True)[0]", (R(3),), False),
        (f"{_SP}.softmax({{0}})", (R(2, 3),), True), (f"{_SP}.softmax({{0}}, axis=1)", (R(2, 3),), False),
        (f"{_SP}.softmax({{0}}, axis=(0, 1))", (R(2, 3),), False),
        (f"{_SP}.softmax({{0}}, -1)", (R(2, 3),), False),
        (f"{_SP}.log_softmax({{0}}, axis=0)", (R(2, 3),), True),
        (f"{_SP}.log_softmax({{0}})", (R(3),), False),
        (f"{_SP}.expit({{0}})", (R(2, 3),), True), (f"{_SP}.logit({{0}})", (R(3, lo=0.2, hi=0.8),), False),
        (f"{_SP}.log_expit({{0}})", (R(3),), False), (f"{_SP}.erf({{0}})", (R(3),), True),
        (f"{_SP}.erfc({{0}})", (R(3),), False), (f"{_SP}.erfinv({{0}})", (R(3, lo=-0.8, hi=0.8),), False),
        (f"{_SP}.erfcinv({{0}})", (R(3, lo=0.2, hi=1.8),), False),
        (f"{_SP}.erfcx({{0}})", (R(3),), False), (f"{_SP}.erfi({{0}})", (R(3),), False),
        (f"{_SP}.gammaln({{0}})", (P(3),), True), (f"{_SP}.gamma({{0}})", (P(3),), False),
        (f"{_SP}.loggamma({{0}})", (P(3),), False), (f"{_SP}.digamma({{0}})", (P(3),), True),
        (f"{_SP}.psi({{0}})", (P(3),), False), (f"{_SP}.polygamma(1, {{0}})", (P(3),), False),
        (f"{_SP}.polygamma(0, {{0}})", (P(3),), False),
        (f"{_SP}.multigammaln({{0}}, 2)", (P(3, lo=1.5, hi=3.0),), False),
        (f"{_SP}.beta({{0}}, {{1}})", (P(3), P(3)), False),
        (f"{_SP}.betaln({{0}}, {{1}})", (P(3), P(2, 3)), False),
        (f"{_SP}.xlogy({{0}}, {{1}})", (R(3), P(3)), False),
        (f"{_SP}.xlog1py({{0}}, {{1}})", (R(3), P(3)), False),
        (f"{_SP}.entr({{0}})", (P(3),), False), (f"{_SP}.rel_entr({{0}}, {{1}})", (P(3), P(3)), False),
        (f"{_SP}.kl_div({{0}}, {{1}})", (P(3), P(3)), False),
        (f"{_SP}.ndtr({{0}})", (R(3),), False), (f"{_SP}.ndtri({{0}})", (R(3, lo=0.2, hi=0.8),), False),
        (f"{_SP}.log_ndtr({{0}})", (R(3),), False), (f"{_SP}.expm1({{0}})", (R(3),), False),
        (f"{_SP}.log1p({{0}})", (P(3),), False), (f"{_SP}.exp2({{0}})", (R(3),), False),
        (f"{_SP}.exp10({{0}})", (R(3),), False), (f"{_SP}.cbrt({{0}})", (P(3),), False),
        (f"{_SP}.softplus({{0}})", (R(3),), False), (f"{_SP}.sinc({{0}})", (R(3),), False),
        (f"{_SP}.exp1({{0}})", (P(3),), False), (f"{_SP}.expi({{0}})", (P(3),), False),
        (f"{_SP}.dawsn({{0}})", (R(3),), False), (f"{_SP}.sindg({{0}})", (R(3),), False),
        (f"{_SP}.i0({{0}})", (R(3),), False), (f"{_SP}.i1({{0}})", (R(3),), False),
        (f"{_SP}.iv(1.5, {{0}})", (P(3),), False), (f"{_SP}.jv(1.0, {{0}})", (P(3),), False),
        (f"{_SP}.gammainc(2.0, {{0}})", (P(3),), False), (f"{_SP}.zeta({{0}}, 1.0)", (P(3, lo=1.5, hi=3.0),), False),
        (f"{_SP}.erf({{0}}) * {_SP}.expit({{1}})", (R(3), R(2, 3)), False),
        ("scipy.stats.norm.logpdf({0})", (R(3),), False),
        ("scipy.stats.norm.logpdf({0}, {1}, {2})", (R(3), R(), P()), False),
        ("scipy.stats.norm.pdf({0})", (R(3),), False),
        ("scipy.stats.norm.cdf({0})", (R(3),), False),
        ("scipy.stats.norm.logcdf({0})", (R(3),), False),
        ("scipy.stats.norm(0.0, 1.0).logpdf({0})", (R(3),), False),
        ("scipy.stats.t.logpdf({0}, 3.0)", (R(3),), False),
        ("scipy.stats.gamma.logpdf({0}, 2.0)", (P(3),), False),
        ("scipy.stats.beta.logpdf({0}, 2.0, 3.0)", (R(3, lo=0.2, hi=0.8),), False),
        ("scipy.stats.poisson.logpmf(2, {0})", (P(3),), False),
        ("scipy.stats.multivariate_normal.logpdf({0}, np.zeros(3), np.eye(3))", (R(3),), False),
        ("scipy.stats.dirichlet.logpdf({1}, {0})", (P(3), K(np.array([0.2, 0.3, 0.5]))), False),
        ("scipy.linalg.inv({0})", (M(3),), False), ("scipy.linalg.det({0})", (M(3),), False),
        ("scipy.linalg.solve({0}, {1})", (M(3), R(3)), False),
        ("scipy.linalg.cholesky({0})", (M(3, "spd"),), False),
        ("scipy.linalg.cholesky({0}, lower=True)", (M(3, "spd"),), False),
        ("scipy.linalg.solve_triangular({0}, {1})", (M(3), R(3)), False),
        ("scipy.linalg.solve_triangular({0}, {1}, lower=True, trans='T')", (M(3), R(3, 2)), False),
        ("scipy.linalg.cho_solve(scipy.linalg.cho_factor({0}), {1})", (M(3, "spd"), R(3)), False),
        ("scipy.linalg.cho_solve(({0}, True), {1})", (M(3), R(3)), False),
        ("ab = {0} + np.array([[0.0], [3.0], [0.0]])\nscipy.linalg.solve_banded((1, 1), ab, {1})", (R(3, 4), R(4)), False),
        ("scipy.integrate.odeint({2}, {0}, np.linspace(0.0, 1.0, 4), args=({1},), rtol=1e-10, atol=1e-10)", (R(2), P(2), K(decay_dynamics)), False),
        ("scipy.linalg.expm({0})", (R(2, 2),), True),
        ("scipy.linalg.svd({0}, compute_uv=False)", (RK(3, 2),), False),
        ("scipy.linalg.sqrtm({0})", (M(2, "spd"),), False),
        ("scipy.linalg.logm({0})", (M(2, "spd"),), False),
        ("scipy.linalg.eigh({0})[0]", (M(3, "sym"),), False),
        ("scipy.linalg.lu_factor({0})[0]", (M(3),), False),
        ("scipy.signal.convolve({0}, {1})", (R(3), R(2)), False),
        ]:
    add(call, *args, second=second)
# the rules of tests/test_rules_gap.py (each checked there in more forms)
for call, args, second in [
        ("scipy.signal.correlate({0}, {1}, 'same')", (R(2, 3), R(2, 2)), False),
        ("np.correlate({0}, {1}, 'full')", (R(4), R(2)), False),
        ("np.rollaxis({0}, 2)", (R(2, 3, 2),), False),
        ("np.real_if_close({0})", (R(3),), False),
        ("np.nanquantile({0}, 0.4, axis=0)", (SP(4, 2),), False),
        ("np.nanpercentile({0}, 60)", (SP(5),), False),
        ("scipy.linalg.solve_sylvester({0}, {1}, {2})", (M(2), M(3), R(2, 3)), False),
        ("scipy.linalg.solve_continuous_lyapunov({0}, {1})", (M(2), R(2, 2)), False),
        (f"{_SP}.betainc(2.0, 3.0, {{0}})", (R(3, lo=0.1, hi=0.9),), False),
        (f"{_SP}.binom({{0}}, {{1}})", (R(3, lo=3.0, hi=5.0), P(3)), False),
        (f"{_SP}.cosm1({{0}})", (R(3),), False), (f"{_SP}.rgamma({{0}})", (P(3),), False),
        (f"{_SP}.gammaincc(2.0, {{0}})", (P(3),), False),
        (f"{_SP}.gammaincinv(2.0, {{0}})", (R(3, lo=0.1, hi=0.9),), False),
        (f"{_SP}.gammainccinv(2.0, {{0}})", (R(3, lo=0.1, hi=0.9),), False),
        (f"{_SP}.huber(1.0, {{0}})", (R(3),), False),
        (f"{_SP}.pseudo_huber({{0}}, {{1}})", (P(3), R(3)), False),
        (f"{_SP}.poch({{0}}, {{1}})", (P(3), P(3)), False),
        (f"{_SP}.powm1({{0}}, {{1}})", (P(3), R(3)), False),
        (f"{_SP}.j0({{0}}) + {_SP}.j1({{0}}) + {_SP}.y0({{0}}) + {_SP}.y1({{0}})", (P(3),), True),
        (f"{_SP}.k0({{0}}) + {_SP}.k1({{0}}) + {_SP}.k0e({{0}}) + {_SP}.k1e({{0}})", (P(3),), False),
        (f"{_SP}.i0e({{0}}) * {_SP}.i1e({{0}})", (R(3),), False),
        (f"{_SP}.yn(2, {{0}}) + {_SP}.yv(1.5, {{0}}) + {_SP}.kv(0.5, {{0}})", (P(3),), False),
        (f"{_SP}.ive(1.5, {{0}}) + {_SP}.kve(2.0, {{0}})", (P(3),), False),
        ]:
    add(call, *args, second=second)

# --------------------------------------------------------------------------- math, builtins

group("math")
for call, args in [
        ("math.exp({0})", (R(),)), ("math.log({0})", (P(),)), ("math.log({0}, 2.0)", (P(),)),
        ("math.sqrt({0})", (P(),)), ("math.sin({0}) * math.cos({0})", (R(),)),
        ("math.tanh({0})", (R(),)), ("math.pow({0}, 3)", (P(),)), ("math.erf({0})", (R(),)),
        ("math.atan2({0}, {1})", (R(), S())), ("math.hypot({0}, {1})", (S(), S())),
        ("math.fabs({0})", (S(),)), ("math.gamma({0})", (P(),)), ("math.lgamma({0})", (P(),)),
        ("math.expm1({0}) + math.log1p({0})", (P(),)), ("math.fmod({0}, 0.7)", (P(lo=0.2, hi=0.6),)),
        ("math.copysign({0}, -1.0)", (S(),)), ("math.dist([{0}, 1.0], [0.0, {1}])", (R(), R())),
        ("math.prod([{0}, {1}, 2.0])", (R(), R())), ("math.fsum([{0}, {1}])", (R(), R())),
        ("float({0})", (R(),)), ("abs({0})", (S(),)), ("pow({0}, 2)", (R(),)),
        ("pow({0}, {1})", (P(), R())), ("max([{0}, {1}])", (R(lo=0.5, hi=1.0), R(lo=-1.0, hi=0.0))),
        ("min({0}, {1}, 0.0)", (R(lo=-1.0, hi=-0.5), R(lo=0.2, hi=1.0))),
        ("sum([{0}, {1}])", (R(), R())), ("round({0}, 2) + {0}", (R(),)),
        ("divmod({0}, 0.7)[1]", (P(lo=0.1, hi=0.6),)), ("{0} // 0.7 + {0}", (P(lo=0.1, hi=0.6),)),
        ("np.float64({0}) * 2.0", (R(),)), ("complex({0}, 0.0).real", (R(),)),
        ]:
    add(call, *args)


# --------------------------------------------------------------------------- call forms

group("forms")
for call, args in [
        # keywords for what is usually positional
        ("np.reshape({0}, shape=(3, 2))", (R(2, 3),)), ("np.transpose({0}, axes=(1, 0))", (R(2, 3),)),
        ("np.repeat({0}, repeats=2, axis=0)", (R(2, 3),)), ("np.tile({0}, reps=(1, 2))", (R(2, 3),)),
        ("np.roll({0}, shift=1, axis=1)", (R(2, 3),)), ("np.expand_dims({0}, axis=1)", (R(2, 3),)),
        ("np.take({0}, indices=[1, 0], axis=0)", (R(2, 3),)),
        ("np.moveaxis({0}, source=0, destination=1)", (R(2, 3),)),
        ("np.swapaxes({0}, axis1=0, axis2=1)", (R(2, 3),)),
        ("np.tensordot({0}, {1}, axes=[1, 0])", (R(2, 3), R(3, 2))),
        ("np.sum(a={0}, axis=0)", (R(2, 3),)), ("np.mean(axis=1, a={0})", (R(2, 3),)),
        ("np.linalg.norm(x={0}, axis=0)", (R(2, 3),)), ("np.clip({0}, a_min=-0.5, a_max=0.5)", (SP(3),)),
        ("np.split({0}, indices_or_sections=2, axis=1)[0]", (R(2, 4),)),
        ("np.power({0}, 3.0)", (R(3),)),
        ("np.var({0}, axis=0, ddof=0.5)", (R(3, 2),)),
        # positional forms of optional parameters
        ("np.sum({0}, 0, None, None, True)", (R(2, 3),)), ("np.prod({0}, 1, None, None, True)", (S(2, 3),)),
        ("np.max({0}, 0, None, True)", (SP(2, 3),)), ("np.std({0}, 0, None, None, 1)", (R(3, 2),)),
        ("np.mean({0}, -1, None, None, True)", (R(2, 3),)), ("np.cumsum({0}, 0)", (R(2, 3),)),
        ("np.roll({0}, 1, 0)", (R(2, 3),)), ("np.repeat({0}, 2, 0)", (R(2, 3),)),
        ("np.concatenate(({0}, {1}), 0)", (R(2, 3), R(1, 3))), ("np.stack(({0}, {1}), 1)", (R(2), R(2))),
        ("np.split({0}, 2, 0)[1]", (R(4, 2),)), ("np.squeeze({0}, 1)", (R(2, 1, 3),)),
        ("np.expand_dims({0}, 2)", (R(2, 3),)), ("np.flip({0}, 1)", (R(2, 3),)),
        ("np.trace({0}, 0, 1, 2)", (R(2, 3, 3),)), ("np.diagonal({0}, 0, 1, 2)", (R(2, 3, 3),)),
        ("np.tensordot({0}, {1}, 1)", (R(2, 3), R(3))), ("np.average({0}, 1, {1})", (R(2, 3), P(3))),
        ("np.linalg.norm({0}, None, 0)", (R(2, 3),)), ("np.clip({0}, {1}, 0.5)", (SP(2, 3), R(3, lo=-2.0, hi=-1.0))),
        ("np.take({0}, [2, 0], 1)", (R(2, 3),)), ("np.sort({0}, 0)", (SP(3, 2),)),
        # scalars, numpy scalars and 0-d arrays in every position
        ("np.sum({0})", (R(),)), ("np.mean({0})", (R(),)), ("np.prod({0})", (R(),)),
        ("np.max({0})", (R(),)), ("np.cumsum({0})", (R(),)), ("np.cumprod({0})", (R(),)),
        ("np.dot({0}, {1})", (R(), R())), ("np.outer({0}, {1})", (R(), R(3))),
        ("np.exp(np.array({0}))", (R(),)), ("np.array({0}) * {1}", (R(), R(3))),
        ("np.linalg.norm(np.array([{0}, {1}]))", (R(), R())),
        ("np.sum(np.array([{0}, 2.0 * {1}, {0} * {1}]) ** 2)", (R(), R())),
        ("np.sum([{0}, {1}])", (R(3), R(3))), ("np.max([{0}, {1}])", (R(lo=0.5, hi=1.0), R(lo=-1.0, hi=0.0))),
        ("np.asarray([{0}, {1}]) @ np.array([1.0, 2.0])", (R(), R())),
        ("np.stack([{0}, {1}, {0} * {1}])", (R(), R())),
        ("np.float64({0}) * {1}", (R(), R(3))), ("np.exp({0}) ** 2", (R(),)),
        ("{0} ** np.array([1.0, 2.0, 3.0])", (R(3),)), ("np.array([1.0, 2.0, 3.0]) ** {0}", (R(),)),
        ("2 ** {0}", (R(3),)), ("{0} ** 0", (R(3),)), ("{0} ** 1", (R(3),)), ("(-{0}) ** 2", (R(3),)),
        ("{0} ** 2.0", (R(3),)), ("0.0 * {0}", (R(3),)), ("{0} ** -2", (S(3),)),
        ("np.power(-1.5, 2.0) * {0}", (R(3),)), ("{0} ** {1}", (P(3), K(np.array([1, 2, 3])))),
        ("{0} ** {1}", (R(3), K(np.array([2, 3, 4])))), ("np.power({0}, {1})", (R(3), K(3))),
        ("{0} / {1}", (R(3), K(np.array([1, 2, 4])))), ("{1} / {0}", (S(3), K(np.array([1, 2, 4])))),
        ("{0} * {1}", (R(3), K(np.array([True, False, True])))),
        ("{0} + {1}", (R(3), K(np.arange(6).reshape(2, 3)))),
        ("{1} - {0}", (R(2, 3), K(np.int64(2)))),
        ("{0}.astype(np.float32).astype(np.float64)", (R(3),)),
        # integer-valued and boolean intermediates
        ("({0} > 0) * {0}", (S(3),)), ("({0} > 0).astype(float) * {0}", (S(3),)),
        ("np.sum({0} > 0) * {0}", (S(3),)), ("np.argmax({0}) * {0}", (SP(3),)),
        ("{0}[np.argmax({0})]", (SP(4),)), ("{0}[np.argsort({0})]", (SP(4),)),
        ("np.floor({0}) * {0}", (R(3, lo=0.1, hi=0.9),)), ("np.sign({0}) * {0} ** 2", (S(3),)),
        ("np.round({0}, 1) + {0}", (R(3),)), ("np.abs({0}).astype(int) * {0}", (R(3),)),
        ("len({0}) * {0}", (R(3),)), ("{0}.shape[0] * np.ones(3) * {0}", (R(3),)),
        ("np.ones_like({0}) * {0}", (R(3),)), ("np.zeros_like({0}) + {0}", (R(3),)),
        ("np.full_like({0}, 2.0) * {0}", (R(3),)), ("np.eye(3) @ {0}", (R(3),)),
        ("np.where({0} > 0)[0] * 1.0 + {0}[0]", (S(3),)),
        ("np.isnan({0}) + {0}", (R(3),)), ("np.nan_to_num({0})", (R(3),)),
        # batches (stacked matrices)
        ("np.linalg.cholesky({0})", (M(2, "spd", batch=(2,)),)),
        ("np.linalg.eigh({0})[0]", (M(2, "sym", batch=(2,)),)),
        ("np.linalg.slogdet({0})[1]", (M(2, batch=(2,)),)),
        ("np.linalg.solve({0}, {1})", (M(2, batch=(3,)), R(3, 2, 2))),
        ("np.linalg.solve({0}, {1})", (M(2, batch=(3,)), R(2, 1))),
        ("np.linalg.pinv({0})", (M(2, batch=(2,)),)),
        ("np.linalg.matrix_power({0}, 2)", (M(2, batch=(2,)),)),
        ("np.linalg.norm({0}, axis=(1, 2))", (R(2, 2, 3),)),
        ("np.linalg.det({0})", (M(1),)), ("np.linalg.inv({0})", (M(1),)),
        ("np.trace({0} @ {0})", (R(3, 3),)), ("np.diag(np.diag({0}))", (R(3, 3),)),
        ("np.sum(np.triu({0}) * np.tril({0}))", (R(3, 3),)),
        # special functions broadcast
        ("scipy.special.xlogy({0}, {1})", (R(2, 3), P(3))), ("scipy.special.xlogy(2.0, {0})", (P(3),)),
        ("scipy.special.betaln({0}, 2.0)", (P(3),)), ("scipy.special.beta(2.0, {0})", (P(2, 1),)),
        ("scipy.special.gammaln({0} + 1.0)", (P(2, 3),)), ("scipy.special.logsumexp({0}, b=2.0)", (R(3),)),
        ("scipy.special.logsumexp({0}, b={1}, axis=0)", (R(2, 3), P(2, 1))),
        ("scipy.special.logsumexp({0}, keepdims=True)", (R(2, 3),)),
        ("scipy.special.softmax({0}, axis=0)", (R(3),)),
        ("scipy.special.polygamma(2, {0})", (P(3),)),
        ("scipy.special.log_softmax({0}, axis=-1)", (R(2, 3),)),
        ]:
    add(call, *args)
for call, args in [  # less common arguments
        ("np.pad({0}, 1, mode='maximum')", (SP(4),)), ("np.pad({0}, 1, mode='minimum')", (SP(4),)),
        ("np.pad({0}, 1, mode='mean')", (R(4),)), ("np.pad({0}, 2, mode='median')", (SP(5),)),
        ("np.pad({0}, 2, mode='linear_ramp')", (R(3),)), ("np.pad({0}, 2, mode='symmetric')", (R(3),)),
        ("np.pad({0}, 2, mode='wrap')", (R(3),)), ("np.pad({0}, 1, mode='reflect', reflect_type='odd')", (R(3),)),
        ("np.pad({0}, ((0, 1), (2, 0)), mode='edge')", (R(2, 3),)),
        ("np.pad({0}, 1, constant_values=(1.0, 2.0))", (R(3),)),
        ("np.pad({0}, 1, 'maximum', stat_length=2)", (SP(4),)),
        ("np.roll({0}, np.array([1, 2]), axis=(0, 1))", (R(2, 3),)),
        ("np.repeat({0}, [1, 0, 2])", (R(3),)), ("np.repeat({0}, [2, 1], axis=0)", (R(2, 3),)),
        ("np.average({0}, weights={1}, returned=True)[0]", (R(3), P(3))),
        ("np.average({0}, weights={1}, returned=True)[1]", (R(3), P(3))),
        ("np.cross({0}, {1})", (R(2), R(2))), ("np.cross({0}, {1})", (R(3, 2), R(3, 2))),
        ("np.cross({0}, {1}, axis=0)", (R(3, 2), R(3, 2))),
        ("np.kron({0}, {1})", (R(2, 1, 2), R(2, 2))), ("np.inner({0}, {1})", (R(2, 2, 3), R(3))),
        ("np.vdot({0}, {1})", (R(3), R(3))), ("np.tensordot({0}, {1}, axes=((0, 1), (1, 0)))", (R(2, 3), R(3, 2))),
        ("np.einsum('ij,jk->ik', {0}, {1}, optimize='greedy')", (R(2, 3), R(3, 2))),
        ("np.einsum('i...->...', {0})", (R(2, 3),)), ("np.einsum('...i,...i', {0}, {1})", (R(2, 3), R(3))),
        ("np.add.reduce({0})", (R(3),)), ("np.maximum.accumulate({0})", (SP(3),)),
        ("np.multiply.outer({0}, {1})", (R(2), R(3))), ("np.add.outer({0}, {1})", (R(2), R(3))),
        ("np.add.accumulate({0})", (R(3),)), ("np.multiply.reduce({0}, axis=1)", (R(2, 3),)),
        ("np.maximum.reduce({0})", (SP(3),)),
        ("np.sum({0}, axis=np.int64(1))", (R(2, 3),)), ("sum({0})", (R(2, 3),)),
        ("max({0})", (SP(3),)), ("min({0})", (SP(3),)), ("sorted({0})[0]", (SP(3),)),
        ("float({0}[0]) * {0}", (R(3),)), ("np.sort({0})[::-1]", (SP(4),)),
        ("np.sort({0}, kind='stable')", (SP(4),)), ("np.sort(-{0}, axis=-1)", (SP(2, 3),)),
        ("np.flip({0}, axis=-1)", (R(2, 3),)), ("np.rot90({0}, 2, axes=(0, 2))", (R(2, 1, 3),)),
        ("np.linalg.norm({0}, -1)", (S(3),)), ("np.linalg.norm({0}, -2)", (S(3),)),
        ("np.linalg.norm({0}, 'fro', axis=(0, 1))", (R(2, 3, 2),)),
        ("np.linalg.norm({0}, 1, axis=1)", (S(2, 3),)), ("np.linalg.norm({0}, np.inf, axis=0)", (SP(2, 3),)),
        ("np.linalg.norm({0}, keepdims=True)", (R(2, 3),)),
        ("np.linalg.norm({0}, 'nuc', axis=(1, 2))", (Arg((2, 2, 3), "u"),)),
        ("np.linalg.norm({0}, -1, axis=(0, 1))", (SP(3, 3),)),
        ("np.linalg.vector_norm({0}, ord=3)", (S(3),)), ("np.linalg.vector_norm({0}, ord=np.inf, keepdims=True)", (SP(2, 3),)),
        ("np.linalg.matrix_norm({0}, ord=1)", (SP(3, 3),)), ("np.linalg.matrix_norm({0}, keepdims=True)", (R(2, 3),)),
        ("np.linalg.svd({0}, full_matrices=False)[0] ** 2", (RK(3, 2),)),
        ("np.linalg.svd({0}, full_matrices=False)[2] ** 2", (RK(2, 3),)),
        ("np.linalg.svd({0})[0] ** 2", (RK(3, 3),)),
        ("np.linalg.qr({0}, mode='complete')[1] ** 2", (RK(3, 3),)),
        ("np.linalg.qr({0}, mode='r')", (RK(3, 2),)),
        ("np.linalg.eigvalsh({0}, UPLO='U')", (M(3, "sym"),)),
        ("np.linalg.pinv({0}, rcond=1e-10)", (RK(3, 2),)), ("np.linalg.pinv({0}, hermitian=True)", (M(3, "spd"),)),
        ("np.linalg.matrix_power({0}, 1)", (M(2),)),
        ("scipy.special.softmax({0}, axis=None)", (R(2, 3),)),
        ("scipy.special.logsumexp({0}, axis=None, keepdims=True)", (R(2, 3),)),
        ("scipy.special.logsumexp({0}, b={1}, keepdims=True)", (R(2, 3), P(3))),
        ("scipy.special.logsumexp([{0}, {1}])", (R(), R())),
        ("scipy.special.expit(-{0}) + scipy.special.log_expit({0})", (R(3),)),
        ("scipy.linalg.solve({0}, {1}, assume_a='pos')", (M(3, "spd"), R(3))),
        ("scipy.linalg.cholesky({0}, overwrite_a=False)", (M(3, "spd"),)),
        ("scipy.linalg.solve_triangular({0}, {1}, unit_diagonal=True)", (M(3), R(3))),
        ("scipy.linalg.solve_triangular({0}, {1}, trans=1, lower=True)", (M(3), R(3))),
        ("scipy.linalg.solve_triangular({0}, {1}, trans='C')", (M(3), R(3))),
        ]:
    add(call, *args)
# lists and tuples built in the function, where NumPy takes an array
for fn in ["np.exp", "np.sum", "np.mean", "np.prod", "np.max", "np.linalg.norm", "np.var",
           "np.std", "np.cumsum", "np.sort", "np.square", "np.log", "np.sqrt", "np.abs",
           "scipy.special.logsumexp", "scipy.special.softmax", "np.array", "np.cumprod",
           "np.average", "np.reciprocal", "np.diff"]:
    add(f"{fn}([{{0}}, {{1}}, 0.7])", P(), P(lo=2.5, hi=3.0), second=fn in ("np.var", "np.square"))
for call in ["np.dot([{0}, {1}], [{0}, 2.0])", "np.where([True, False], [{0}, {1}], 0.0)",
             "np.maximum([{0}, {1}], 1.0)", "np.multiply([{0}, {1}], 2)",
             "np.multiply(({0}, {1}), 3)", "np.add([{0}, {1}], [1.0, 2.0])",
             "np.add([{0}, {1}], [{1}, {0}])", "np.linalg.inv([[{0}, 0.1], [0.2, {1}]])",
             "np.linalg.det([[{0}, 0.1], [0.2, {1}]])", "np.reshape([{0}, {1}], (2, 1))",
             "np.concatenate([[{0}], [{1}]])", "np.stack([{0}, {1}])", "np.outer([{0}, {1}], [1.0, {0}])",
             "np.clip([{0}, {1}], 1.0, 2.7)", "np.power([{0}, {1}], 2)", "np.subtract(2, [{0}, {1}])",
             "np.tile([{0}, {1}], 2)", "np.repeat([{0}, {1}], 2)", "np.flip([{0}, {1}])",
             "np.mean(np.multiply([{0}, {1}], 2))", "np.mean(np.add([{0}, {1}], [{1}, {0}]))",
             "np.einsum('i,i', [{0}, {1}], [{1}, 2.0])", "np.kron([{0}, {1}], [1.0, 2.0])",
             "np.cross([{0}, {1}, 1.0], [1.0, {0}, 2.0])", "np.trace([[{0}, 1.0], [2.0, {1}]])",
             "scipy.special.xlogy([{0}, {1}], 2.0)", "np.arctan2([{0}, {1}], 2.0)"]:
    add(call, P(), P(lo=2.5, hi=3.0), second=call.startswith(("np.mean(", "np.linalg.inv")))
add("t = [{0}, {1}]\nnp.sum(np.square(t)) + t[0] * np.mean(t)", P(), P(), second=True)
add("t = ({0}, {1})\nnp.exp(t) * 2 + np.array(t)", R(2), R(2), second=True)
add("np.cross({0}, {1})", R(3), R(3), second=True)
add("np.cross({0}, {1})", R(2, 3), R(2, 3), second=True)
add("np.linalg.pinv({0}, hermitian=True)", M(3, "spd"))
for call in ["np.kron({0}, {1})", "np.append({0}, {1})", "np.inner({0}, {1})",
             "np.tensordot({0}, {1}, 0)", "np.broadcast_to({0}, (2, 3)) * {1}",
             "np.expand_dims({0}, 0) * {1}", "np.reshape({0}, (1, 1)) * {1}", "np.ravel({0}) * {1}",
             "np.transpose({0}) * {1}", "np.average({0}) * {1}", "np.ptp({0}) + {1}",
             "np.var({0}) + {1}", "scipy.special.logsumexp({0}) * {1}",
             "scipy.special.softmax({0}) * {1}", "np.clip({0}, -0.5, 0.5) * {1}",
             "np.where({0} > 0, {0}, {1})", "np.maximum({0}, {1})", "np.dot({1}, {0})",
             "np.multiply.outer({0}, {1})", "np.linalg.norm({1}) * {0}", "np.hypot({0}, {1})",
             "np.sum({0} * {1}, axis=0)", "np.mean({0} + {1}, axis=-1)", "np.cumsum({0} * {1})"]:
    add(call, R(), R(3))
for call in ["np.put_along_axis({0}, np.array([[0], [1]]), 1.0, axis=1)",
             "np.fill_diagonal({0}, 1.0)", "np.copyto({0}, 1.0)", "np.place({0}, {0} > 0, 1.0)",
             "np.putmask({0}, {0} > 0, 1.0)", "np.put({0}, [0], 1.0)"]:
    add(f"y = {{0}} * 1.0\n{call.replace('{0}', 'y')}\ny * {{0}}", R(2, 2))
add("np.full((2, 3), {0}) * {1}", R(), R(3))
add("np.full((2, 3), {0})", R(3))
add("np.full_like({1}, {0}) + np.full_like({1}, 2.0) * {1}", R(), R(2, 3))
add("np.linspace({0}, {1}, 5)", R(), R(lo=2.0, hi=3.0), second=True)
add("np.linspace({0}, 2.0, 4, endpoint=False)", R(3))
add("np.arange({0}, 2.5, 1.0) ** 2", R(lo=0.2, hi=0.4))
add("np.logspace({0}, {1}, 4)", R(), R(lo=1.0, hi=2.0))
add("np.geomspace({0}, {1}, 4)", P(), P(lo=3.0, hi=4.0))
for call, args in [  # order 2 on mixed forms
        ("np.sum({0}, 0, None, None, True) * {0}", (R(2, 3),)),
        ("np.linalg.cholesky({0})", (M(2, "spd", batch=(2,)),)),
        ("np.linalg.eigh({0})[0]", (M(2, "sym", batch=(2,)),)),
        ("np.linalg.solve({0}, {1})", (M(2, batch=(3,)), R(3, 2, 2))),
        ("scipy.special.logsumexp({0}, b={1}, axis=0)", (R(2, 3), P(2, 1))),
        ("np.max([{0}, {1}])", (R(lo=0.5, hi=1.0), R(lo=-1.0, hi=0.0))),
        ("np.stack([{0}, {1}, {0} * {1}])", (R(), R())),
        ("{0}[np.argsort({0})] * {0}", (SP(4),)),
        ("np.linalg.slogdet({0}).logabsdet", (M(3),)), ("{0}.mT @ {0}", (R(2, 3, 2),)),
        ("{0}.real * {0}", (R(3),)),
        ]:
    add(call, *args, second=True)

for name, gen in [("acos", lambda: R(lo=-0.8, hi=0.8)), ("asin", lambda: R(lo=-0.8, hi=0.8)),
                  ("atan", R), ("acosh", lambda: R(lo=1.2, hi=3.0)), ("asinh", R),
                  ("atanh", lambda: R(lo=-0.8, hi=0.8)), ("cbrt", S), ("cosh", R), ("sinh", R),
                  ("tan", R), ("degrees", R), ("radians", R), ("erfc", R), ("exp2", R),
                  ("log10", P), ("log2", P)]:
    add(f"math.{name}({{0}})", gen())
add("np.sum(np.asarray(list({0})) * np.array(tuple({0})))", R(3))
add("list(({0}, {1}))[1] * tuple([{0}, {1}])[0]", R(2), R(2))
add("np.asanyarray({0}) + np.ascontiguousarray({0}.T)", R(3, 3))
add("np.degrees({0}) + np.radians({0})", R(3))
add("np.linalg.matrix_transpose({0})", R(2, 3, 2))
add("scipy.special.cosdg({0}) + scipy.special.tandg({0}) + scipy.special.cotdg({1})",
    R(3, lo=-30.0, hi=30.0), R(3, lo=20.0, hi=70.0))

# --------------------------------------------------------------------------- np.fft

group("fft")  # complex intermediates of real arguments (docs/conventions.md)
add("np.real(np.fft.fft({0}))", R(6))
add("np.abs(np.fft.fft({0}, 8))", R(5), second=True)
add("np.imag(np.fft.ifft({0}, norm='ortho'))", R(6))
add("np.abs(np.fft.rfft({0}, axis=0)) + 0.1", R(5, 2), second=True)
add("np.fft.irfft(np.fft.rfft({0}) * {1}, 8)", R(8), R(5), second=True)
add("np.fft.irfft({0} * (1.0 - 0.5j), 7, norm='forward')", R(5))
add("np.real(np.fft.fft2({0}) * 1j)", R(3, 4))
add("np.imag(np.fft.ifft2({0}, s=(4, 4)))", R(3, 4))
add("np.abs(np.fft.fftn({0}, axes=(0,)))", R(3, 4))
add("np.real(np.fft.ifftn({0}, norm='forward'))", R(2, 3))
add("np.angle(np.fft.rfftn({0}) + 0.5)", R(3, 4))
add("np.fft.irfftn({0} * (1 + 2j), s=(3, 4), axes=(0, 1))", R(3, 3))
add("np.abs(np.fft.rfft2({0}, s=(4, 6)))", R(3, 4), second=True)
add("np.fft.irfft2(np.fft.rfft2({0}) * {1})", R(4, 6), R(4, 4))
add("np.fft.fftshift({0}, axes=0) * np.fft.ifftshift({0})", R(3, 4), second=True)
add("np.real_if_close(np.fft.ifft(np.fft.fft({0})))", R(4))
add("z = np.fft.fft({0})\nz.imag * np.conj(z).real", R(5))


# --------------------------------------------------------------------------- user code

group("user")
add("h = {0}\nfor W in ({1}, {2}):\n    h = np.tanh(h @ W)\nh", R(2, 3), R(3, 3), R(3, 2), second=True)
add("h = {0}\nfor W in ({1}, {2}):\n    h = np.tanh(h @ W)\nh", R(2, 3), R(3, 3), R(3, 3), second=True)
add("params = [({1}, {2}), ({1}.T, {3})]\nh = {0}\nfor W, b in params:\n    h = np.maximum(h @ W + b, 0.1 * (h @ W + b))\nh",
    R(2, 3), R(3, 2, lo=0.5, hi=1.0), R(2, lo=0.5, hi=1.0), R(3, lo=0.5, hi=1.0))
add("f = lambda z: np.sum(z ** 2) / z.size\nf({0}) * {0} + f(np.sin({0}))", R(2, 3), second=True)
add("def g(z):\n    return np.exp(z) * {1}\ng({0}) + g({0}.T).T", R(3, 3), R(3))
add("total = 0.0\nfor i in range({0}.shape[0]):\n    print('row', i)\n    total = total + scipy.special.logsumexp({0}[i])\ntotal",
    R(3, 4), second=True)
add("out = np.zeros_like({0})\nfor i in range(3):\n    out[i] = {0}[i] * {0}[(i + 1) % 3]\nout", R(3))
add("x = {0}.copy()\nx[0] = 2.0 * x[1]\nx[1:] *= {1}\nnp.linalg.norm(x)", R(3), R(2))
add("ys = []\nfor k in range(3):\n    ys.append(np.cos(k * {0}))\nnp.stack(ys)", R(2))
add("logits = {0} @ {1}\nlogits - scipy.special.logsumexp(logits, axis=1, keepdims=True)", R(2, 3), R(3, 4), second=True)
add("mu = {0}.mean(axis=0)\nsd = {0}.std(axis=0)\n({0} - mu) / sd", R(4, 2), second=True)
add("cov = {0}.T @ {0} / 4.0 + np.eye(2)\nsign, logdet = np.linalg.slogdet(cov)\nlogdet - np.trace(np.linalg.solve(cov, {1}))", R(4, 2), M(2, "spd"))
add("L = np.linalg.cholesky({0})\nz = scipy.linalg.solve_triangular(L, {1}, lower=True)\n-0.5 * z @ z - np.sum(np.log(np.diag(L)))", M(3, "spd"), R(3), second=True)
add("x = {0}\nwhile np.sum(x * x) < 50.0:\n    x = 1.5 * x + 0.1\nx", R(3, lo=0.5, hi=1.0))
add("x = {0} if {0} > 0 else -{0}\nx ** 3", S())


# --------------------------------------------------------------------------- the module


def build(cases: list[Case], module_name: str = "systematic_cases", seed: int = 20261204):
    """Write one function per case to a real module file, import it and draw the samples;
    returns (module, samples) with samples[n] the float arguments of case n, or an
    exception when the plain NumPy call itself fails (a wrong case, reported as such)."""
    lines = ['"""Generated by tests/rulecases.py: one function per call form."""',
             "import math", "", "import numpy as np", "import scipy.integrate", "import scipy.linalg",
             "import scipy.signal", "import scipy.special", "import scipy.stats", ""]
    for n, case in enumerate(cases):
        params, atoms = [], []
        for k, arg in enumerate(case.args):
            if arg.const:
                atoms.append(f"C{n}_{k}")
                lines.append(f"C{n}_{k} = None")
            else:
                params.append(f"x{k}")
                atoms.append(f"x{k}")
        *stmts, expr = case.call.format(*atoms).split("\n")
        body = [f"    {s}" for s in stmts]
        case.name = f"case_{n}"
        lines += [f"W{n} = None", "", "", f"def raw_{n}({', '.join(params)}):", *body,
                  f"    return {expr}", "", "", f"def case_{n}({', '.join(params)}):", *body,
                  f"    return np.sum(W{n} * ({expr}))", "", ""]
    module = import_generated(module_name, lines)
    rng = np.random.default_rng(seed)
    samples = []
    for n, case in enumerate(cases):
        values = [arg.draw(rng) for arg in case.args]
        for k, (arg, value) in enumerate(zip(case.args, values)):
            if arg.const:
                setattr(module, f"C{n}_{k}", value)
        args = tuple(v for a, v in zip(case.args, values) if not a.const)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = np.asarray(getattr(module, f"raw_{n}")(*_copies(args)))
            if not np.all(np.isfinite(out)):
                raise ValueError(f"non-finite output {out}")
            if out.dtype.kind not in "fiub":
                raise ValueError(f"output dtype {out.dtype}")
        except Exception as exc:  # noqa: BLE001 - a case whose primal fails is reported
            samples.append(exc)
            continue
        weight = rng.normal(size=out.shape)
        setattr(module, f"W{n}", float(weight) if out.ndim == 0 else weight)
        samples.append(args)
    return module, samples


def _copies(args):
    return tuple(np.array(a) if isinstance(a, np.ndarray) else a for a in args)


# --------------------------------------------------------------------------- checking


def _fd_grad(f, args, k):
    x0 = args[k]

    def at(x):
        shifted = list(_copies(args))
        shifted[k] = x
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(f(*shifted))

    if np.ndim(x0) == 0:
        return (at(x0 + EPS) - at(x0 - EPS)) / (2 * EPS)
    out = np.zeros(np.shape(x0))
    for idx in np.ndindex(out.shape):
        plus, minus = np.array(x0, dtype=float), np.array(x0, dtype=float)
        plus[idx] += EPS
        minus[idx] -= EPS
        out[idx] = (at(plus) - at(minus)) / (2 * EPS)
    return out


def _close(actual, expected, rtol) -> str:
    """'' when actual matches expected, else a description of the worst mismatch."""
    if np.shape(actual) != np.shape(expected):
        return f"shape {np.shape(actual)} != {np.shape(expected)}"
    actual = np.asarray(actual, dtype=float)
    if np.allclose(actual, expected, rtol=rtol, atol=ATOL):
        return ""
    err = np.abs(actual - expected)
    i = np.unravel_index(np.argmax(err), np.shape(err)) if np.ndim(err) else ()
    return f"got {np.asarray(actual)[i]!r}, finite differences {np.asarray(expected)[i]!r}"


def classify(exc: BaseException) -> str:
    from tangent_src.errors import TangentError
    return "refused" if isinstance(exc, TangentError) else "CRASH"


def run_case(module, case: Case, args, second: bool = True) -> tuple[str, str]:
    """Check one case in both modes (and at order 2 when `second`); returns
    (outcome, detail), outcome one of 'ok', 'refused', 'WRONG', 'CRASH', 'BADCASE'."""
    import tangent_src
    if isinstance(args, Exception):
        return "BADCASE", f"the NumPy call fails: {args!r}"
    f = getattr(module, case.name)
    wrt = tuple(range(len(args)))
    if not wrt:
        return "BADCASE", "no float argument"
    results = []   # each mode on its own: a refusal in one must not hide the other
    for mode in ("reverse", "forward", "order 2"):
        if mode == "order 2" and not (second and case.second and results[0][0] == "ok"):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if mode == "reverse":
                    problem = _check_reverse(f, args, wrt, case.rtol)
                elif mode == "forward":
                    problem = _check_forward(f, args, case.rtol)
                else:
                    tangent_src.check_grads(f, _copies(args), order=2, rtol=case.rtol)
                    problem = ""
        except AssertionError as exc:
            results.append(("WRONG", f"{mode}: {str(exc)[:300]}"))
        except Exception as exc:  # noqa: BLE001 - every failure is classified
            results.append((classify(exc), f"{mode}: {type(exc).__name__}: {str(exc)[:300]}"))
        else:
            results.append(("WRONG", f"{mode}: {problem}") if problem else ("ok", ""))
    return min(results, key=lambda r: SEVERITY.index(r[0]))


SEVERITY = ("WRONG", "CRASH", "BADCASE", "refused", "ok")


def _check_reverse(f, args, wrt, rtol) -> str:
    import tangent_src
    call_args = _copies(args)
    grads = tangent_src.grad(f, wrt=wrt)(*call_args)
    for before, after in zip(args, call_args):
        if not np.array_equal(before, after):
            return "the gradient modified its input"
    for k in wrt:
        problem = _close(grads[k], _fd_grad(f, args, k), rtol)
        if problem:
            return f"d/dx{k}: {problem}"
    return ""


def _check_forward(f, args, rtol) -> str:
    import tangent_src
    rng = np.random.default_rng(7)
    tangents = tuple(float(rng.normal()) if np.ndim(x) == 0 else rng.normal(size=np.shape(x))
                     for x in args)
    plus = f(*(x + EPS * t for x, t in zip(args, tangents)))
    minus = f(*(x - EPS * t for x, t in zip(args, tangents)))
    value, derivative = tangent_src.jvp(f, _copies(args), tangents)
    problem = _close(value, f(*_copies(args)), 1e-10)
    if problem:
        return f"value: {problem}"
    problem = _close(derivative, (plus - minus) / (2 * EPS), rtol)
    if problem:
        return f"jvp: {problem}"
    # along every coordinate too: one random direction can agree by chance (a rule that
    # takes the max of the tangents instead of the tangent at the argmax)
    for k, x in enumerate(args):
        expected = _fd_grad(f, args, k)
        for idx in np.ndindex(np.shape(x)):
            basis = [0.0 if np.ndim(a) == 0 else np.zeros(np.shape(a)) for a in args]
            if np.ndim(x) == 0:
                basis[k] = 1.0
            else:
                basis[k][idx] = 1.0
            _, derivative = tangent_src.jvp(f, _copies(args), tuple(basis))
            problem = _close(derivative, np.asarray(expected)[idx], rtol)
            if problem:
                return f"jvp along x{k}{list(idx)}: {problem}"
    return ""


def main() -> None:  # pragma: no cover - `python tests/rulecases.py` prints every outcome
    import collections
    import sys
    import time
    module, samples = build(CASES)
    counts: collections.Counter = collections.Counter()
    start = time.time()
    for case, args in zip(CASES, samples):
        t0 = time.time()
        outcome, detail = run_case(module, case, args)
        counts[outcome] += 1
        if outcome != "ok" or "-v" in sys.argv:
            print(f"{outcome:8} {time.time() - t0:5.2f}s {case.id}  {detail}", flush=True)
    print(dict(counts), f"{time.time() - start:.0f}s")


if __name__ == "__main__":
    main()


# --------------------------------------------------------------------------- selection

# Call forms that once gave a wrong derivative or crashed (always run).
REGRESSIONS = (
    "{0} @ {1}", "np.matmul(", "np.dot(", ".mT", ".real", ".flat", ".logabsdet",
    ".eigenvalues", "np.linalg.norm({0}, 3", "np.linalg.norm({0}, 0", "norm({0}, -",
    "vector_norm({0}, ord=3)", "mode='maximum'", "mode='minimum'", "mode='median'", "[{0}, {1}",
    "([{0}, {1}", "hermitian", "returned", "np.cross(", ".trace()", ".diagonal(", ".repeat(",
    ".take(", ".swapaxes(", ".conj(", "np.cumsum([", "np.einsum({0}, [",
    "np.linalg.svd({0})[1]")


def selected(cases: list[Case], long: bool = LONG) -> list[Case]:
    """Every case with TANGENT_SRC_LONG=1; else half of them (every other one), and all
    second-order cases and regressions, to stay within a minute and a half on one core."""
    return [c for n, c in enumerate(cases)
            if long or n % 2 == 0 or c.second or any(r in c.call for r in REGRESSIONS)]


def exercised(module, cases: list[Case]) -> set:
    """The callables (and operator classes) the cases' expressions call, resolved in the
    generated module's namespace."""
    import ast
    import builtins
    import contextlib

    import gast
    ops = {ast.Add: gast.Add, ast.Sub: gast.Sub, ast.Mult: gast.Mult, ast.Div: gast.Div,
           ast.Pow: gast.Pow, ast.Mod: gast.Mod, ast.MatMult: gast.MatMult,
           ast.USub: gast.USub, ast.UAdd: gast.UAdd}
    found: set = set()
    for case in cases:
        text = case.call.format(*[f"x{k}" for k in range(len(case.args))])
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.BinOp, ast.UnaryOp)) and type(node.op) in ops:
                found.add(ops[type(node.op)])
            if not isinstance(node, ast.Call):
                continue
            with contextlib.suppress(Exception):  # methods of local values
                found.add(eval(compile(ast.Expression(node.func), "<case>", "eval"),
                               {**vars(builtins), **vars(module)}))
    return found
