"""First-order optimizers with the calling convention autograd's examples use, so a training
script ports by changing its import line.

Each takes `gradient(params, i)` (the gradient at iteration `i`, e.g. a `grad` of a loss
that subsamples a batch with `i`), the initial parameters as any pytree (dicts, lists,
tuples of arrays), an optional `callback(params, i, g)` called before each step, and
returns the final parameters in the same structure. Plain NumPy: the update rules are the
textbook ones, working on one flat vector (`ravel_pytree`).

    from tangent_src import grad
    from tangent_src.optimizers import adam
    params = adam(grad(objective), params, step_size=0.01, num_iters=500)
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .pytrees import ravel_pytree

Step = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


def _run(gradient: Callable, x0, callback: Callable | None, num_iters: int,
         make_step: Callable[[int], Step]):
    """Iterate `x <- step(x, g, i)` on the flattened parameters, calling the user's gradient
    and callback on the structured ones."""
    x, unravel = ravel_pytree(x0)
    step = make_step(x.size)
    for i in range(num_iters):
        params = unravel(x)
        g_tree = gradient(params, i)
        if callback is not None:
            callback(params, i, g_tree)
        g, _ = ravel_pytree(g_tree)
        x = step(x, g, i)
    return unravel(x)


def sgd(gradient: Callable, x0, callback: Callable | None = None, num_iters: int = 200,
        step_size: float = 0.1, mass: float = 0.9):
    """Stochastic gradient descent with momentum: the velocity is an exponential average
    of the negative gradients, `mass` its decay."""
    def make_step(n: int) -> Step:
        velocity = np.zeros(n)

        def step(x, g, i):
            velocity[:] = mass * velocity - (1.0 - mass) * g
            return x + step_size * velocity
        return step
    return _run(gradient, x0, callback, num_iters, make_step)


def rmsprop(gradient: Callable, x0, callback: Callable | None = None, num_iters: int = 100,
            step_size: float = 0.1, gamma: float = 0.9, eps: float = 1e-8):
    """RMSprop: each coordinate's step is divided by a running root mean square of its
    gradients (decay `gamma`)."""
    def make_step(n: int) -> Step:
        mean_square = np.ones(n)

        def step(x, g, i):
            mean_square[:] = gamma * mean_square + (1 - gamma) * g * g
            return x - step_size * g / (np.sqrt(mean_square) + eps)
        return step
    return _run(gradient, x0, callback, num_iters, make_step)


def adam(gradient: Callable, x0, callback: Callable | None = None, num_iters: int = 100,
         step_size: float = 0.001, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8):
    """Adam (Kingma and Ba, 2015): RMSprop with momentum, both running averages corrected
    for their start at zero."""
    def make_step(n: int) -> Step:
        first, second = np.zeros(n), np.zeros(n)

        def step(x, g, i):
            first[:] = b1 * first + (1 - b1) * g
            second[:] = b2 * second + (1 - b2) * g * g
            first_hat = first / (1 - b1 ** (i + 1))
            second_hat = second / (1 - b2 ** (i + 1))
            return x - step_size * first_hat / (np.sqrt(second_hat) + eps)
        return step
    return _run(gradient, x0, callback, num_iters, make_step)
