"""Reductions (sum, mean, prod, max, var, ...) and cumulative sums and products.

Every rule takes NumPy's positional order (`np.sum(x, 0)` binds axis) and `axis` as None,
an int, a negative int or a tuple, with `keepdims`. `unreduce(g, like, axis, keepdims)`
broadcasts a reduced gradient back to the input's shape. Products never divide: the
derivative of a product is the product of the other factors (`prod_others`, along the
last axis after `group_axes` moves the reduced axes there), so zeros are exact. Ties of
max/min share the gradient evenly; NaN entries of the nan-reductions get zero gradient.
"""
from __future__ import annotations

import numpy as np

from .registry import REGISTRY, register_template

A, T = REGISTRY.adjoints, REGISTRY.tangents

# The functions whose result has the shape of a reduction over `axis` (analysis/shapes.py).
REDUCTIONS = (np.sum, np.mean, np.max, np.min, np.amax, np.amin, np.prod, np.var, np.std,
              np.ptp, np.average, np.nansum, np.nanmean, np.nanmax, np.nanmin, np.nanprod,
              np.nanvar, np.nanstd)

_DTYPE = "y, a, axis=None, dtype=None, out=None, keepdims=False"    # sum, mean, prod, ...
_NO_DTYPE = "y, a, axis=None, out=None, keepdims=False"             # max, min, ptp
_DDOF = "y, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False"
_CUMULATIVE = "y, a, axis=None, dtype=None, out=None"
_UNREDUCE = "unreduce({g}, a, axis=axis, keepdims=keepdims)"
_NAN = "np.isnan(a)"


def _pair(key, params: str, reverse: str, forward: str) -> None:
    register_template(A, key, params, reverse)
    register_template(T, key, params, forward)


def _reduced_sum(expr: str) -> str:
    return f"np.sum({expr}, axis=axis, keepdims=keepdims)"


_pair(np.sum, _DTYPE, "d[a] = " + _UNREDUCE.format(g="d[y]"),
      "d[y] = " + _reduced_sum("d[a]"))
_pair(np.mean, _DTYPE,
      "d[a] = " + _UNREDUCE.format(g="d[y]") + " / reduced_size(a, axis=axis)",
      "d[y] = np.mean(d[a], axis=axis, keepdims=keepdims)")
_pair(np.nansum, _DTYPE,
      f"d[a] = np.where({_NAN}, 0.0, {_UNREDUCE.format(g='d[y]')})",
      "d[y] = " + _reduced_sum(f"np.where({_NAN}, 0.0, d[a])"))
_pair(np.nanmean, _DTYPE,
      f"d[a] = np.where({_NAN}, 0.0, {_UNREDUCE.format(g='d[y]')} / "
      f"np.sum(np.logical_not({_NAN}), axis=axis, keepdims=True))",
      f"d[y] = np.nanmean(np.where({_NAN}, np.nan, d[a]), axis=axis, keepdims=keepdims)")

# max and min: the gradient goes to the entries equal to the result, shared evenly.
# (A NaN entry never equals the result; its tangent, NaN or not, is dropped by np.where.)
_MASK = "extremum_mask(a, y, axis=axis, keepdims=keepdims)"
for _f in (np.max, np.min, np.amax, np.amin, np.nanmax, np.nanmin):
    _t = f"np.where({_NAN}, 0.0, d[a])" if _f in (np.nanmax, np.nanmin) else "d[a]"
    _pair(_f, _NO_DTYPE, f"d[a] = {_UNREDUCE.format(g='d[y]')} * {_MASK}",
          "d[y] = " + _reduced_sum(f"{_t} * {_MASK}"))
_SPREAD = ("(extremum_mask(a, np.max(a, axis=axis, keepdims=keepdims), axis=axis, "
           "keepdims=keepdims) - extremum_mask(a, np.min(a, axis=axis, keepdims=keepdims), "
           "axis=axis, keepdims=keepdims))")
_pair(np.ptp, _NO_DTYPE, f"d[a] = {_UNREDUCE.format(g='d[y]')} * {_SPREAD}",
      "d[y] = " + _reduced_sum(f"d[a] * {_SPREAD}"))

# Products: d prod / d a_i is the product of the other entries of a_i's slice.
_OTHERS = "ungroup_axes(prod_others(group_axes({a}, axis)), a, axis)"
_pair(np.prod, _DTYPE, f"d[a] = {_UNREDUCE.format(g='d[y]')} * {_OTHERS.format(a='a')}",
      "d[y] = " + _reduced_sum(f"d[a] * {_OTHERS.format(a='a')}"))
_ONES = f"np.where({_NAN}, 1.0, a)"   # nanprod counts NaN as 1
_pair(np.nanprod, _DTYPE,
      f"d[a] = np.where({_NAN}, 0.0, {_UNREDUCE.format(g='d[y]')} * "
      f"{_OTHERS.format(a=_ONES)})",
      "d[y] = " + _reduced_sum(f"np.where({_NAN}, 0.0, d[a]) * {_OTHERS.format(a=_ONES)}"))

# Variance and standard deviation: d var / d a = 2 (a - mean) / (n - ddof).
_CENTERED = "(a - np.mean(a, axis=axis, keepdims=True))"
_N = "(reduced_size(a, axis=axis) - ddof)"
_pair(np.var, _DDOF, f"d[a] = {_UNREDUCE.format(g='d[y]')} * {_CENTERED} * (2.0 / {_N})",
      "d[y] = " + _reduced_sum(f"d[a] * {_CENTERED}") + f" * (2.0 / {_N})")
# std = sqrt(var): d std / d a = (a - mean) / ((n - ddof) std), taken as 0 where std is 0
# (one sample, or equal entries: the subgradient of least norm, like np.linalg.norm at 0).
_INV_Y = "reciprocal_or_zero(y)"
_pair(np.std, _DDOF,
      f"d[a] = {_UNREDUCE.format(g='d[y] * ' + _INV_Y)} * {_CENTERED} / {_N}",
      "d[y] = " + _reduced_sum(f"d[a] * {_CENTERED}") + f" * {_INV_Y} / {_N}")
# NaN entries: centered values are 0 there (never NaN, so no 0 * NaN in any derivative).
_NAN_CENTERED = f"np.where({_NAN}, 0.0, a - np.nanmean(a, axis=axis, keepdims=True))"
_NAN_N = f"(np.sum(np.logical_not({_NAN}), axis=axis, keepdims={{keep}}) - ddof)"
_pair(np.nanvar, _DDOF,
      f"d[a] = {_UNREDUCE.format(g='d[y]')} * {_NAN_CENTERED} * "
      f"(2.0 / {_NAN_N.format(keep='True')})",
      "d[y] = " + _reduced_sum(f"np.where({_NAN}, 0.0, d[a]) * {_NAN_CENTERED}") +
      f" * (2.0 / {_NAN_N.format(keep='keepdims')})")
_pair(np.nanstd, _DDOF,
      f"d[a] = {_UNREDUCE.format(g='d[y] * ' + _INV_Y)} * {_NAN_CENTERED} / "
      f"{_NAN_N.format(keep='True')}",
      "d[y] = " + _reduced_sum(f"np.where({_NAN}, 0.0, d[a]) * {_NAN_CENTERED}") +
      f" * {_INV_Y} / {_NAN_N.format(keep='keepdims')}")

# np.average(a, axis, weights): sum(a * w) / sum(w) with w shaped to broadcast against a.
_W = "average_weights(weights, a, axis)"
_AVERAGE = "y, a, axis=None, weights=None, *, keepdims=False"  # returned=True: refused
register_template(A, np.average, _AVERAGE,
                  f"w = {_W}\n"
                  "g = unreduce(d[y], a, axis=axis, keepdims=keepdims) / "
                  "np.sum(w, axis=axis, keepdims=True)\n"
                  "d[a] = g * w\n"
                  "d[weights] = np.reshape(unbroadcast(g * (a - unreduce(y, a, axis=axis, "
                  "keepdims=keepdims)), w), np.shape(weights))\n")
register_template(T, np.average, _AVERAGE,
                  f"d[y] = np.sum(d[a] * {_W}, axis=axis, keepdims=keepdims) / "
                  f"np.sum({_W}, axis=axis, keepdims=keepdims)\n"
                  "d[y] = np.sum(average_weights(d[weights], a, axis) * (a - unreduce(y, a, "
                  "axis=axis, keepdims=keepdims)), axis=axis, keepdims=keepdims) / "
                  f"np.sum({_W}, axis=axis, keepdims=keepdims)\n")

# Cumulative sums (linear) and products. axis=None works on the flattened array.
_pair(np.cumsum, _CUMULATIVE, "d[a] = cumsum_t(d[y], a, axis)",
      "d[y] = np.cumsum(d[a], axis=axis)")
_pair(np.nancumsum, _CUMULATIVE, f"d[a] = np.where({_NAN}, 0.0, cumsum_t(d[y], a, axis))",
      f"d[y] = np.cumsum(np.where({_NAN}, 0.0, d[a]), axis=axis)")
_pair(np.cumulative_sum, "y, a, axis=None, dtype=None, out=None",
      "d[a] = cumsum_t(d[y], a, axis)", "d[y] = np.cumulative_sum(d[a], axis=axis)")

# y_i = prod_{k <= i} a_k is the product along the last axis of masked_rows(a, 1.0,
# "prefix") (row i keeps a_k for k <= i, ones elsewhere), so its derivative is again a
# product of the other factors.
_PREFIX = "prod_others(masked_rows(group_axes({a}, axis), 1.0, 'prefix'))"
_CUMPROD_REV = ("g = group_axes(d[y], axis)\n"
                "d[a] = {mask}ungroup_axes(masked_rows_t(np.reshape(g, np.shape(g) + (1,)) * "
                "{prefix}, 'prefix'), a, axis){close}\n")
_CUMPROD_FWD = ("d[y] = ungroup_axes(np.sum(masked_rows(group_axes({t}, axis), 0.0, 'prefix') "
                "* {prefix}, axis=-1), y, axis)")
for _f in (np.cumprod, np.cumulative_prod):
    _pair(_f, _CUMULATIVE,
          _CUMPROD_REV.format(mask="", prefix=_PREFIX.format(a="a"), close=""),
          _CUMPROD_FWD.format(t="d[a]", prefix=_PREFIX.format(a="a")))
_pair(np.nancumprod, _CUMULATIVE,
      _CUMPROD_REV.format(mask=f"np.where({_NAN}, 0.0, ", prefix=_PREFIX.format(a=_ONES),
                          close=")"),
      _CUMPROD_FWD.format(t=f"np.where({_NAN}, 0.0, d[a])", prefix=_PREFIX.format(a=_ONES)))
