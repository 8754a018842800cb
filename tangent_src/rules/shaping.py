"""Shape and indexing functions: reshaping, joining and splitting, repeating, reordering,
padding, gathering, sorting, and building arrays from computed values.

All of these are linear in the array arguments: the tangent is the function applied to the
tangents, the adjoint the transposed map (`pieces`, `untile`, `unrepeat`, `unpad`,
`untake`, `untake_along_axis`, `unarray` in runtime/, which add up repeated elements).
Sequence arguments (`np.concatenate((a, b))`) are tuples in the core language, and their
adjoints tuples of adjoints. np.sort is np.take_along_axis with the (constant) argsort
permutation. Integer index arguments and shapes are not differentiated.
"""
from __future__ import annotations

import numpy as np

from .registry import REGISTRY, register_template

A, T = REGISTRY.adjoints, REGISTRY.tangents
_EARLIER = {id(t) for t in A.values()}


def _linear(key, params: str, forward: str, reverse: str) -> None:
    """A rule pair for a function linear in its first argument (the second name in
    `params`); `{t}` in `forward` stands for that argument's tangent."""
    arg = params.split(",")[1].strip()
    register_template(T, key, params, f"d[y] = {forward.format(t=f'd[{arg}]')}")
    register_template(A, key, params, f"d[{arg}] = {reverse}")


_linear(np.reshape, "y, a, shape=None, order='C', copy=None",
        "np.reshape({t}, np.shape(y), order=order)",
        "np.reshape(d[y], np.shape(a), order=order)")
_linear(np.ravel, "y, a, order='C'",
        "np.ravel({t}, order=order)", "np.reshape(d[y], np.shape(a), order=order)")
_linear(np.transpose, "y, a, axes=None",
        "np.transpose({t}, axes)", "np.transpose(d[y], inverse_permutation(axes))")
_linear(np.swapaxes, "y, a, axis1, axis2",
        "np.swapaxes({t}, axis1, axis2)", "np.swapaxes(d[y], axis1, axis2)")
_linear(np.moveaxis, "y, a, source, destination",
        "np.moveaxis({t}, source, destination)", "np.moveaxis(d[y], destination, source)")
_linear(np.expand_dims, "y, a, axis",
        "np.expand_dims({t}, axis)", "np.reshape(d[y], np.shape(a))")
_linear(np.squeeze, "y, a, axis=None",
        "np.squeeze({t}, axis=axis)", "np.reshape(d[y], np.shape(a))")
_linear(np.broadcast_to, "y, array, shape, subok=False",
        "np.broadcast_to({t}, shape)", "sum_to(d[y], np.shape(array))")
for _f in ("atleast_1d", "atleast_2d", "atleast_3d"):
    _linear(getattr(np, _f), "y, a", f"np.{_f}({{t}})", "np.reshape(d[y], np.shape(a))")
_linear(np.flip, "y, m, axis=None", "np.flip({t}, axis=axis)", "np.flip(d[y], axis=axis)")
_linear(np.fliplr, "y, m", "np.fliplr({t})", "np.fliplr(d[y])")
_linear(np.flipud, "y, m", "np.flipud({t})", "np.flipud(d[y])")
_linear(np.roll, "y, a, shift, axis=None",
        "np.roll({t}, shift, axis=axis)", "np.roll(d[y], np.negative(shift), axis=axis)")
_linear(np.rot90, "y, m, k=1, axes=(0, 1)",
        "np.rot90({t}, k, axes=axes)", "np.rot90(d[y], -k, axes=axes)")
_linear(np.tile, "y, A, reps", "np.tile({t}, reps)", "untile(d[y], A, reps)")
_linear(np.repeat, "y, a, repeats, axis=None",
        "np.repeat({t}, repeats, axis=axis)", "unrepeat(d[y], a, repeats, axis)")
_linear(np.take, "y, a, indices, axis=None",
        "np.take({t}, indices, axis=axis)", "untake(d[y], a, indices, axis)")
_linear(np.take_along_axis, "y, arr, indices, axis=-1",
        "np.take_along_axis({t}, indices, axis=axis)",
        "untake_along_axis(d[y], arr, indices, axis)")
_SORTED = "np.argsort(a, axis=axis, kind=kind, stable=stable)"
_linear(np.sort, "y, a, axis=-1, kind=None, order=None, stable=None",
        f"np.take_along_axis({{t}}, {_SORTED}, axis=axis)",
        f"untake_along_axis(d[y], a, {_SORTED}, axis)")
_linear(np.split, "y, ary, indices_or_sections, axis=0",
        "np.split({t}, indices_or_sections, axis=axis)", "np.concatenate(d[y], axis=axis)")
_linear(np.array_split, "y, ary, indices_or_sections, axis=0",
        "np.array_split({t}, indices_or_sections, axis=axis)",
        "np.concatenate(d[y], axis=axis)")
_linear(np.unstack, "y, x, axis=0", "np.unstack({t}, axis=axis)", "np.stack(d[y], axis=axis)")
for _f, _join in (("hsplit", "hstack"), ("vsplit", "vstack"), ("dsplit", "dstack")):
    _linear(getattr(np, _f), "y, ary, indices_or_sections",
            f"np.{_f}({{t}}, indices_or_sections)", f"np.{_join}(d[y])")
register_template(T, np.compress, "y, condition, a, axis=None",
                  "d[y] = np.compress(condition, d[a], axis=axis)")
register_template(A, np.compress, "y, condition, a, axis=None",
                  "d[a] = untake(d[y], a, np.flatnonzero(condition), axis)")
register_template(T, np.extract, "y, condition, arr", "d[y] = np.extract(condition, d[arr])")
register_template(A, np.extract, "y, condition, arr",
                  "d[arr] = untake(d[y], arr, np.flatnonzero(condition))")

# sequences of arrays (tuples in the core language; their adjoints are tuples of adjoints)
_JOIN = "y, arrays, axis=0, out=None, dtype=None, casting='same_kind'"
_linear(np.concatenate, _JOIN,  # np.concat is np.concatenate, np.permute_dims np.transpose
        "np.concatenate({t}, axis=axis)", "pieces(d[y], arrays, 'concatenate', axis)")
_linear(np.stack, _JOIN, "np.stack({t}, axis=axis)", "pieces(d[y], arrays, 'stack', axis)")
for _f, _params in (("hstack", "y, tup, dtype=None, casting='same_kind'"),
                    ("vstack", "y, tup, dtype=None, casting='same_kind'"),
                    ("dstack", "y, tup"), ("column_stack", "y, tup")):
    _linear(getattr(np, _f), _params, f"np.{_f}({{t}})", f"pieces(d[y], tup, '{_f}')")

register_template(T, np.append, "y, arr, values, axis=None",
                  "d[y] = np.append(d[arr], np.zeros(np.shape(values)), axis=axis)\n"
                  "d[y] = np.append(np.zeros(np.shape(arr)), d[values], axis=axis)\n")
register_template(A, np.append, "y, arr, values, axis=None",
                  "p = pieces(d[y], (arr, values), 'concatenate', axis)\n"
                  "d[arr] = p[0]\nd[values] = p[1]\n")

# np.pad: linear in the array; a scalar constant_values enters the border
register_template(T, np.pad, "y, array, pad_width, mode='constant', constant_values=0",
                  "d[y] = np.pad(pad_checked(d[array], mode), pad_width, mode=mode)\n"
                  "d[y] = d[constant_values] * (1.0 - np.pad(np.ones(np.shape(array)), "
                  "pad_width))\n")
register_template(A, np.pad, "y, array, pad_width, mode='constant', constant_values=0",
                  "d[array] = unpad(d[y], array, pad_width, mode)\n"
                  "d[constant_values] = np.sum(d[y]) - np.sum(unpad(d[y], array, pad_width))\n")

# arrays built from computed values: np.array([a, b]), np.array([[a, b], [c, d]]), np.asarray
_linear(np.array, "y, object, dtype=None, copy=True, order='K', subok=False",
        "np.array({t}, dtype=float)", "unarray(d[y], object)")
for _f in (np.asarray, np.asanyarray, np.ascontiguousarray):
    _linear(_f, "y, a, dtype=None", "np.asarray({t}, dtype=float)", "unarray(d[y], a)")

# conventions shown in docs/coverage.md (scripts/coverage.py reads NOTES of rule modules)
NOTES = {
    np.sort: "through the argsort permutation; at ties, the order argsort picks (kind, stable)",
    np.take: "mode='raise' only; repeated indices add up",
    np.take_along_axis: "repeated indices add up",
    np.pad: ("modes constant, edge, reflect, symmetric, wrap (reflect_type 'even'); a "
             "differentiated constant_values must be a scalar"),
    np.array: "of computed values, nested lists and tuples; the derivative is float",
    np.asarray: "of computed values, nested lists and tuples; the derivative is float",
    np.split: "pieces that are not used get zero adjoints",
    np.array_split: "pieces that are not used get zero adjoints",
    np.broadcast_to: "the adjoint sums over the broadcast axes",
    np.repeat: "the adjoint sums the copies of each element",
    np.tile: "the adjoint sums the repetitions",
}

# the callables this module registers (tests/test_rules_linalg.py checks each one)
CALLABLES = tuple(key for key, t in A.items() if id(t) not in _EARLIER)
