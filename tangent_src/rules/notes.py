"""Conventions of the derivative rules, shown in docs/coverage.md (scripts/coverage.py).

NOTES maps a registered callable to one line: what its derivative does at kinks and
singular points, which arguments it differentiates, what it does not support. Other rule
modules may add entries with `NOTES.update({...})`; this module imports nothing of theirs.
"""
from __future__ import annotations

import math

import numpy as np

_ABS = "derivative sign(x): 0 at x = 0 (JAX)"
_MAX = "ties split the gradient 0.5 / 0.5 (JAX)"
_FMAX = _MAX + "; a NaN argument passes the whole gradient to the other one"
_REDUCE_EXT = "ties share the gradient evenly among the extremal entries (JAX)"
_ROUNDING = "zero derivative (piecewise constant; also zero at the jumps, as in JAX)"
_POW = ("d/da = b a^(b-1), 0 where b = 0 (also at a = 0); d/db = y log(a), only computed "
        "when b varies, 0 at a = 0 (JAX), NaN for a < 0")
_NAN = "NaN entries are ignored and get zero gradient"
_CUMPROD = ("exact with zeros (products of the other factors, no division); "
            "O(n^2) memory per slice along axis")

NOTES: dict = {
    np.abs: _ABS, np.fabs: _ABS, abs: _ABS, math.fabs: _ABS,
    np.sqrt: "derivative 0.5 / sqrt(x): +inf at x = 0 (as in JAX)",
    math.sqrt: "derivative 0.5 / sqrt(x): +inf at x = 0 (as in JAX)",
    np.cbrt: "derivative 1 / (3 cbrt(x)^2): +inf at x = 0",
    math.cbrt: "derivative 1 / (3 cbrt(x)^2): +inf at x = 0",
    np.log: "derivative 1 / x: inf at 0 (also for a Python float 0.0)",
    np.reciprocal: "derivative -1 / x^2",
    np.arcsin: "infinite derivative at x = +-1", np.arccos: "infinite derivative at x = +-1",
    np.arccosh: "infinite derivative at x = 1", np.arctanh: "infinite derivative at x = +-1",
    np.sinc: "exact at x = 0 to every order (Maclaurin series there; sinc_derivative)",
    np.conjugate: "complex values: conj of the cotangent/tangent (docs/conventions.md)",
    np.real: "complex values: cotangent g, tangent Re(dz); also x.real",
    np.clip: ("the gradient goes to the argument the value came from: `a` inside "
              "[a_min, a_max] (ends included), a_min below, a_max above; a_min/a_max may be "
              "None, scalars or arrays, also spelled min=/max="),
    np.maximum: _MAX, np.minimum: _MAX, max: _MAX, min: _MAX,
    np.fmax: _FMAX, np.fmin: _FMAX,
    np.arctan2: "undefined at (0, 0) (NaN)", math.atan2: "undefined at (0, 0) (NaN)",
    np.hypot: "0 at (0, 0), like np.linalg.norm", math.hypot: "0 at (0, 0), like np.linalg.norm",
    np.mod: "d/da = 1, d/db = -floor(a / b) (a jump where a / b is an integer)",
    np.fmod: "d/da = 1, d/db = -trunc(a / b) (a jump where a / b is an integer)",
    math.fmod: "d/da = 1, d/db = -trunc(a / b) (a jump where a / b is an integer)",
    np.power: _POW, np.float_power: _POW, pow: _POW, math.pow: _POW,
    np.where: "the condition is not differentiated; the gradient goes to the chosen branch",
    np.sum: "axis: None, int, negative or tuple; keepdims",
    np.max: _REDUCE_EXT, np.min: _REDUCE_EXT, np.amax: _REDUCE_EXT, np.amin: _REDUCE_EXT,
    np.nanmax: _REDUCE_EXT + "; " + _NAN, np.nanmin: _REDUCE_EXT + "; " + _NAN,
    np.ptp: "max - min, each with " + _REDUCE_EXT.replace(" (JAX)", ""),
    np.prod: "exact with zeros (the product of the other entries, no division)",
    np.nanprod: "exact with zeros; " + _NAN,
    np.var: "ddof", np.std: "ddof; 0 where the spread is 0 (one sample, equal entries)",
    np.nanvar: "ddof; " + _NAN, np.nanstd: "ddof; 0 where the spread is 0; " + _NAN,
    np.nansum: _NAN, np.nanmean: _NAN + "; all-NaN slices give zero gradient",
    np.average: ("weights None, of a's shape, or 1-D along an int axis (in increasing "
                 "order for a tuple); differentiates a and weights; returned=True is not "
                 "supported"),
    np.cumsum: "axis None (flattened) or int", np.nancumsum: _NAN,
    np.cumulative_sum: "include_initial is not supported",
    np.cumprod: _CUMPROD, np.nancumprod: _CUMPROD + "; " + _NAN,
    np.cumulative_prod: _CUMPROD + "; include_initial is not supported",
}

for _f in (np.sign, np.floor, np.ceil, np.round, np.around, np.rint, np.trunc, np.fix,
           np.floor_divide, math.floor, math.ceil, math.trunc, round):
    NOTES[_f] = _ROUNDING
