"""tangent_src.optimizers: autograd's optimizer calling convention (gradient(params, i),
callback(params, i, g), pytrees), checked against hand-computed updates and closed-form
optima."""
import numpy as np
import pytest

import tangent_src
from tangent_src.optimizers import adam, rmsprop, sgd

RS = np.random.RandomState(0)
X = RS.randn(40, 3)
Y = X @ np.array([1.5, -2.0, 0.5]) + 0.3 + 0.01 * RS.randn(40)


def squared_error(params, i):
    """A least-squares fit written as people write it: a dict of parameters."""
    prediction = X @ params["w"] + params["b"]
    return np.mean((prediction - Y) ** 2)


def closed_form():
    design = np.hstack([X, np.ones((len(X), 1))])
    solution = np.linalg.lstsq(design, Y, rcond=None)[0]
    return solution[:3], solution[3]


@pytest.mark.parametrize("optimizer, options", [
    (adam, dict(step_size=0.05, num_iters=2000)),
    (sgd, dict(step_size=0.1, num_iters=2000)),
    (rmsprop, dict(step_size=0.002, num_iters=3000)),
])
def test_optimizers_reach_the_least_squares_solution(optimizer, options):
    seen = []

    def callback(params, i, g):
        seen.append(i)
        if i % 500 == 0:
            print(f"iteration {i}: loss {squared_error(params, i):.6f}")

    start = {"b": 0.0, "w": np.zeros(3)}
    fitted = optimizer(tangent_src.grad(squared_error), start, callback=callback, **options)
    w, b = closed_form()
    assert set(fitted) == {"w", "b"} and isinstance(fitted["b"], float)
    assert np.allclose(fitted["w"], w, atol=2e-3) and abs(fitted["b"] - b) < 2e-3
    assert seen == list(range(options["num_iters"]))
    assert start["w"].tolist() == [0.0, 0.0, 0.0]


def test_one_adam_step_is_the_textbook_update():
    """After one step from x, Adam moves each coordinate by -step_size * g / (|g| + eps')
    (the bias-corrected moments are g and g**2)."""
    x0 = [np.array([1.0, -2.0]), np.array(0.5)]
    gradient = tangent_src.grad(lambda p, i: np.sum(p[0] ** 2) + 3.0 * p[1] ** 2)
    x1 = adam(gradient, x0, num_iters=1, step_size=0.1, eps=1e-8)
    g = [2.0 * x0[0], 6.0 * x0[1]]
    for new, old, gi in zip(x1, x0, g):
        assert np.allclose(new, old - 0.1 * gi / (np.abs(gi) + 1e-8))


def test_sgd_with_momentum_matches_a_hand_loop():
    gradient = tangent_src.grad(lambda p, i: np.sum(np.sin(p) ** 2))
    x, velocity = np.array([0.3, -1.1, 2.0]), np.zeros(3)
    result = sgd(gradient, x.copy(), num_iters=5, step_size=0.2, mass=0.8)
    for _ in range(5):
        g = 2 * np.sin(x) * np.cos(x)
        velocity = 0.8 * velocity - 0.2 * g
        x = x + 0.2 * velocity
    assert np.allclose(result, x, rtol=1e-12)


def test_flatten_func_for_scipy_newton_cg():
    """flatten_func as autograd's GMM example uses it: minimize(flat_obj, x0,
    jac=grad(flat_obj), hessp=hvp(flat_obj), method="Newton-CG"); the flat gradient and
    Hessian-vector product are checked against central differences first."""
    from scipy.optimize import minimize
    data = np.linspace(-1.0, 1.0, 12).reshape(6, 2)

    def objective(params, data, scale=2.0):
        z = data @ params["W"] + params["b"][0]
        return scale * np.sum(np.log1p(z ** 2)) + params["b"][1] ** 2 + np.sum(
            params["W"] ** 2)

    init = {"W": np.arange(6.0).reshape(2, 3) / 10, "b": [np.ones(3), 0.5]}
    flat_obj, unflatten, x0 = tangent_src.flatten_func(objective, init)
    assert flat_obj(x0, data) == objective(init, data)
    tangent_src.check_grads(flat_obj, (x0, data), order=2, argnums=0)
    v = np.linspace(-1.0, 1.0, x0.size)
    eps = 1e-5
    gradient = tangent_src.grad(flat_obj)
    expected = (gradient(x0 + eps * v, data) - gradient(x0 - eps * v, data)) / (2 * eps)
    assert np.allclose(tangent_src.hvp(flat_obj)(x0, data, v), expected, rtol=1e-6)
    result = minimize(flat_obj, x0, args=(data,), jac=gradient,
                      hessp=lambda x, p, d: tangent_src.hvp(flat_obj)(x, d, p),
                      method="Newton-CG")
    assert result.success and np.linalg.norm(gradient(result.x, data)) < 1e-4
    fitted = unflatten(result.x)
    assert set(fitted) == {"W", "b"} and isinstance(fitted["b"][1], float)
