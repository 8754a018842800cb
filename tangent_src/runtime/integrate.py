"""scipy.integrate.odeint's derivatives: the adjoint-sensitivity method (reverse mode) and the
sensitivity equations (forward mode), each solved with odeint itself.

The dynamics `func` is the user's function; its vector-Jacobian and Jacobian-vector
products come from differentiating it with tangent_src (imported when first needed, so a
standalone module refuses these two helpers with a clear message instead of computing a
wrong value).

Notation: y(s) solves dy/ds = f(y, s, *args) from y(t0) = y0; odeint returns y at the
times t. With the cotangents g_i of the outputs y(t_i):
- the adjoint a(s) runs backwards from t_N, da/ds = -a^T df/dy, jumping by g_i at each t_i;
- d args = integral over [t0, tN] of a^T df/dargs;
- d t_i = g_i . f(y_i, t_i) for i >= 1, d t_0 = -a(t0+) . f(y0, t0), d y0 = a(t0+) + g_0.
Forward: s(s) = dy/d(eps) solves ds/ds = df/dy s + df/dargs dargs from s(t0) = dy0 -
f(y0, t0) dt0, and the output tangent is s(t_i) + f(y_i, t_i) dt_i.
"""
from __future__ import annotations

import numpy as np

# odeint's keywords that do not change the value of the solution (the Jacobian hints, the
# output options) and those passed on to the integrations of the derivatives
_PASSED_ON = ("rtol", "atol", "mxstep", "hmax", "hmin", "mxordn", "mxords")


def _refusal(message: str):
    """Raise the refusal of an odeint case (DerivativeNotImplementedError in the package)."""
    from .refusals import refuse
    refuse(message)


def _leaves(tree) -> list:
    """The leaves of a pytree (tuples, lists and dicts, in sorted key order), in order: an
    entry of `args` may be a structure such as a list of (W, b) layer pairs."""
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree) for leaf in _leaves(tree[k])]
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [tree]


def _leaves_like(tree, like) -> list:
    """The leaves of `tree` (a derivative of `like`) aligned with `like`'s leaves; where
    `tree` does not follow `like`'s structure (None, or a scalar zero standing for a whole
    derivative that is zero) each leaf of `like` gets 0.0."""
    if isinstance(like, dict):
        ok = isinstance(tree, dict) and sorted(tree) == sorted(like)
        return [leaf for k in sorted(like)
                for leaf in _leaves_like(tree[k] if ok else None, like[k])]
    if isinstance(like, (list, tuple)):
        ok = isinstance(tree, (list, tuple)) and len(tree) == len(like)
        return [leaf for k, item in enumerate(like)
                for leaf in _leaves_like(tree[k] if ok else None, item)]
    return [0.0 if tree is None else tree]


def _rebuild(like, leaves):
    """A pytree shaped like `like` holding the next values of the iterator `leaves`."""
    if isinstance(like, dict):
        built = {k: _rebuild(like[k], leaves) for k in sorted(like)}
        return {k: built[k] for k in like}
    if isinstance(like, (list, tuple)):
        items = [_rebuild(item, leaves) for item in like]
        if isinstance(like, list):
            return items
        return type(like)(*items) if hasattr(like, "_fields") else tuple(items)
    return next(leaves)


def _is_float(leaf) -> bool:
    """Whether a leaf is a float value (array or scalar) the derivative is taken with
    respect to; integers, strings and other objects are constants, complex is refused."""
    arr = np.asarray(leaf) if not callable(leaf) else None
    if arr is not None and arr.dtype.kind == "c":
        _refusal("the derivative of scipy.integrate.odeint with complex `args`")
    return arr is not None and arr.dtype.kind == "f"


def _float_args(args) -> list:
    """Positions in `args` of the entries holding float leaves."""
    return [k for k, value in enumerate(args) if any(_is_float(v) for v in _leaves(value))]


def _takes_exactly(func, count: int) -> bool:
    """Whether `func` has exactly `count` positional parameters, none with a default, and
    no *args: then its derivatives take their seed or tangents right after the
    arguments, and are called positionally (Transform.__call__'s fast path, about half
    the overhead of call_with on each of the integrator's many evaluations)."""
    import inspect
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return False
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return len(params) == count and all(
        p.kind in kinds and p.default is inspect.Parameter.empty for p in params)


class _Dynamics:
    """func(y, t, *args) (or func(t, y, *args) with tfirst) and its derivatives in y and
    the float args, by tangent_src's own transforms of func (built once per odeint call)."""

    def __init__(self, func, args, tfirst: bool):
        if not callable(func):
            _refusal("scipy.integrate.odeint's `func` must be a Python function")
        self.func, self.args, self.tfirst = func, tuple(args), bool(tfirst)
        self.floats = _float_args(self.args)
        # per float entry of args: its float leaves (index among its leaves, shape)
        self.leaves = {k: [(i, np.shape(v)) for i, v in enumerate(_leaves(self.args[k]))
                           if _is_float(v)] for k in self.floats}
        self.ypos = 1 if tfirst else 0
        self.wrt = (self.ypos,) + tuple(2 + k for k in self.floats)
        self._reverse = self._forward = None
        self.positional = _takes_exactly(func, 2 + len(self.args))

    def _call_args(self, y, s, args=None) -> tuple:
        args = self.args if args is None else args
        return ((s, y) if self.tfirst else (y, s)) + tuple(args)

    def value(self, y, s):
        return np.asarray(self.func(*self._call_args(y, s)), dtype=float)

    def _transform(self, mode: str):
        try:
            from ..derivative_support import make_transform
        except ImportError:  # a standalone module: no tangent_src to differentiate func
            _refusal("the derivative of scipy.integrate.odeint needs tangent_src to "
                     "differentiate `func` (not available in a standalone module)")
        return make_transform(self.func, self.wrt, mode)

    def vjp(self, y, s, cotangent) -> tuple:
        """(cotangent^T df/dy, cotangent^T df/darg_k for each float arg)."""
        if self._reverse is None:
            self._reverse = self._transform("reverse")
        if self.positional:  # the transforms' fast path: the seed after the arguments
            grads = self._reverse(*self._call_args(y, s), cotangent)
        else:
            grads = self._reverse.call_with(self._call_args(y, s), {"seed": cotangent})
        return grads if len(self.wrt) > 1 else (grads,)

    def flat_args(self, parts) -> list:
        """Each float leaf of the float args, from `parts` (one derivative per float arg,
        each a pytree like its arg), as a flat vector."""
        flat = []
        for k, part in zip(self.floats, parts):
            found = _leaves_like(part, self.args[k])
            flat.extend(np.ravel(np.broadcast_to(np.asarray(found[i], dtype=float), shape))
                        for i, shape in self.leaves[k])
        return flat

    def split_args(self, flat: np.ndarray) -> dict:
        """The inverse of `flat_args`: {position in args: pytree like that arg}, zero (0.0)
        at its leaves that are not floats."""
        out, start = {}, 0
        for k in self.floats:
            values = [0.0] * len(_leaves(self.args[k]))
            for i, shape in self.leaves[k]:
                size = int(np.prod(shape))
                values[i] = np.reshape(flat[start:start + size], shape)
                start += size
            out[k] = _rebuild(self.args[k], iter(values))
        return out

    def jvp(self, y, s, dy, dargs: dict) -> np.ndarray:
        """df/dy dy + sum_k df/darg_k dargs[k] (dargs: {position: tangent pytree} of the
        float args)."""
        if self._forward is None:
            self._forward = self._transform("forward")
        tangents = {self.ypos: dy}
        tangents.update({2 + k: t for k, t in dargs.items()})
        if self.positional and len(tangents) == len(self.wrt):  # one tangent per wrt
            ordered = [tangents[k] for k in self.wrt]
            return np.asarray(self._forward(*self._call_args(y, s), *ordered), dtype=float)
        return np.asarray(self._forward.call_with(self._call_args(y, s), tangents), dtype=float)


def _options(options: dict) -> dict:
    """odeint's keywords for the derivative's integrations; full_output is refused."""
    if options.get("full_output"):
        _refusal("the derivative of scipy.integrate.odeint with full_output=True; call it "
                 "without and differentiate the solution only")
    return {k: options[k] for k in _PASSED_ON if options.get(k) is not None}


def _vector(y0) -> np.ndarray:
    y0 = np.asarray(y0, dtype=float)
    if y0.ndim > 1:
        _refusal("the derivative of scipy.integrate.odeint with a y0 of more than one axis")
    return np.ravel(y0)


def odeint_vjp(g, y, func, y0, t, args=(), tfirst=False, full_output=0, rtol=None,
               atol=None, mxstep=0, hmax=0.0, hmin=0.0, mxordn=12, mxords=5):
    """(d y0, d t, d args) of ys = odeint(func, y0, t, args) for the cotangent g of ys,
    by integrating the state, the adjoint and the args' adjoints backwards together."""
    from scipy.integrate import odeint

    dyn = _Dynamics(func, args, tfirst)
    kwargs = _options(dict(full_output=full_output, rtol=rtol, atol=atol, mxstep=mxstep,
                           hmax=hmax, hmin=hmin, mxordn=mxordn, mxords=mxords))
    shape0, n = np.shape(y0), np.size(y0)
    t = np.asarray(t, dtype=float)
    ys = np.reshape(np.asarray(y, dtype=float), (len(t), n))
    g = np.reshape(np.broadcast_to(np.asarray(g, dtype=float), np.shape(y)), (len(t), n))
    size = sum(int(np.prod(shape)) for k in dyn.floats for _, shape in dyn.leaves[k])

    def augmented(z, s):
        yv, av = z[:n], z[n:2 * n]
        parts = dyn.vjp(yv, s, -av)
        # a part that does not depend on its argument may come back as a scalar zero
        flat = [np.ravel(np.broadcast_to(parts[0], (n,)))] + dyn.flat_args(parts[1:])
        return np.concatenate([np.ravel(dyn.value(yv, s))] + flat)

    a = g[-1].copy()
    dargs = np.zeros(size)
    dt = np.zeros(len(t))
    for i in range(len(t) - 1, 0, -1):
        dt[i] = g[i] @ np.ravel(dyn.value(ys[i], t[i]))
        if i < len(t) - 1:
            a = a + g[i]
        z0 = np.concatenate([ys[i], a, dargs])
        z = odeint(augmented, z0, np.array([t[i], t[i - 1]]), **kwargs)[-1]
        a, dargs = z[n:2 * n], z[2 * n:]
    if len(t):
        dt[0] = -a @ np.ravel(dyn.value(ys[0], t[0])) if len(t) > 1 else 0.0
    dy0 = np.reshape(a + g[0] if len(t) > 1 else g[0], shape0)
    grads = dyn.split_args(dargs)
    dargs_tuple = tuple(grads.get(k, 0.0) for k in range(len(dyn.args)))
    return dy0, dt, dargs_tuple


def odeint_jvp(func, y0, t, args, dy0, dt, dargs, tfirst=False, full_output=0, rtol=None,
               atol=None, mxstep=0, hmax=0.0, hmin=0.0, mxordn=12, mxords=5):
    """The tangent of odeint(func, y0, t, args) along (dy0, dt, dargs): the state and the
    sensitivity integrated together forwards."""
    from scipy.integrate import odeint

    dyn = _Dynamics(func, args, tfirst)
    kwargs = _options(dict(full_output=full_output, rtol=rtol, atol=atol, mxstep=mxstep,
                           hmax=hmax, hmin=hmin, mxordn=mxordn, mxords=mxords))
    y0v = _vector(y0)
    n = y0v.size
    t = np.asarray(t, dtype=float)
    dt = np.broadcast_to(np.asarray(0.0 if dt is None else dt, dtype=float), t.shape)
    dargs = () if dargs is None else tuple(dargs)
    targs = dyn.split_args(np.concatenate(
        [np.zeros(0)] + dyn.flat_args([dargs[k] if k < len(dargs) else None
                                       for k in dyn.floats])))
    dy0 = np.zeros(n) if dy0 is None else np.ravel(np.asarray(dy0, dtype=float))

    def augmented(z, s):
        yv, sv = z[:n], z[n:]
        rate = np.ravel(np.broadcast_to(dyn.value(yv, s), (n,)))
        sens = np.ravel(np.broadcast_to(dyn.jvp(yv, s, sv, targs), (n,)))
        return np.concatenate([rate, sens])

    if not len(t):
        return np.zeros((0, n))
    s0 = dy0 - np.ravel(dyn.value(y0v, t[0])) * dt[0]
    z = odeint(augmented, np.concatenate([y0v, s0]), t, **kwargs)
    out = z[:, n:].copy()
    for i in range(len(t)):
        out[i] = out[i] + np.ravel(dyn.value(z[i, :n], t[i])) * dt[i]
    return out


def odeint_second(x):
    """The derivative of odeint_vjp / odeint_jvp (a second derivative of odeint): refused."""
    _refusal("second derivatives of scipy.integrate.odeint (its rules give first "
             "derivatives only)")
    return x


HELPERS = ("odeint_vjp", "odeint_jvp", "odeint_second")
