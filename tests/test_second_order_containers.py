"""Derivatives of derivatives when an argument is a list or tuple of arrays, and
ravel_pytree inside a differentiated function (an L2 penalty over every parameter, as
autograd's neural-net examples write it). Checked against float64 central differences."""
import numpy as np

import tangent_src
from tangent_src import ravel_pytree
from tests.fdcheck import numerical_grad

RS = np.random.RandomState(3)
PARAMS = [(RS.randn(3, 4), RS.randn(4)), (RS.randn(4, 2), RS.randn(2))]
X = RS.randn(5, 3)


def l2_norm(params):
    """Squared L2 norm of all parameters, through one flat vector."""
    flat, _ = ravel_pytree(params)
    return np.dot(flat, flat)


def penalized_loss(params, inputs, weight=0.1):
    h = inputs
    for W, b in params:
        h = np.tanh(h @ W + b)
    return np.sum(h ** 2) + weight * l2_norm(params)


def joined(xs):
    a = np.concatenate(xs)
    b = np.hstack(xs)
    return np.sum(a ** 2) + np.sum(np.sin(b))


def _fd_tree(f, tree):
    """Central-difference gradient of scalar f with respect to every leaf of `tree`, flat."""
    flat, unravel = ravel_pytree(tree)
    return numerical_grad(lambda v: f(unravel(v)), (flat,))


def test_ravel_pytree_inside_a_loss_first_order_both_modes():
    grad = tangent_src.grad(penalized_loss)(PARAMS, X)
    assert isinstance(grad, list) and isinstance(grad[0], tuple)
    expected = _fd_tree(lambda p: penalized_loss(p, X), PARAMS)
    assert np.allclose(ravel_pytree(grad)[0], expected, rtol=1e-6, atol=1e-8)
    tangent_src.check_grads(penalized_loss, (PARAMS, X), argnums=0)


def test_ravel_pytree_inside_a_loss_second_order():
    """check_grads at order 2 differentiates the forward-mode code in reverse: the tangent
    argument is a list of tuples, its adjoint was built with `+` (lists concatenated: a
    list of 4 instead of 2 pairs)."""
    tangent_src.check_grads(penalized_loss, (PARAMS, X), order=2, argnums=0)


def test_reverse_over_forward_of_a_list_argument_adds_pieces():
    """grad of the jvp of a function of a list: two contributions to the tangent list's
    adjoint are summed element by element (they were concatenated into 4 arrays)."""
    xs = [RS.randn(2), RS.randn(3)]
    v = [RS.randn(2), RS.randn(3)]
    jvp = tangent_src.autodiff(joined, mode="forward")
    got = tangent_src.grad(jvp, wrt=1)(xs, v)
    assert len(got) == 2
    # the jvp is linear in v, so its gradient in v is the gradient of joined
    expected = _fd_tree(joined, xs)
    assert np.allclose(np.concatenate(got), expected, rtol=1e-6, atol=1e-8)


def test_hessian_vector_product_through_ravel_pytree():
    flat, unravel = ravel_pytree(PARAMS)
    v = RS.randn(flat.size)
    hv = tangent_src.hvp(penalized_loss)(PARAMS, X, unravel(v))
    eps = 1e-5
    grad = tangent_src.grad(penalized_loss)
    up = ravel_pytree(grad(unravel(flat + eps * v), X))[0]
    down = ravel_pytree(grad(unravel(flat - eps * v), X))[0]
    assert np.allclose(ravel_pytree(hv)[0], (up - down) / (2 * eps), rtol=1e-5, atol=1e-7)


def test_a_dict_output_written_through_a_key_held_in_a_name_second_order():
    # the second-order code adds dict-valued adjoints of the seed: with plus(), not `+`
    # (was a TypeError: unsupported operand type(s) for +: 'dict' and 'dict')
    def outputs(x):
        out = {"a": x}
        key = "b"
        out[key] = np.sin(x)
        return out

    def in_a_loop(x):
        out = {}
        for k in ("a", "bb"):
            out[k] = np.sin(x) * len(k)
        return out

    for f in (outputs, in_a_loop):
        tangent_src.check_grads(f, (0.3,), order=2)
