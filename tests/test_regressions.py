"""Regression tests for bugs found after the corpora were written (each checked against a
hand-derived value or finite differences)."""
from __future__ import annotations

import numpy as np
from fdcheck import numerical_grad

import tangent_src


def doubled_in_a_loop(x):
    y = x
    for _ in range(3):
        y = y * 2.0
    return y


def test_value_and_grad_returns_the_value_of_a_loop_carried_result():
    """The backward pass restores loop-carried names; the value must be the forward one."""
    value, grad = tangent_src.value_and_grad(doubled_in_a_loop)(1.5)
    assert value == 12.0
    assert grad == 8.0


def squares_written_in_a_loop(v):
    q = np.zeros(3)
    for c in range(3):
        q[c] = v[c] * v[c]
    return q


def sum_of_written_squares(v):
    return np.sum(squares_written_in_a_loop(v))


def test_helper_with_array_writes_in_a_loop():
    """A called helper that fills an array in a loop (its forward/backward pair)."""
    v = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(tangent_src.grad(sum_of_written_squares)(v), 2.0 * v)


def dot_of_3d(a, b):
    return np.sum(np.dot(a, b) ** 2)


def test_np_dot_above_two_dimensions_is_not_matmul():
    """np.dot of N-D arrays contracts a's last axis with b's second-to-last (not matmul's
    stacking): the gradient follows NumPy, checked against finite differences."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 4, 3))
    grads = tangent_src.grad(dot_of_3d, wrt=(0, 1))(a, b)
    for k, g in enumerate(grads):
        np.testing.assert_allclose(g, numerical_grad(dot_of_3d, (a, b), k), rtol=1e-5)


def seed_updated_in_a_loop(y, n):
    for _ in range(n):
        y = y + 0.01 * (np.sin(y) * y - y ** 3)
    return y


def test_in_place_accumulation_never_touches_the_callers_seed():
    """Accumulations inside loops may become `+=`; a parameter (the seed) must not."""
    seed = np.array(1.0)
    autodiff = tangent_src.autodiff(seed_updated_in_a_loop, mode="reverse", wrt=0)
    first = autodiff(np.array(0.5), 10, seed)
    assert seed == 1.0
    assert np.allclose(first, autodiff(np.array(0.5), 10, np.array(1.0)))


def test_tangent_src_imports_without_scipy():
    """SciPy is an optional extra: a fresh interpreter that cannot import it still imports
    tangent_src and differentiates NumPy code."""
    import subprocess
    import sys
    code = (
        "import sys; sys.modules['scipy'] = None\n"
        "import numpy as np, tangent_src\n"
        "assert tangent_src.hessian is not None\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
