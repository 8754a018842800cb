"""Transforms pickle (before and after their first call) and run in multiprocessing workers.

A transform pickles as (the function by reference, wrt, options) and generates its code
again on the other side; a worker's gradients are checked against central finite
differences computed here. The functions live in tests/_pickle_mod.py, which a 'spawn'
worker imports by name.
"""
from __future__ import annotations

import multiprocessing
import pickle

import _pickle_mod as pm
import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src as ts

A = np.array([0.3, -0.5])
W = np.array([1.2, -0.4])
DA, DW = np.array([1.0, 0.5]), np.array([-0.25, 2.0])
X = np.array([0.7, -0.2, 1.1])


def _second_derivative(f, x: float) -> float:
    """d2f/dx2 by central differences of central differences (independent of tangent_src)."""
    return numerical_grad(lambda t: numerical_grad(f, (t,), eps=1e-5), (x,), eps=1e-4)


def _directional(f, args, tangents) -> float:
    """d/dt f(args + t * tangents) at t = 0, by central differences."""
    def along(t):
        return f(*(a + t * d for a, d in zip(args, tangents)))
    return numerical_grad(along, (0.0,))


def _cases():
    """(label, transform factory, call arguments, expected result, tolerance)."""
    params = pm.make_params(3)
    data = (params, pm.X_DATA, pm.Y_DATA)
    mlp_expected = numerical_grad(lambda flat: pm.mlp_loss(_unflatten(flat, params),
                                                           pm.X_DATA, pm.Y_DATA),
                                  (_flatten(params),))
    return [
        ("grad", lambda: ts.grad(pm.wiggle), (0.8,), numerical_grad(pm.wiggle, (0.8,)),
         1e-6),
        ("grad mlp", lambda: ts.grad(pm.mlp_loss), data, ("flat", mlp_expected, params),
         1e-5),
        ("value_and_grad", lambda: ts.value_and_grad(pm.wiggle), (-0.6,),
         (pm.wiggle(-0.6), numerical_grad(pm.wiggle, (-0.6,))), 1e-6),
        ("grad wrt two", lambda: ts.grad(pm.two_args, wrt=(0, 1)), (A, W),
         numerical_grad(pm.two_args, (A, W), wrt=(0, 1)), 1e-6),
        ("grad has_aux", lambda: ts.grad(pm.with_aux, has_aux=True), (X,),
         (numerical_grad(lambda x: pm.with_aux(x)[0], (X,)), np.max(X)), 1e-6),
        ("forward", lambda: ts.autodiff(pm.two_args, mode="forward", wrt=(0, 1)),
         (A, W, DA, DW), _directional(pm.two_args, (A, W), (DA, DW)), 1e-6),
        ("grad of grad", lambda: ts.grad(ts.grad(pm.wiggle)), (0.45,),
         _second_derivative(pm.wiggle, 0.45), 1e-4),
        ("forward of grad", lambda: ts.autodiff(ts.grad(pm.wiggle), mode="forward"),
         (1.3, 1.0), _second_derivative(pm.wiggle, 1.3), 1e-4),
        ("decorated", lambda: pm.dwiggle_decorated, (0.8,),
         numerical_grad(pm.wiggle, (0.8,)), 1e-6),
        ("hvp", lambda: ts.hvp(pm.wiggle), (0.6, 2.0), 2.0 * _second_derivative(pm.wiggle, 0.6),
         1e-4),
        ("hessian", lambda: ts.hessian(pm.two_args), (A, W), _hessian(pm.two_args, A, W), 1e-4),
        ("jacobian", lambda: ts.jacobian(pm.layer), (X,), _jacobian(pm.layer, X), 1e-6),
        ("jacfwd", lambda: ts.jacfwd(pm.layer), (X,), _jacobian(pm.layer, X), 1e-6),
    ]


def _hessian(f, a, w) -> np.ndarray:
    """d2f/da2 by central differences of central differences."""
    rows = []
    for i in range(a.size):
        e = np.zeros_like(a)
        e[i] = 1.0
        rows.append((numerical_grad(f, (a + 1e-4 * e, w), eps=1e-5)
                     - numerical_grad(f, (a - 1e-4 * e, w), eps=1e-5)) / 2e-4)
    return np.array(rows)


def _jacobian(f, x) -> np.ndarray:
    """d f_i / d x_j, one output component at a time, by central differences."""
    n_out = np.size(f(x))
    return np.array([numerical_grad(lambda v, i=i: f(v)[i], (x,)) for i in range(n_out)])


def _flatten(params) -> np.ndarray:
    return np.concatenate([np.ravel(p) for layer in params for p in layer])


def _unflatten(flat, like):
    out, k = [], 0
    for layer in like:
        parts = []
        for p in layer:
            parts.append(np.reshape(flat[k:k + p.size], p.shape))
            k += p.size
        out.append(tuple(parts))
    return out


def _check(label, result, expected, tol) -> None:
    if isinstance(expected, tuple) and expected and isinstance(expected[0], str):
        _, flat_expected, _ = expected  # a gradient shaped like the params list
        np.testing.assert_allclose(_flatten(result), flat_expected, rtol=tol, atol=tol,
                                   err_msg=label)
        return
    if isinstance(expected, tuple):
        assert isinstance(result, tuple) and len(result) == len(expected), label
        for r, e in zip(result, expected):
            np.testing.assert_allclose(r, e, rtol=tol, atol=tol, err_msg=label)
        return
    np.testing.assert_allclose(result, expected, rtol=tol, atol=tol, err_msg=label)


CASES = _cases()
IDS = [case[0] for case in CASES]


@pytest.mark.parametrize("label, make, args, expected, tol", CASES, ids=IDS)
def test_pickles_before_and_after_the_first_call(label, make, args, expected, tol):
    transform = make()
    before = pickle.loads(pickle.dumps(transform))
    _check(label, transform(*args), expected, tol)
    after = pickle.loads(pickle.dumps(transform))  # failed: cannot pickle 'module' object
    _check(label + " (pickled before the call)", before(*args), expected, tol)
    _check(label + " (pickled after the call)", after(*args), expected, tol)
    # and again after the unpickled copy ran
    _check(label + " (pickled twice)", pickle.loads(pickle.dumps(after))(*args), expected,
           tol)


def test_pickle_holds_no_generated_code():
    """What is pickled is the recipe, not the module: no generated source, no file path."""
    df = ts.grad(pm.wiggle)
    df(0.3)
    data = pickle.dumps(df)
    assert b"wiggle" in data
    assert b"def " not in data and b".py" not in data and b"tangent_src_generated" not in data
    assert len(data) < 400


def test_decorated_transform_pickles_as_its_name():
    data = pickle.dumps(pm.dwiggle_decorated)
    assert pickle.loads(data) is pm.dwiggle_decorated


def test_a_lambda_still_refuses_to_pickle_like_any_lambda():
    """By-reference pickling cannot send a lambda: pickle's own error, not a silent copy."""
    df = ts.grad(lambda x: x * x)
    df(1.0)
    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(df)


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_multiprocessing_pool(method):
    """Pool.map with transforms built (and already called) in the parent: each worker
    unpickles them, regenerates the code and must match finite differences."""
    transforms = []
    for _, make, args, _, _ in CASES:
        transform = make()
        transform(*args)  # the parent has generated (and loaded) its code
        transforms.append(transform)
    jobs = [(t, case[2]) for t, case in zip(transforms, CASES)]
    xs = [0.1, 0.9, -1.4]
    df = ts.grad(pm.wiggle)
    df(0.5)
    with multiprocessing.get_context(method).Pool(2) as pool:
        results = pool.starmap(pm.apply, jobs)
        mapped = pool.map(df, xs)  # the usage: Pool.map(df, xs)
    for (label, _, _, expected, tol), result in zip(CASES, results):
        _check(f"{label} in a {method} worker", result, expected, tol)
    for x, g in zip(xs, mapped):
        _check(f"Pool.map(df) at {x}", g, numerical_grad(pm.wiggle, (x,)), 1e-6)
