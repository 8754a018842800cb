"""Fitting models with scipy.optimize, gradients and Hessian-vector products from tangent_src.

``scipy.optimize.minimize`` works on one flat float64 vector; models keep their parameters
in dicts. ``tangent_src.ravel_pytree`` converts between the two, so ``value_and_grad``
gives scipy the ``(loss, gradient)`` pair it asks for with ``jac=True``, and ``hvp``
gives Newton-CG its ``hessp``. Both fits are checked against an optimum computed another
way: ridge regression in closed form, logistic regression by a Newton iteration whose
gradient and Hessian are derived by hand.

Run: python examples/scipy_optimize.py
"""
import numpy as np
from scipy.optimize import minimize

import tangent_src

RIDGE = 0.1      # L2 penalty on the weights (not on the bias), for both models


def make_data(rng, n: int = 200, n_features: int = 4):
    """Features, a noisy linear target, and labels drawn from a logistic model."""
    X = rng.normal(size=(n, n_features))
    w_true = rng.normal(size=n_features)
    y_linear = X @ w_true + 0.5 + 0.1 * rng.normal(size=n)
    p = 1 / (1 + np.exp(-(X @ w_true - 0.3)))
    labels = (rng.uniform(size=n) < p).astype(float)
    return X, y_linear, labels


def ridge_loss(params, X, y):
    """Sum of squared residuals plus an L2 penalty on the weights."""
    residual = X @ params["w"] + params["b"] - y
    return 0.5 * np.sum(residual ** 2) + 0.5 * RIDGE * np.sum(params["w"] ** 2)


def logistic_loss(params, X, labels):
    """Negative log-likelihood of the labels, with an L2 penalty on the weights."""
    z = X @ params["w"] + params["b"]
    log_likelihood = labels * z - np.logaddexp(0.0, z)
    return -np.sum(log_likelihood) + 0.5 * RIDGE * np.sum(params["w"] ** 2)


def scipy_objective(loss, params0, *data):
    """`fun(x) -> (loss, gradient)` and `hessp(x, p)` on flat vectors, and `unravel`."""
    x0, unravel = tangent_src.ravel_pytree(params0)
    loss_and_grad = tangent_src.value_and_grad(loss)
    hessian_vector = tangent_src.hvp(loss)

    def fun(x):
        value, grads = loss_and_grad(unravel(x), *data)
        return value, tangent_src.ravel_pytree(grads)[0]

    def hessp(x, p):
        return tangent_src.ravel_pytree(hessian_vector(unravel(x), *data, unravel(p)))[0]

    return x0, unravel, fun, hessp


def ridge_closed_form(X, y):
    """The ridge optimum from the normal equations, the bias unpenalized."""
    A = np.hstack([X, np.ones((len(X), 1))])
    penalty = RIDGE * np.eye(A.shape[1])
    penalty[-1, -1] = 0.0
    theta = np.linalg.solve(A.T @ A + penalty, A.T @ y)
    return {"w": theta[:-1], "b": theta[-1]}


def logistic_by_hand(X, labels, iterations: int = 50):
    """Newton's method with the textbook gradient X^T (p - y) and Hessian X^T S X."""
    A = np.hstack([X, np.ones((len(X), 1))])
    penalty = RIDGE * np.eye(A.shape[1])
    penalty[-1, -1] = 0.0
    theta = np.zeros(A.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(A @ theta)))
        gradient = A.T @ (p - labels) + penalty @ theta
        hessian = A.T @ (A * (p * (1 - p))[:, None]) + penalty
        theta = theta - np.linalg.solve(hessian, gradient)
    return {"w": theta[:-1], "b": theta[-1]}


def fit(loss, params0, method: str, *data, use_hessp: bool = False, tol: float = 1e-7):
    """Minimize `loss` over a dict of parameters with scipy; return (params, result)."""
    x0, unravel, fun, hessp = scipy_objective(loss, params0, *data)
    options = {"hessp": hessp} if use_hessp else {}
    result = minimize(fun, x0, jac=True, method=method, tol=tol, **options)
    return unravel(result.x), result


def report(name: str, fitted: dict, reference: dict, result) -> float:
    error = max(np.max(np.abs(fitted["w"] - reference["w"])), abs(fitted["b"] - reference["b"]))
    print(f"{name}: {result.message} ({result.nit} iterations)")
    print(f"  fitted    w={np.round(fitted['w'], 6)} b={fitted['b']:.6f}")
    print(f"  reference w={np.round(reference['w'], 6)} b={reference['b']:.6f}")
    print(f"  largest difference: {error:.2e}")
    return float(error)


def main() -> dict:
    """Fit both models; return the fits, references and differences."""
    rng = np.random.default_rng(0)
    X, y, labels = make_data(rng)
    params0 = {"w": np.zeros(X.shape[1]), "b": 0.0}
    results = {}

    fitted, result = fit(ridge_loss, params0, "L-BFGS-B", X, y, tol=1e-12)
    reference = ridge_closed_form(X, y)
    results["ridge_lbfgs"] = (fitted, reference, report(
        "ridge, L-BFGS-B with value_and_grad", fitted, reference, result))

    reference = logistic_by_hand(X, labels)
    fitted, result = fit(logistic_loss, params0, "BFGS", X, labels)
    results["logistic_bfgs"] = (fitted, reference, report(
        "logistic, BFGS with value_and_grad", fitted, reference, result))

    fitted, result = fit(logistic_loss, params0, "Newton-CG", X, labels, use_hessp=True)
    results["logistic_newton_cg"] = (fitted, reference, report(
        "logistic, Newton-CG with hessp from hvp", fitted, reference, result))
    return results


if __name__ == "__main__":
    main()
