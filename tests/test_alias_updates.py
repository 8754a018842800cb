"""In-place updates of an array that another live name shares (fuzz findings, class C).

For an ndarray `z += v` writes into z's array, so every name sharing it (`z = h`, a slice,
a row `M[0]`, `M.T`, a reshape, a loop over rows, an item of a list, the caller's argument
of a function that updates its parameter) sees the change; for a number it rebinds. The
compiler lowers `z += v` to a new version of z, which is right only when no other name of
that array is read afterwards. Such updates are refused with a located error and a hint;
numbers, fresh arrays and arrays no other live name shares keep working.

Each refused case was silently wrong before (value_and_grad, jvp and hvp all disagreed
with finite differences or with `f`); each accepted case is checked against central finite
differences in reverse mode, forward mode and hvp.
"""
from __future__ import annotations

import copy
import inspect

import numpy as np
import pytest

import tangent_src
from tangent_src.errors import UnsupportedSyntaxError
from tests.fdcheck import numerical_grad

X = np.array([0.3, -0.7, 0.5])
M = np.array([[0.3, -0.7, 0.5], [0.2, 0.4, -0.1]])
MARK = "# <- refused"


# ---------------------------------------------------------------- references (no tangent_src)
def _fd_grad(f, args, eps=1e-6):
    """Central differences of f with respect to its first argument, on fresh copies."""
    x0 = np.asarray(args[0], dtype=float)
    out = np.zeros_like(x0)
    for i in np.ndindex(x0.shape):
        def at(step, i=i):
            x = x0.copy()
            x[i] += step
            return float(f(x, *copy.deepcopy(args[1:])))
        out[i] = (at(eps) - at(-eps)) / (2 * eps)
    return out


def _direction(x):
    return np.linspace(0.4, 1.3, np.size(x)).reshape(np.shape(x))


def _zeros_like(value):
    """A zero tangent with the structure of `value` (lists of arrays stay lists)."""
    if isinstance(value, (list, tuple)):
        return type(value)(_zeros_like(v) for v in value)
    if isinstance(value, dict):
        return {k: _zeros_like(v) for k, v in value.items()}
    return 0.0 * np.asarray(value, dtype=float)


def _check_all_modes(f, args):
    """value_and_grad, jvp and hvp of f at a fresh copy of args agree with f and with
    finite differences."""
    x = np.asarray(args[0], dtype=float)
    value = float(f(*copy.deepcopy(args)))
    fd = _fd_grad(f, args)

    got_value, got_grad = tangent_src.value_and_grad(f)(*copy.deepcopy(args))
    np.testing.assert_allclose(got_value, value, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_grad, fd, rtol=1e-5, atol=1e-7)

    v = _direction(x)
    rest = copy.deepcopy(args[1:])
    zero = tuple(_zeros_like(a) for a in rest)
    got_value, tangent = tangent_src.jvp(f, (x.copy(), *rest), (v, *zero))
    np.testing.assert_allclose(got_value, value, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tangent, np.sum(fd * v), rtol=1e-5, atol=1e-7)

    eps = 1e-4
    want = (_fd_grad(f, (x + eps * v, *args[1:]), 1e-5) -
            _fd_grad(f, (x - eps * v, *args[1:]), 1e-5)) / (2 * eps)
    got = tangent_src.hvp(f)(x.copy(), *copy.deepcopy(args[1:]), v)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def _marked_line(f) -> int:
    """The file line of the statement marked `# <- refused` in f's source."""
    lines, first = inspect.getsourcelines(f)
    marked = [first + k for k, line in enumerate(lines) if MARK in line]
    assert len(marked) == 1, f"{f.__name__} needs one {MARK!r} marker"
    return marked[0]


def _assert_refused(f, args, hint="copy"):
    """Every mode refuses f, pointing at the marked line of this file, with a hint."""
    calls = {
        "value_and_grad": lambda: tangent_src.value_and_grad(f)(*copy.deepcopy(args)),
        "jvp": lambda: tangent_src.jvp(f, tuple(copy.deepcopy(args)),
                                       tuple(np.ones_like(np.asarray(a, dtype=float))
                                             for a in args)),
        "hvp": lambda: tangent_src.hvp(f)(*copy.deepcopy(args), np.ones_like(args[0])),
    }
    for mode, call in calls.items():
        with pytest.raises(UnsupportedSyntaxError) as info:
            call()
        err = info.value
        assert err.filename == __file__, mode
        assert err.lineno == _marked_line(f), (mode, str(err))
        assert hint in err.hint, (mode, err.hint)


# ---------------------------------------------------------------- refused: silently wrong before
def alias_then_add(x):
    h = np.sin(x)
    z = h
    z += x  # <- refused
    return np.sum(h)


def slice_view_update(x):
    h = np.sin(x)
    z = h[1:]
    z += x[1:]  # <- refused
    return np.sum(h * h)


def transpose_view_scaled(m):
    h = np.tanh(m)
    z = h.T
    z *= 2.0  # <- refused
    return np.sum(h * m)


def row_of_matrix_updated(m):
    h = np.sin(m)
    z = h[0]  # integer indexing of a 2-D array is a view
    z -= m[1]  # <- refused
    return np.sum(h ** 2)


def reshape_view_updated(x):
    h = np.sin(x)
    z = h.reshape((3, 1))
    z += 1.0  # <- refused
    return np.sum(h * x)


def swapped_then_updated(x):
    a = np.sin(x)
    b = np.cos(x)
    first = a
    a, b = b, a
    b += x  # <- refused
    return np.sum(first * x)


def row_element_written(m):
    h = np.sin(m)
    for i in range(2):
        row = h[i]
        row[0] = row[1] * 3.0  # <- refused
    return np.sum(h * m)


def loop_over_rows(m):
    h = np.sin(m)
    for row in h:
        row += 1.0  # <- refused
    return np.sum(h * m)


def enumerate_rows(m):
    h = np.sin(m)
    for i, row in enumerate(h):
        row *= float(i + 2)  # <- refused
    return np.sum(h * m)


def zip_rows(m):
    h = np.sin(m)
    g = np.cos(m)
    for a, b in zip(h, g):
        a += b  # <- refused
    return np.sum(h * m)


def alias_in_one_branch(x):
    h = np.sin(x)
    if x[0] > 0:
        z = h
    else:
        z = h + 0.0
    z += x  # <- refused
    return np.sum(h * x)


def partner_read_next_iteration(x):
    h = np.sin(x)
    z = h
    total = 0.0
    for _ in range(3):
        total = total + np.sum(h * x)
        z += x  # <- refused
    return total


def partner_read_in_while(x):
    h = np.sin(x)
    z = h
    total = 0.0
    i = 0
    while i < 2:
        total = total + np.sum(h * x)
        z *= 1.5  # <- refused
        i += 1
    return total


def updates_the_array_a_loop_reads(x):
    h = np.sin(x)
    z = h
    total = 0.0
    for e in h:  # each element is read from h's array when its iteration starts
        z += 0.5  # <- refused
        total = total + e * x[0]
    return total


def item_of_a_list(x):
    h = np.sin(x)
    layers = [h, x]
    z = layers[0]
    z += 1.0  # <- refused
    return np.sum(h * x)


def alias_of_the_parameter(x):
    z = x
    z += 1.0  # <- refused
    return np.sum(x * x)


def unpacked_pair(x):
    pair = (np.sin(x), np.cos(x))
    a, b = pair
    a += b  # <- refused
    return np.sum(pair[0] * x)


def ellipsis_write_through_alias(x):
    h = np.sin(x)
    z = h
    z[...] = x * 2.0  # <- refused
    return np.sum(h * x)


def colon_write_through_alias(x):
    h = np.sin(x)
    z = h
    z[:] = x * 2.0  # <- refused
    return np.sum(h * x)


def add_one_in_place(v):
    v += 1.0
    return v * 2.0


def calls_a_function_that_updates_its_argument(x):
    h = np.sin(x)
    y = add_one_in_place(h)  # <- refused
    return np.sum(h * y)


def clip_row(v):
    v[0] = 0.5 * v[0]
    return v


def calls_a_function_that_writes_into_its_argument(x):
    h = np.sin(x)
    y = clip_row(h)  # <- refused
    return np.sum(h * y)


def nested_def_updates_its_argument(x):
    h = np.sin(x)

    def scale(z):
        z *= 3.0  # <- refused
        return z

    y = scale(h)
    return np.sum(h * y)


def top_rows(a):
    return a[:1]


def updates_a_view_a_function_returned(m):
    h = np.sin(m)
    top = top_rows(h)  # a view of h
    top *= 2.0  # <- refused
    return np.sum(h * m)


REFUSED = [
    (alias_then_add, (X,)), (slice_view_update, (X,)), (transpose_view_scaled, (M,)),
    (row_of_matrix_updated, (M,)), (reshape_view_updated, (X,)), (swapped_then_updated, (X,)),
    (row_element_written, (M,)), (loop_over_rows, (M,)), (enumerate_rows, (M,)),
    (zip_rows, (M,)), (alias_in_one_branch, (X,)), (partner_read_next_iteration, (X,)),
    (partner_read_in_while, (X,)), (updates_the_array_a_loop_reads, (X,)),
    (item_of_a_list, (X,)), (alias_of_the_parameter, (X,)),
    (unpacked_pair, (X,)), (ellipsis_write_through_alias, (X,)),
    (colon_write_through_alias, (X,)), (calls_a_function_that_updates_its_argument, (X,)),
    (calls_a_function_that_writes_into_its_argument, (X,)),
    (nested_def_updates_its_argument, (X,)), (updates_a_view_a_function_returned, (M,)),
]


@pytest.mark.parametrize("f, args", REFUSED, ids=[f.__name__ for f, _ in REFUSED])
def test_update_through_a_shared_array_is_refused(f, args):
    """Python changes the other name too; a new version of one name would not."""
    _assert_refused(f, args)


def test_refusal_names_both_names_and_suggests_a_copy():
    with pytest.raises(UnsupportedSyntaxError) as info:
        tangent_src.grad(alias_then_add)(X.copy())
    err = info.value
    assert "'z += ...'" in err.message and "'h'" in err.message
    assert err.hint.startswith("copy first: z = h.copy()")
    assert "z = z + v" in err.hint


def adds_out_of_place_into_out(x):
    h = np.sin(x)
    c = np.add(h, x, out=h)  # <- refused
    return np.sum(h * c)


def test_out_argument_is_refused_with_a_hint():
    """`out=` writes into an existing array (before: an 'unexpected keyword' refusal of
    the np.add rule, with no hint)."""
    _assert_refused(adds_out_of_place_into_out, (X,), hint="assign the result")


def fills_in_place(x):
    h = np.sin(x)
    h.fill(2.0)  # <- refused
    return np.sum(h * x)


def sorts_in_place(x):
    h = np.sin(x)
    h.sort()  # <- refused
    return np.sum(h * x)


def copies_into(x):
    h = np.sin(x)
    np.copyto(h, x)  # <- refused
    return np.sum(h)


def puts_into(x):
    h = np.sin(x)
    np.put(h, [0], [1.0])  # <- refused
    return np.sum(h * x)


@pytest.mark.parametrize("f", [fills_in_place, sorts_in_place, copies_into, puts_into])
def test_mutating_methods_stay_refused(f):
    """In-place methods and functions whose result is unused (a guard, refused before too)."""
    _assert_refused(f, (X,), hint="")


def test_general_version_refuses_an_array_update_through_an_alias():
    """Without argument types (the CLI's standalone source) the update is refused too."""
    with pytest.raises(UnsupportedSyntaxError) as info:
        tangent_src.standalone_source(alias_then_add)
    assert info.value.lineno == _marked_line(alias_then_add)


# ---------------------------------------------------------------- still supported
def float_alias_updated(x):
    t = np.sum(np.sin(x))
    s = t
    s += 1.0
    return s * t


def loss_accumulator(x):
    total = 0.0
    for i in range(3):
        loss = np.sum(np.sin(x * (i + 1)))
        total += loss
    return total


def running_scalar_alias(x):
    t = np.sum(x ** 2)
    acc = t
    for i in range(3):
        acc += np.sin(t * i)
    return acc * t


def parameter_updated_in_place(x):
    x += 1.0
    x *= np.cos(x)
    return np.sum(x * x)


def fresh_sum_then_update(x):
    h = np.sin(x)
    z = h + 0
    z += x
    return np.sum(h * z)


def zeros_then_update(x):
    z = np.zeros(3)
    z += np.sin(x)
    return np.sum(z * x)


def copy_then_update(x):
    h = np.sin(x)
    z = h.copy()
    z += x
    w = np.copy(h[1:])
    w *= 2.0
    return np.sum(h * z) + np.sum(w)


def alias_not_read_afterwards(x):
    h = np.sin(x)
    z = h
    z += x
    return np.sum(z * z)


def partner_rebound_before_read(x):
    h = np.sin(x)
    z = h
    z += x
    h = np.cos(x)
    return np.sum(h * z)


def elements_of_a_vector(x):
    h = np.sin(x)
    s = 0.0
    for e in h:  # items of a 1-D array are numbers: `e += 1` rebinds
        e += 1.0
        s = s + e * e
    return s + np.sum(h)


def scalar_item_updated(x):
    s = x[0]
    s += 1.0
    return s * x[1] + np.sum(x)


def add_half(t):
    t += 0.5
    return t * t


def passes_a_number_to_an_updating_function(x):
    t = np.sum(x)
    y = add_half(t)
    return y * t


def passes_a_temporary_to_an_updating_function(x):
    y = add_one_in_place(np.sin(x))
    h = np.cos(x)
    z = add_one_in_place(h)  # h is not read afterwards
    return np.sum(y * z)


def residual_mlp(x, params):
    h = np.tanh(x)
    for W in params:
        h += np.tanh(W @ h)  # h is the only name of its array
    return np.sum(h ** 2)


def layer_with_shifted_bias(x, params):
    W = params["W"]
    b = params["b"]  # another item of the parameter: not W's array
    b += 0.1 * np.sum(x)
    return np.sum(np.tanh(x @ W + b))


def unpacked_items_updated(x, pair):
    ta, tb = pair
    ta = np.sin(ta * x)  # a new array: never tb's
    tb += ta
    return np.sum(ta * tb)


def write_through_a_view_nobody_reads(x):
    h = np.sin(x)
    v = h[:2]
    v[0] = v[1] * 3.0  # h is not read afterwards (refused before)
    return np.sum(v * x[:2])


def squashed(a):
    return np.tanh(a)


def updates_a_new_array_a_function_returned(m):
    h = np.sin(m)
    top = squashed(h)  # a new array
    top *= 2.0
    return np.sum(h * top)


def count_after(d):
    pos = d
    for _ in range(d):
        pos += 1  # pos is a number: rebinds, the caller's d is untouched
    return pos


def uses_shape_counts(x):
    d = x.shape[0]
    k = count_after(d)
    return np.sum(x ** 2) * k + d


PARAMS = [np.array([[0.2, -0.1, 0.3], [0.0, 0.4, -0.2], [0.1, 0.1, 0.1]]),
          np.array([[-0.3, 0.2, 0.1], [0.5, -0.1, 0.0], [0.2, 0.3, -0.4]])]

SUPPORTED = [
    (float_alias_updated, (X,)), (loss_accumulator, (X,)), (running_scalar_alias, (X,)),
    (parameter_updated_in_place, (X,)), (fresh_sum_then_update, (X,)),
    (zeros_then_update, (X,)), (copy_then_update, (X,)), (alias_not_read_afterwards, (X,)),
    (partner_rebound_before_read, (X,)), (elements_of_a_vector, (X,)),
    (scalar_item_updated, (X,)), (passes_a_number_to_an_updating_function, (X,)),
    (passes_a_temporary_to_an_updating_function, (X,)), (residual_mlp, (X, PARAMS)),
    (layer_with_shifted_bias, (X, {"W": PARAMS[0], "b": np.array([0.1, -0.2, 0.3])})),
    (unpacked_items_updated, (X, (np.array([0.5, 0.1, -0.4]), np.array([0.2, 0.3, 0.9])))),
    (write_through_a_view_nobody_reads, (X,)), (updates_a_new_array_a_function_returned, (M,)),
    (uses_shape_counts, (X,)),
]


@pytest.mark.parametrize("f, args", SUPPORTED, ids=[f.__name__ for f, _ in SUPPORTED])
def test_updates_that_python_does_not_share_are_differentiated(f, args):
    """Numbers rebind, fresh arrays and unshared ones are exact as new versions."""
    _check_all_modes(f, args)


@pytest.mark.parametrize("f", [float_alias_updated, uses_shape_counts])
def test_general_version_keeps_number_updates(f):
    """Without argument types: np.sum(...) is a number to shape inference, x.shape[0] and
    what is computed from it are numbers to the front end."""
    namespace: dict = {}
    exec(tangent_src.standalone_source(f), namespace)  # noqa: S102  (generated module)
    got = namespace["d" + f.__name__](X.copy())
    np.testing.assert_allclose(got, _fd_grad(f, (X,)), rtol=1e-5, atol=1e-7)


def sum_of_sines_appended_through_a_second_name(x, y):
    args = [x, y]
    more = args
    more.append(y * y)
    return np.sum(np.sin(args[0] + args[1] + args[2]))


def loop_over_list_extended_through_a_second_name(x, y):
    args = [x, y]
    more = args
    more.extend([y * y])
    total = 0.0
    for v in args:
        total = total + np.sin(v)
    return total


def test_a_list_changed_by_a_method_through_a_second_name_is_refused():
    # `more.append(...)` changes `args` too; the lowering rebinds only `more`, so the
    # gradient with respect to y missed the y*y term (silently) before
    for func in (sum_of_sines_appended_through_a_second_name,
                 loop_over_list_extended_through_a_second_name):
        with pytest.raises(UnsupportedSyntaxError, match="writing into 'more'"):
            tangent_src.grad(func, wrt=(0, 1))(0.3, 0.7)


def stacked_states(x, y):
    states = []
    h = np.tanh(x)
    states.append(h)
    states.append(h * y)  # changes `states`, not the array `h` it holds
    return np.sum(np.stack(states)) + np.sum(h)


def test_appending_to_a_list_that_holds_a_live_array_still_differentiates():
    x, y = np.array([0.3, -0.2]), 0.7
    got = tangent_src.grad(stacked_states, wrt=(0, 1))(x, y)
    expected = numerical_grad(stacked_states, (x, y), wrt=(0, 1))
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-6)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-6)
