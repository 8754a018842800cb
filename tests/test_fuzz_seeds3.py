"""Regressions from the differential fuzzer (issue 10), written as user code and checked
against central finite differences (reverse, value, forward and hvp where relevant).

Class 1 -- a value a nested loop leaves (fuzz seed 22380): in a loop body, a name that
an inner for/while loop first assigns (so it is not a loop-carried copy-back), or the
inner loop's target, is read by the rest of the outer body. The adjoint of the rest runs
before the inner loop's adjoint restores the name, so it read the value of a later outer
iteration: reverse mode was silently off while jvp was right.
"""
import inspect

import numpy as np
from fdcheck import numerical_grad

import tangent_src
from tangent_src.errors import TangentError

RTOL, ATOL = 1e-6, 1e-8


def _grad_and_hvp_match(f, args, v):
    """grad, value_and_grad and hvp of f at args against finite differences."""
    expected = numerical_grad(f, args)
    np.testing.assert_allclose(tangent_src.grad(f)(*args), expected, rtol=RTOL, atol=ATOL)
    value, g = tangent_src.value_and_grad(f)(*args)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)
    np.testing.assert_allclose(g, expected, rtol=RTOL, atol=ATOL)
    # hvp: central differences of the (checked) gradient along v
    eps = 1e-5
    grad = tangent_src.grad(f)
    plus = (args[0] + eps * v,) + tuple(args[1:])
    minus = (args[0] - eps * v,) + tuple(args[1:])
    hv = (grad(*plus) - grad(*minus)) / (2 * eps)
    np.testing.assert_allclose(tangent_src.hvp(f)(*args, v), hv, rtol=1e-5, atol=1e-7)


# -- class 1: values a nested loop leaves ----------------------------------------------

def refine(h, params):
    """An MLP encoder, then a few refinement steps, each with an inner fixed-point loop
    whose result `v` the rest of the step reads (the shape of fuzz seed 22380)."""
    for W, b in params:
        h = np.tanh(W @ h + b)
    for step in range(3):
        for _ in range(2):
            v = np.outer(np.array([0.3, -0.7]), h) ** 2
        k = np.mean(np.sin(v)) * (0.3 * step)
        h = h + 0.5 * np.tanh(h + k)
        out = v @ h
    return np.sum(out ** 2)


def newton_inside_a_loop(x):
    """Each outer step runs a short while loop (a few Newton-like updates of t from the
    current x), then uses the t it left."""
    total = 0.0
    for _ in range(3):
        n = 0
        while n < 2:
            t = np.sin(x) * (n + 1.0)
            n += 1
        total = total + np.sum(np.cos(t) * x)
        x = 0.9 * x + 0.1
    return total


def scale_by_last_index(x):
    """The inner loop's index is read after it (the last value it took)."""
    for layer in range(3):
        for j in range(1, layer + 2):  # noqa: B007 (j is read after the loop: the point)
            x = x * 1.1
        x = np.sin(x) * j
    return np.sum(x ** 2)


def _params(rng):
    return [(rng.normal(size=(3, 3)) * 0.5, rng.normal(size=3) * 0.5) for _ in range(2)]


def test_value_first_assigned_in_a_nested_loop_is_restored_for_the_rest_of_the_body():
    rng = np.random.default_rng(0)
    params = _params(rng)
    h = rng.normal(size=3)

    def loss(h):
        return refine(h, params)

    _grad_and_hvp_match(loss, (h,), rng.normal(size=3))


def test_value_first_assigned_in_a_nested_while_loop_is_restored():
    rng = np.random.default_rng(1)
    _grad_and_hvp_match(newton_inside_a_loop, (rng.normal(size=3),), rng.normal(size=3))


def test_inner_loop_index_read_after_the_loop():
    rng = np.random.default_rng(2)
    _grad_and_hvp_match(scale_by_last_index, (rng.normal(size=3),), rng.normal(size=3))


def test_params_loop_value_read_after_nested_loop_gradient_wrt_params():
    # the gradient with respect to the parameters goes through the same tapes
    rng = np.random.default_rng(3)
    params = _params(rng)
    h = rng.normal(size=3)
    W0 = params[0][0]

    def loss(W0):
        return refine(h, [(W0, params[0][1])] + params[1:])

    np.testing.assert_allclose(tangent_src.grad(loss)(W0), numerical_grad(loss, (W0,)),
                               rtol=RTOL, atol=ATOL)


# -- class 2: a 0-d array is updated in place, a number is rebound ---------------------
# numpy's `z += v` on a 0-d ndarray writes into it, so every name sharing it sees the
# change; on a Python or NumPy number it rebinds z. Shape inference gives both the scalar
# class, so the lowering's `z = z + v` was taken as exact for a 0-d array too. Now a 0-d
# array argument has a class of its own, np.where's result, views and user-call results
# may be 0-d arrays, and such an update of a value another live name shares is refused
# where it is written (as for any array), in every transform; numbers keep working.

def shifted_product(x):
    z = x
    z += 1.0
    return x * z


def leaky_relu_then_bump(x):
    a = np.where(x > 0, x, 0.1 * x)   # a 0-d array, even for a float x
    z = a
    z += 0.5
    return a * z


def bump(p):
    q = p
    q += 1.0
    return p * q


def calls_bump(x):
    y = np.sin(x)
    return bump(x) * y


def squeezed_update(v):
    z = np.reshape(v, ())              # a 0-d view of a one-element vector
    z += 1.0
    return np.sum(v * z)


def _transforms(f, args, tangent):
    return {
        "grad": lambda: tangent_src.grad(f)(*args),
        "value_and_grad": lambda: tangent_src.value_and_grad(f)(*args),
        "jvp": lambda: tangent_src.jvp(f, args, (tangent,)),
        "hvp": lambda: tangent_src.hvp(f)(*args, tangent),
    }


def _refused_at(f, args, tangent, line):
    first = inspect.getsourcelines(f)[1]
    for name, run in _transforms(f, args, tangent).items():
        try:
            run()
        except TangentError as err:
            assert err.lineno == first + line and err.filename == __file__, (name, err)
        else:
            raise AssertionError(f"{name} of {f.__name__} accepted an in-place update")


def test_update_of_a_zero_d_array_argument_through_an_alias_is_refused():
    _refused_at(shifted_product, (np.array(2.0),), np.array(1.0), 2)


def test_update_of_a_zero_d_where_result_through_an_alias_is_refused():
    for x in (0.7, np.array(0.7)):
        _refused_at(leaky_relu_then_bump, (x,), np.ones_like(x) if np.ndim(x) else 1.0, 3)


def test_zero_d_array_passed_to_a_function_that_updates_its_alias_is_refused():
    # bump is a generated subroutine: it is told its argument may be a 0-d array
    line = inspect.getsourcelines(bump)[1] + 2   # `q += 1.0` in the callee
    for name, run in _transforms(calls_bump, (np.array(0.4),), np.array(1.0)).items():
        try:
            run()
        except TangentError as err:
            assert err.lineno == line and err.filename == __file__, (name, err)
        else:
            raise AssertionError(f"{name} accepted an in-place update of a 0-d array")


def test_zero_d_view_of_a_vector_updated_in_place_is_refused():
    _refused_at(squeezed_update, (np.array([0.7]),), np.ones(1), 2)


def test_the_same_code_on_numbers_is_differentiated():
    # with a float (or NumPy float) argument `z += 1.0` rebinds: exact, in every mode
    for f in (shifted_product, calls_bump):
        for x in (0.7, np.float64(0.7)):
            expected = numerical_grad(f, (float(x),))
            np.testing.assert_allclose(tangent_src.grad(f)(x), expected, rtol=RTOL)
            value, g = tangent_src.value_and_grad(f)(x)
            np.testing.assert_allclose(value, f(float(x)), rtol=1e-12)
            np.testing.assert_allclose(g, expected, rtol=RTOL)
            _, tangent = tangent_src.jvp(f, (x,), (1.0,))
            np.testing.assert_allclose(tangent, expected, rtol=RTOL)
            eps = 1e-5
            hv = (tangent_src.grad(f)(float(x) + eps) - tangent_src.grad(f)(float(x) - eps)) \
                / (2 * eps)
            np.testing.assert_allclose(tangent_src.hvp(f)(x, 1.0), hv, rtol=1e-5, atol=1e-7)


def test_a_number_specialization_is_not_reused_for_a_zero_d_array():
    # the same grad object: first a float (fine), then a 0-d array (must not reuse it)
    df = tangent_src.grad(shifted_product)
    np.testing.assert_allclose(df(2.0), numerical_grad(shifted_product, (2.0,)), rtol=RTOL)
    try:
        df(np.array(2.0))
    except TangentError:
        pass
    else:
        raise AssertionError("the float specialization was reused for a 0-d array")


# -- class 3: a read later in the same statement sees a callee's in-place update -------

def normalize_in_place(h):
    h -= np.mean(h)
    return h


def centered_energy(h):
    return np.sum(normalize_in_place(h) ** 2 + np.sin(h))


def test_argument_read_after_an_updating_call_in_the_same_statement_is_refused():
    # np.sin(h) sees the centered h; this was differentiated as if it saw the original
    line = inspect.getsourcelines(centered_energy)[1] + 1
    h = np.array([0.3, -0.2, 0.5])
    for name, run in _transforms(centered_energy, (h,), np.ones(3)).items():
        try:
            run()
        except TangentError as err:
            assert err.lineno == line and err.filename == __file__, (name, err)
        else:
            raise AssertionError(f"{name} accepted a read of an argument updated in place")


def centered_energy_copy(h):
    return np.sum(normalize_in_place(h.copy()) ** 2 + np.sin(h))


def test_updating_call_on_a_copy_is_differentiated():
    h = np.array([0.3, -0.2, 0.5])
    np.testing.assert_allclose(tangent_src.grad(centered_energy_copy)(h),
                               numerical_grad(centered_energy_copy, (h,)), rtol=RTOL, atol=ATOL)


def refine_when_positive(h):
    """A data-dependent branch holding the nested loop whose value the branch reads."""
    out = 0.0
    for _ in range(3):
        if np.sum(h) > 0.0:
            for j in range(2):
                v = np.sin(h * (j + 1.0))
            out = out + np.sum(np.cos(v) * h)
        else:
            out = out + np.sum(h ** 3)
        h = 0.9 * h + 0.05
    return out


def three_deep(h):
    out = 0.0
    for _ in range(2):
        for k in range(2):
            for j in range(2):
                v = np.sin(h * (j + 1.0)) + k
            w = np.cos(v) * h
        out = out + np.sum(np.tanh(v) * w)
        h = np.sin(h) + 0.1 * np.sum(v * w)
    return out + np.sum(h ** 2)


def test_nested_loop_value_inside_a_branch_and_three_loops_deep():
    rng = np.random.default_rng(4)
    h = np.abs(rng.normal(size=3))
    for f in (refine_when_positive, three_deep):
        _grad_and_hvp_match(f, (h,), rng.normal(size=3))


def warmup_schedule(params):
    """A schedule value computed in an inner loop (first assigned there) scales the update
    after it (the shape of fuzz seed 80119, wrong on main in reverse mode only)."""
    w, b = params["w"], params["b"]
    acc = np.tanh(w @ np.ones(2))
    for step in range(3):
        for k in range(2):
            rate = np.arctan(0.3 * k + 0.1 * step)
        acc = acc + 0.5 * np.tanh(acc * rate + b)
    return np.sum(acc ** 2)


def test_schedule_value_from_an_inner_loop_with_dict_params():
    rng = np.random.default_rng(5)
    params = {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=3)}
    g = tangent_src.grad(warmup_schedule)(params)
    for key in ("w", "b"):
        def loss(value, key=key):
            return warmup_schedule({**params, key: value})
        np.testing.assert_allclose(g[key], numerical_grad(loss, (params[key],)),
                                   rtol=RTOL, atol=ATOL)
