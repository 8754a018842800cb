"""Differences, convolutions and rearrangements: np.diff, np.ediff1d, np.convolve,
np.correlate, scipy.signal.convolve / correlate, np.partition, np.rollaxis and
np.nan_to_num (np.real_if_close is with the complex rules, rules/fft.py).

All are linear in their array arguments (convolutions: in each one), so the tangent is the
function applied to the tangents and the adjoint the transposed map:

- np.diff is n first differences D of [prepend, a, append] along `axis`; D^T g is
  -diff(g padded with a zero at both ends), so (D^T)^n g = (-1)^n diff_n(g padded with n
  zeros), cut back into the parts prepend, a and append (`diff_span`);
- a full convolution y = a * v has adjoints correlate(g, v, 'valid') and
  correlate(g, a, 'valid'); 'same' and 'valid' results are the centre of the full one, so
  their g is first padded to the full length (`conv_widths`). correlate(a, v) is
  convolve(a, flip(v)).
- np.partition is a permutation of `a` along `axis`, found by matching the result to `a`
  (`matching_permutation`), like np.sort's argsort.
"""
from __future__ import annotations

import numpy as np

from .. import runtime as rt
from .optional import optional_module
from .registry import REGISTRY, nondifferentiable, register_template

ss = optional_module("scipy.signal")  # SciPy is optional

A, T = REGISTRY.adjoints, REGISTRY.tangents
_EARLIER = {id(t) for t in A.values()}


def _pair(key, params: str, forward: str, reverse: str) -> None:
    register_template(T, key, params, forward)  # (keywords `k=k` of a defaulted k are
    # dropped by template.py: arguments whose default differs between callees go by position)
    register_template(A, key, params, reverse)


# np.diff(a, n, axis, prepend, append); runtime diff_ends is the same with None for absent ends
_SPAN = "diff_span(a, n, axis, prepend, append, {})"
for _f in (np.diff, rt.diff_ends):
    _pair(_f, "y, a, n=1, axis=-1, prepend=None, append=None",
          "d[y] = diff_ends(d[a], n, axis, zeros_or_none(prepend), zeros_or_none(append))\n"
          "d[y] = diff_ends(zeros_like(a), n, axis, d[prepend], zeros_or_none(append))\n"
          "d[y] = diff_ends(zeros_like(a), n, axis, zeros_or_none(prepend), d[append])\n",
          "gc = (-1.0) ** n * np.diff(np.pad(d[y], axis_widths(y, axis, n)), n, axis)\n"
          f"d[a] = np.take(gc, {_SPAN.format(1)}, axis)\n"
          f"d[prepend] = sum_to(np.take(gc, {_SPAN.format(0)}, axis), np.shape(prepend))\n"
          f"d[append] = sum_to(np.take(gc, {_SPAN.format(2)}, axis), np.shape(append))\n")

# np.ediff1d(ary, to_end, to_begin) = [to_begin, diff(ravel(ary)), to_end]
_EDIFF = "np.take(d[y], ediff1d_span(ary, to_end, to_begin, {}))"
_pair(np.ediff1d, "y, ary, to_end=None, to_begin=None",
      "d[y] = np.ediff1d(d[ary], to_end=zeros_or_none(to_end), "
      "to_begin=zeros_or_none(to_begin))\n"
      "d[y] = np.ediff1d(zeros_like(ary), to_end=d[to_end], to_begin=zeros_or_none(to_begin))\n"
      "d[y] = np.ediff1d(zeros_like(ary), to_end=zeros_or_none(to_end), to_begin=d[to_begin])\n",
      f"d[ary] = np.reshape(-np.diff(np.pad({_EDIFF.format(1)}, 1)), np.shape(ary))\n"
      f"d[to_begin] = np.reshape({_EDIFF.format(0)}, np.shape(to_begin))\n"
      f"d[to_end] = np.reshape({_EDIFF.format(2)}, np.shape(to_end))\n")


def _convolution(key, params: str, conv: str, corr: str, flipped: bool) -> None:
    """y = conv(a, v, mode) (flipped: y = corr(a, v, mode) = conv(a, flip(v), mode)), with
    `conv` and `corr` the convolution and correlation of the same library."""
    a, v = params.split(", ")[1:3]
    back = f"np.flip({corr}(gf, {a}, 'valid'))" if flipped else f"{corr}(gf, {a}, 'valid')"
    _pair(key, params,
          f"d[y] = {corr if flipped else conv}(d[{a}], {v}, mode)\n"
          f"d[y] = {corr if flipped else conv}({a}, d[{v}], mode)\n",
          f"gf = np.pad(d[y], conv_widths(y, {a}, {v}))\n"
          f"d[{a}] = np.reshape({conv if flipped else corr}(gf, {v}, 'valid'), np.shape({a}))\n"
          f"d[{v}] = np.reshape({back}, np.shape({v}))\n")


_convolution(np.convolve, "y, a, v, mode='full'", "np.convolve", "np.correlate", False)
_convolution(np.correlate, "y, a, v, mode='valid'", "np.convolve", "np.correlate", True)
_SIGNAL = "y, in1, in2, mode='full', method='auto'"
_convolution(ss.convolve, _SIGNAL, "convolve_nd", "correlate_nd", False)
_convolution(ss.correlate, _SIGNAL, "convolve_nd", "correlate_nd", True)
_convolution(rt.convolve_nd, "y, a, v, mode='full'", "convolve_nd", "correlate_nd", False)
_convolution(rt.correlate_nd, "y, a, v, mode='full'", "convolve_nd", "correlate_nd", True)

# rearrangements
_PERM = "matching_permutation(a, y, axis)"
_pair(np.partition, "y, a, kth, axis=-1, kind='introselect', order=None",
      f"d[y] = np.take_along_axis(d[a], {_PERM}, axis)",
      f"d[a] = untake_along_axis(d[y], a, {_PERM}, axis)")
_pair(np.rollaxis, "y, a, axis, start=0", "d[y] = np.rollaxis(d[a], axis, start)",
      "d[a] = np.transpose(d[y], inverse_permutation(rollaxis_axes(a, axis, start)))")
# np.nan_to_num: x where finite, else the replacement value (nan, posinf, neginf)
_REPLACED = (("nan", "np.isnan(x)"), ("posinf", "np.isposinf(x)"), ("neginf", "np.isneginf(x)"))
_pair(np.nan_to_num, "y, x, copy=True, nan=0.0, posinf=None, neginf=None",
      "d[y] = np.where(np.isfinite(x), d[x], 0.0)\n" + "".join(
          f"d[y] = np.where({mask}, d[{p}], 0.0)\n" for p, mask in _REPLACED),
      "d[x] = np.where(np.isfinite(x), d[y], 0.0)\n" + "".join(
          f"d[{p}] = unbroadcast(np.where({mask}, d[y], 0.0), {p})\n" for p, mask in _REPLACED))

# np.select: choice k where condition k holds and none before it, else the default
_MASKS = "select_masks(condlist, choicelist)"
_pair(np.select, "y, condlist, choicelist, default=0",
      "d[y] = np.select(condlist, d[choicelist], 0.0)\n"
      "d[y] = np.where(np.any(select_masks(condlist, choicelist), axis=0), 0.0, d[default])\n",
      f"d[choicelist] = unbroadcast(np.where({_MASKS}, d[y], 0.0), choicelist)\n"
      f"d[default] = unbroadcast(np.where(np.any({_MASKS}, axis=0), 0.0, d[y]), default)\n")

# np.trapezoid(y, x, dx, axis) = sum(y * w, axis), w = trapezoid_weights (half the spacing on
# either side of each sample): linear in y and in dx; a varying x is refused.
_TRAP_X = "np.trapezoid: no derivative rule with respect to the sample points x"
_UNIT = "np.trapezoid(y, None, 1.0, axis) * float(x is None)"   # d/d dx (x absent)
_pair(np.trapezoid, "out, y, x=None, dx=1.0, axis=-1",
      "d[out] = np.trapezoid(d[y], x, dx, axis)\n"
      f"d[out] = d[dx] * {_UNIT}\n"
      f"d[out] = derivative_refused({_TRAP_X!r}, d[x])\n",
      "d[y] = np.expand_dims(d[out], axis) * trapezoid_weights(y, x, dx, axis)\n"
      f"d[dx] = np.sum(d[out] * {_UNIT})\n"
      f"d[x] = derivative_refused({_TRAP_X!r}, d[out])\n")
_WEIGHTS_X = "trapezoid_weights: no derivative rule with respect to x"
_pair(rt.trapezoid_weights, "w, y, x=None, dx=1.0, axis=-1",
      "d[w] = trapezoid_weights(y, None, d[dx], axis) * float(x is None)\n"
      f"d[w] = derivative_refused({_WEIGHTS_X!r}, d[x])\n",
      "d[dx] = np.sum(d[w] * trapezoid_weights(y, None, 1.0, axis)) * float(x is None)\n"
      f"d[x] = derivative_refused({_WEIGHTS_X!r}, d[w])\n")

# order statistics: quantile = sum(a * w, axis), w on the two order statistics around
# q (n - 1) (quantile_weights; piecewise constant in a, linear in q); the nan- variants
# count only the entries that are not NaN (which get weight 0, and a tangent of 0)
_QW = "quantile_weights(a, {q}, axis, method, {part}, {nan})"
_QUANTILE = ("y, a, q, axis=None, out=None, overwrite_input=False, method='linear', "
             "keepdims=False")
for _f, _q, _scale, _nan in ((np.quantile, "q", "", False),
                             (np.percentile, "q / 100.0", " * 0.01", False),
                             (np.nanquantile, "q", "", True),
                             (np.nanpercentile, "q / 100.0", " * 0.01", True)):
    _a, _ta = ("np.where(np.isnan(a), 0.0, a)", "np.where(np.isnan(a), 0.0, d[a])") if _nan \
        else ("a", "d[a]")
    _w0, _w1 = _QW.format(q=_q, part=0, nan=_nan), _QW.format(q=_q, part=1, nan=_nan)
    _pair(_f, _QUANTILE,
          f"d[y] = np.sum({_ta} * {_w0}, axis=axis, keepdims=keepdims)\n"
          f"d[y] = d[q]{_scale} * np.sum({_a} * {_w1}, axis=axis, keepdims=keepdims)\n",
          # the weights first: they refuse the unsupported forms
          f"d[a] = {_w0} * unreduce(d[y], a, axis=axis, keepdims=keepdims)\n"
          f"d[q] = np.sum(d[y] * np.sum({_a} * {_w1}, axis=axis, keepdims=keepdims)){_scale}\n")
for _f, _nan in ((np.median, False), (np.nanmedian, True)):
    _ta = "np.where(np.isnan(a), 0.0, d[a])" if _nan else "d[a]"
    _w0 = f"quantile_weights(a, 0.5, axis, 'linear', 0, {_nan})"
    _pair(_f, "y, a, axis=None, out=None, overwrite_input=False, keepdims=False",
          f"d[y] = np.sum({_ta} * {_w0}, axis=axis, keepdims=keepdims)",
          f"d[a] = {_w0} * unreduce(d[y], a, axis=axis, keepdims=keepdims)")
# (in a the weights are piecewise constant: no d[a]; in q part 0 moves with slope part 1)
_pair(rt.quantile_weights, "w, a, q, axis=None, method='linear', part=0, skipnan=False",
      "d[w] = d[q] * quantile_weights(a, q, axis, method, 1, skipnan) * float(part == 0)",
      "d[q] = np.sum(d[w] * quantile_weights(a, q, axis, method, 1, skipnan)) * "
      "float(part == 0)")

# np.cov(m) = xc xc^T / f: x the variables as rows, xc = x - row means, f = n - ddof;
# dC = (dxc xc^T + xc dxc^T) / f, and the adjoint (G + G^T) xc / f has zero row means
# already (its rows combine those of xc), so centering it again changes nothing.
_COV = "c, m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None"
_LAYOUT = "cov_layout(m, y, rowvar, bias, ddof, fweights, aweights)"
_ROWS = "transpose_if(np.atleast_2d({}), layout[0])"
_CENTRED = "{0} - np.mean({0}, axis=1, keepdims=True)"
_XC = _CENTRED.format(_ROWS.format("m")).replace("layout", _LAYOUT)
_DXC = _CENTRED.format(_ROWS.format("d[m]")).replace("layout", _LAYOUT)
register_template(T, np.cov, _COV,   # (tangent templates are one expression: inlined)
                  f"d[c] = np.reshape((({_DXC}) @ np.transpose({_XC}) + ({_XC}) @ "
                  f"np.transpose({_DXC})) / {_LAYOUT}[1], np.shape(c))\n")
register_template(A, np.cov, _COV,
                  f"layout = {_LAYOUT}\n"
                  f"xc = {_CENTRED.format(_ROWS.format('m'))}\n"
                  "g = np.reshape(d[c], (np.shape(xc)[0], np.shape(xc)[0]))\n"
                  "d[m] = np.reshape(transpose_if((g + np.transpose(g)) @ xc / layout[1], "
                  "layout[0]), np.shape(m))\n")

# np.corrcoef(x) = C / (s s^T), C = np.cov(x), s = sqrt(diag C): with u = diag(dC) / (2 diag C),
# dR = dC / (s s^T) - R (u_i + u_j), so the adjoint in C is G / (s s^T) - diag((row sums +
# column sums of G R) / (2 diag C)), then np.cov's adjoint.
_CORR = "r, x, y=None, rowvar=True"
_LAYOUT_X = "cov_layout(x, y, rowvar)"
_C = "np.atleast_2d(np.cov(x, y, rowvar))"
_S = f"np.sqrt(np.diagonal({_C}))"
_DC = (_CENTRED.format(_ROWS.format("d[x]")).replace("layout", _LAYOUT_X),
       _CENTRED.format(_ROWS.format("x")).replace("layout", _LAYOUT_X))
_DC = (f"((({_DC[0]}) @ np.transpose({_DC[1]}) + ({_DC[1]}) @ np.transpose({_DC[0]})) / "
       f"{_LAYOUT_X}[1])")
_U = f"(np.diagonal({_DC}) / (2.0 * np.diagonal({_C})))"
register_template(T, np.corrcoef, _CORR,
                  f"d[r] = np.reshape({_DC} / np.outer({_S}, {_S}) - np.reshape(r, np.shape("
                  f"{_C})) * (np.expand_dims({_U}, 1) + {_U}), np.shape(r))\n")
register_template(A, np.corrcoef, _CORR,
                  f"layout = {_LAYOUT_X}\n"
                  f"xc = {_CENTRED.format(_ROWS.format('x'))}\n"
                  "c = xc @ np.transpose(xc) / layout[1]\n"
                  "s = np.sqrt(np.diagonal(c))\n"
                  "g = np.reshape(d[r], np.shape(c))\n"
                  "h = g * np.reshape(r, np.shape(c))\n"
                  "gc = g / np.outer(s, s) - np.diag((np.sum(h, axis=1) + np.sum(h, axis=0)) / "
                  "(2.0 * np.diagonal(c)))\n"
                  "d[x] = np.reshape(transpose_if((gc + np.transpose(gc)) @ xc / layout[1], "
                  "layout[0]), np.shape(x))\n")

nondifferentiable(rt.cov_layout, rt.select_masks, rt.zeros_or_none, rt.diff_span,
                  rt.axis_widths, rt.ediff1d_span, rt.conv_widths, rt.matching_permutation,
                  rt.rollaxis_axes)

# conventions shown in docs/coverage.md (scripts/coverage.py reads NOTES of rule modules)
NOTES = {
    np.diff: "any n, axis; prepend and append (scalars or arrays) differentiated too",
    np.ediff1d: "to_begin and to_end differentiated too",
    np.convolve: "modes full, same, valid; the adjoints are correlations (np.correlate)",
    np.correlate: "modes full, same, valid; real arguments",
    ss.convolve: "n-d, modes full, same, valid (any method); adjoints are correlations",
    ss.correlate: "n-d, modes full, same, valid (any method); real arguments",
    np.partition: "a permutation of `a`, matched to the result; at ties, equal values paired "
                  "in order",
    np.select: "choices of one shape (or broadcasting); default differentiated too",
    np.trapezoid: "wrt y and dx; the sample points x refused",
    np.quantile: "method 'linear', scalar q (differentiated too); at ties, equal values "
                 "ranked in order",
    np.percentile: "method 'linear', scalar q (differentiated too); at ties, equal values "
                   "ranked in order",
    np.nanquantile: "as np.quantile over the entries that are not NaN",
    np.nanpercentile: "as np.percentile over the entries that are not NaN",
    np.nanmedian: "as np.median over the entries that are not NaN",
    np.median: "the middle value (mean of the two middle ones); at ties, ranked in order",
    np.cov: "m, rowvar, bias, ddof; a second array y and weights refused",
    np.corrcoef: "x, rowvar; a second array y refused",
    np.nan_to_num: "zero derivative at the replaced entries; nan, posinf, neginf "
                   "differentiated where they are used",
}

# the callables this module registers (tests/test_rules_gap.py checks each one)
CALLABLES = tuple(key for key, t in A.items() if id(t) not in _EARLIER)
