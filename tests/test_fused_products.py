"""Matrix-vector products fused into their accumulation (optimize/fused_at.py:
`add_matvec_at` / `sub_matvec_at`, numba loops into one row) and elementwise array values
of a loop recomputed by the backward pass instead of taped (transform/recompute.py,
`arrays`): both for the numba back end only.

User programs are differentiated by both back ends and checked against central finite
differences; the generated source says what fired. The pass is also run on
generated-style code where moving the product would be wrong (read twice, an operand
rebound or written in between), and the helpers are checked against the add_at they
stand for, including operands in the accumulator's own memory.
"""
from __future__ import annotations

import copy
import re
import textwrap

import astor
import gast
import numpy as np
import pytest
from fdcheck import numerical_grad
from numba_checks import assert_jitted_matches, checked_source

import tangent_src
from tangent_src.optimize.fused_at import fused_at
from tangent_src.runtime import add_at, add_matvec_at, add_outer_at, sub_matvec_at

RNG = np.random.default_rng(10)


def point_loop(Q, m, x):
    """GMM's point loop in small: a centred point, its image under Q[k], a smooth loss."""
    total = 0.0
    for i in range(x.shape[0]):
        for k in range(Q.shape[0]):
            xc = x[i] - m[k]
            y = Q[k] @ xc
            total = total + np.tanh(np.dot(y, y))
    return total


def centred_twice(Q, m, x):
    """xc's adjoint has two parts (the product's and the sum's): nothing to fuse."""
    total = 0.0
    for i in range(x.shape[0]):
        for k in range(Q.shape[0]):
            xc = x[i] - m[k]
            y = Q[k] @ xc
            total = total + np.tanh(np.dot(y, y)) + np.sum(xc * xc) * 0.1
    return total


def carried_state(w, x):
    """Elementwise arithmetic of a carried state, replaced after: the backward pass
    recomputes `a` from the state its tape restores."""
    h = x[0] * 0.5
    total = 0.0
    for t in range(x.shape[0]):
        a = h * w - x[t]
        h = np.sin(a)
        total = total + np.sum(h * h)
    return total


def _taped(text: str, name: str) -> bool:
    return re.search(rf"\b_{name}_tape\b", text) is not None


def _backward(text: str) -> str:
    return text[text.index("# backward pass"):]


Q = RNG.normal(size=(2, 3, 3)) * 0.4
M = RNG.normal(size=(2, 3))
X = RNG.normal(size=(3, 3))


def test_point_loop_python_keeps_tapes_and_the_named_adjoint():
    text = checked_source(point_loop, (Q, M, X), (0, 1), "python")
    assert _taped(text, "xc") and _taped(text, "y") and "matvec" not in text, text
    assert "dxc = Q_k.T @ dy" in text, text


def test_point_loop_numba_recomputes_and_fuses():
    pytest.importorskip("numba")
    text = checked_source(point_loop, (Q, M, X), (0, 1), "numba")
    assert not _taped(text, "xc") and _taped(text, "y"), text  # a product stays taped
    assert "xc = x_i - m_k" in _backward(text), text
    assert "dm = sub_matvec_at(dm, k, Q_k.T, dy)" in text, text


def test_centred_twice_numba_does_not_fuse():
    pytest.importorskip("numba")
    text = checked_source(centred_twice, (Q, M, X), (0, 1), "numba")
    assert "matvec" not in text and "Q_k.T @ dy" in text, text


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_carried_state(backend):
    if backend == "numba":
        pytest.importorskip("numba")
    args = (RNG.normal(size=3), RNG.normal(size=(4, 3)))
    text = checked_source(carried_state, args, (0, 1), backend)
    assert _taped(text, "a") == (backend == "python"), text


# ------------------------------------------- the numba options, run by the Python back end
def written_operand(w, x):
    """The row read is taped (the loop writes the array later); the product of it is
    recomputed from the row its tape restores."""
    B = x * 1.0
    total = 0.0
    for t in range(B.shape[0]):
        a = B[t] * w
        total = total + np.sum(np.sin(a))
        B[(t + 1) % B.shape[0]] = a * 0.5
    return total + np.sum(B * B)


def reassigned_operand(w, x):
    """An operand bound again later in the iteration (lowering names the second binding
    apart, so the first is recomputed as it was)."""
    total = 0.0
    for t in range(x.shape[0]):
        u = x[t] * 2.0
        a = u * w
        u = a * 3.0
        total = total + np.sum(np.sin(a) * u)
    return total


def list_operand(w, xs):
    """An operand from a list (it may change through an alias): never recomputed."""
    rows = [xs[0], xs[1]]
    total = 0.0
    for t in range(2):
        a = rows[t] * w
        total = total + np.sum(np.sin(a))
    return total


@pytest.mark.parametrize("func", [point_loop, centred_twice, carried_state, written_operand,
                                  reassigned_operand, list_operand])
def test_numba_options_under_the_python_back_end(func):
    """The numba back end's options change the code, not the values: the same programs
    generated with them and run by Python, against finite differences."""
    import inspect

    from tangent_src.compiler import ModuleBuilder
    from tangent_src.pipeline import Options
    from tangent_src.values import arg_classes
    args = (Q, M, X) if func.__code__.co_argcount == 3 else (RNG.normal(size=3),
                                                             RNG.normal(size=(4, 3)))
    wrt = tuple(range(len(args) - 1))
    builder = ModuleBuilder(options=Options(recompute_arrays=True, fused_products=True))
    classes = arg_classes(inspect.signature(func), args, {})
    text = builder.source(builder.gradient(func, wrt, arg_classes=classes))
    scope: dict = {}
    exec(compile(text, f"<d{func.__name__}>", "exec"), scope)
    got = scope["d" + func.__name__](*copy.deepcopy(args))
    got = got if isinstance(got, tuple) else (got,)
    for k in wrt:
        np.testing.assert_allclose(got[k], numerical_grad(func, args, k), rtol=1e-6,
                                   atol=1e-8, err_msg=f"{func.__name__} d/d arg {k}\n{text}")
    if func in (point_loop, carried_state, written_operand):
        assert not _taped(text, "xc") and not _taped(text, "a"), text
    if func is list_operand:
        assert _taped(text, "a"), text


# --------------------------------------------------------------------------- the pass
SCOPE = {"np": np, "add_at": add_at, "add_outer_at": add_outer_at,
         "add_matvec_at": add_matvec_at, "sub_matvec_at": sub_matvec_at}


def _run_pass(code: str, inplace: set, products: bool = True):
    node = gast.parse(textwrap.dedent(code))
    fused_at(node.body[0].body, inplace, set(), products=products)
    return astor.to_source(gast.gast_to_ast(node))


def _same_values(before: str, after: str, args: tuple):
    before_ns, after_ns = dict(SCOPE), dict(SCOPE)
    exec(textwrap.dedent(before), before_ns)
    exec(after, after_ns)
    want = before_ns["f"](*copy.deepcopy(args))
    got = after_ns["f"](*copy.deepcopy(args))
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


ARGS = (np.zeros((3, 4)), np.zeros((3, 4, 4)), RNG.normal(size=(4, 4)), RNG.normal(size=4),
        RNG.normal(size=4), 1)


def test_pass_moves_a_single_use_product_past_accumulations():
    code = """
        def f(dm, dQ, A, g, x, k):
            dxc = A.T @ g
            dQ = add_at(dQ, k, np.outer(g, x))
            dm = add_at(dm, k, -dxc)
            t = np.matmul(A, x)
            dm = add_at(dm, k + 1, t)
            u = np.dot(A, x)
            dm = add_at(dm, k, u)
            return dm, dQ
    """
    after = _run_pass(code, {"dm", "dQ"})
    assert "dm = sub_matvec_at(dm, k, A.T, g)" in after, after
    assert "dm = add_matvec_at(dm, k + 1, A, x)" in after, after
    assert "add_outer_at(dQ, k, g, x)" in after and "dxc" not in after, after
    assert "u = np.dot(A, x)" in after, after  # np.dot is another product for N-D arrays
    _same_values(code, after, ARGS)
    python = _run_pass(code, {"dm", "dQ"}, products=False)
    assert "matvec" not in python and "dxc = A.T @ g" in python, python


@pytest.mark.parametrize("between", [
    "A = A * 2.0",                      # an operand rebound
    "dQ = add_at(dQ, k, g)",            # written through a name that may alias (not owned)
    "dm2 = add_at(dm2, k, np.sin(g))",  # an owned accumulator, but a call in its value
    "g = add_at(g, 0, 1.0)",            # the product's own operand written in place
    "s = np.sum(g)",                    # a call
    "dxc2 = dxc",                       # the product read twice
])
def test_pass_leaves_the_product_where_moving_it_may_change_it(between):
    code = f"""
        def f(dm, dQ, A, g, x, k):
            dm2 = dm * 1.0
            dxc = A.T @ g
            {between}
            dm = add_at(dm, k, -dxc)
            return dm, dQ
    """
    after = _run_pass(code, {"dm", "dm2", "g"})
    assert "dxc = A.T @ g" in after and "matvec" not in after, after
    _same_values(code, after, (np.zeros((3, 4)), np.zeros((3, 4)), RNG.normal(size=(4, 4)),
                               RNG.normal(size=4), RNG.normal(size=4), 1))


# --------------------------------------------------------------------------- the helpers
def _matvec_cases():
    """Makers of (acc, k, M, v): C and transposed matrices, a strided vector, a negative
    index, a float32 accumulator, a row M @ v only fits by broadcasting, and M or v in
    acc's own memory (the composed form reads them before writing)."""
    base, A, B = RNG.normal(size=(3, 4)), RNG.normal(size=(4, 5)), RNG.normal(size=(5, 4))
    v5, v10, square = RNG.normal(size=5), RNG.normal(size=10), RNG.normal(size=(4, 4))
    return [
        lambda: (base.copy(), 1, A, v5),
        lambda: (base.copy(), 0, B.T, v5),
        lambda: (base.copy(), -1, A, v10[::2]),
        lambda: (base.astype(np.float32), 2, A, v5),
        lambda: (base.copy(), 1, A[:1], v5),
        lambda: (lambda a: (a, 1, a, a[2]))(square.copy()),
        lambda: (lambda a: (a, 0, a.T, a[1]))(square.copy()),
        lambda: (lambda a: (a, 0, A, a.reshape(-1)[3:8]))(base.copy()),
    ]


@pytest.mark.parametrize("helper, sign", [(add_matvec_at, 1.0), (sub_matvec_at, -1.0)])
def test_matvec_helpers_are_add_at_of_the_product(helper, sign):
    for make in _matvec_cases():
        acc, k, M, v = make()
        want = add_at(acc, k, sign * (M @ v))
        got = helper(*make())
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype


@pytest.mark.filterwarnings("ignore:.*is faster on contiguous arrays")
def test_matvec_helpers_numba_match_numpy():
    pytest.importorskip("numba")
    # summed in index order rather than BLAS's: the same value up to rounding
    assert_jitted_matches(sub_matvec_at, _matvec_cases(), sub_matvec_at, rtol=1e-13)
    # add_matvec_at shares the loop (only the sign differs): one case
    assert_jitted_matches(add_matvec_at, _matvec_cases()[1:2], add_matvec_at, rtol=1e-13)


def test_standalone_numba_module_carries_the_fused_helper():
    """A standalone numba module defines the helpers and their overloads itself, as it
    does every overload (its code is general: nothing fuses in it; loaded, not compiled,
    to keep the test quick)."""
    pytest.importorskip("numba")
    src = tangent_src.standalone_source(point_loop, wrt=(0, 1), numba=True)
    for helper in ("add_matvec_at", "sub_matvec_at"):
        assert f"def {helper}(" in src and f"@overload({helper})" in src, src
    exec(compile(src, "<standalone>", "exec"), {})
