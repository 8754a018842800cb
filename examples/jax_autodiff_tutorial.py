"""JAX's autodiff tutorial, retold in plain NumPy with tangent_src.

The story follows the JAX autodiff cookbook in order: derivatives of ``tanh``, a small
logistic regression (4 examples, 3 features), ``grad`` with respect to one or several
arguments (by index, by name, by tuple), gradients of a dict of parameters,
``value_and_grad``, a check against finite differences, ``check_grads``, Hessian-vector
products, Jacobians and Hessians, and ``jvp``/``vjp``. Every function is ordinary NumPy;
tangent_src writes the derivative code.

Run: python examples/jax_autodiff_tutorial.py
"""
import numpy as np

import tangent_src

# The 4x3 data set of the tutorial: four examples, three features, a boolean label.
INPUTS = np.array([[0.52, 1.12, 0.77],
                   [0.88, -1.08, 0.15],
                   [0.52, 0.06, -1.30],
                   [0.74, -2.49, 1.39]])
TARGETS = np.array([True, True, False, True])


def tanh(x):
    return np.tanh(x)


def sigmoid(x):
    return 0.5 * (np.tanh(x / 2) + 1)


def predict(W, b, inputs):
    """The probability that each example's label is true."""
    return sigmoid(inputs @ W + b)


def loss(W, b, inputs, targets):
    """Negative log-likelihood of the training labels."""
    preds = predict(W, b, inputs)
    label_probs = preds * targets + (1 - preds) * (1 - targets)
    return -np.sum(np.log(label_probs))


def loss_of_dict(params, inputs, targets):
    """The same loss, its parameters held in a dict (any pytree works)."""
    preds = predict(params["W"], params["b"], inputs)
    label_probs = preds * targets + (1 - preds) * (1 - targets)
    return -np.sum(np.log(label_probs))


def central_difference(f, x, direction, eps=1e-6):
    """The derivative of ``f`` at ``x`` along ``direction``, numerically."""
    return (f(x + eps * direction) - f(x - eps * direction)) / (2 * eps)


def section(title: str) -> None:
    print(f"\n## {title}")


def starting_with_grad() -> dict:
    section("Starting with grad")
    dtanh = tangent_src.grad(tanh)
    d2tanh = tangent_src.grad(tangent_src.grad(tanh))
    d3tanh = tangent_src.grad(tangent_src.grad(tangent_src.grad(tanh)))
    print("d tanh / dx at 2.0:  ", dtanh(2.0))
    print("second derivative:   ", d2tanh(2.0))
    print("third derivative:    ", d3tanh(2.0))
    return {"dtanh": dtanh(2.0), "d2tanh": d2tanh(2.0), "d3tanh": d3tanh(2.0)}


def logistic_regression(W, b) -> dict:
    section("Gradients of a logistic regression")
    print("predictions:", predict(W, b, INPUTS))
    print("loss:       ", loss(W, b, INPUTS, TARGETS))

    W_grad = tangent_src.grad(loss, wrt=0)(W, b, INPUTS, TARGETS)
    print("W_grad (wrt=0)       =", W_grad)
    W_grad_by_name = tangent_src.grad(loss, wrt="W")(W, b, INPUTS, TARGETS)
    print("W_grad (wrt='W')     =", W_grad_by_name)
    b_grad = tangent_src.grad(loss, wrt=1)(W, b, INPUTS, TARGETS)
    print("b_grad (wrt=1)       =", b_grad)
    W_grad2, b_grad2 = tangent_src.grad(loss, wrt=(0, 1))(W, b, INPUTS, TARGETS)
    print("(W_grad, b_grad) (wrt=(0, 1)) =", W_grad2, b_grad2)
    return {"W_grad": W_grad, "W_grad_by_name": W_grad_by_name, "b_grad": b_grad,
            "W_grad2": W_grad2, "b_grad2": b_grad2}


def dict_of_parameters(W, b) -> dict:
    section("Differentiating with respect to a dict")
    params = {"W": W, "b": b}
    grads = tangent_src.grad(loss_of_dict)(params, INPUTS, TARGETS)
    print("grads =", grads)
    return grads


def value_and_gradient(W, b) -> tuple:
    section("value_and_grad")
    loss_value, W_grad = tangent_src.value_and_grad(loss)(W, b, INPUTS, TARGETS)
    print("loss value:", loss_value)
    print("loss value (direct):", loss(W, b, INPUTS, TARGETS))
    return loss_value, W_grad


def against_finite_differences(W, b, rng) -> dict:
    section("Checking against numerical differences")
    b_grad = tangent_src.grad(loss, wrt=1)(W, b, INPUTS, TARGETS)
    b_numeric = central_difference(lambda b_: loss(W, b_, INPUTS, TARGETS), b, 1.0)
    print("b_grad, autodiff:", b_grad)
    print("b_grad, numeric: ", b_numeric)

    direction = rng.normal(size=W.shape)
    direction /= np.linalg.norm(direction)
    W_grad = tangent_src.grad(loss, wrt=0)(W, b, INPUTS, TARGETS)
    W_dirderiv = central_difference(lambda W_: loss(W_, b, INPUTS, TARGETS), W, direction)
    print("W dirderiv, autodiff:", np.vdot(W_grad, direction))
    print("W dirderiv, numeric: ", W_dirderiv)

    tangent_src.check_grads(loss, (W, b, INPUTS, TARGETS), order=2)
    print("check_grads(loss, order=2): forward and reverse mode agree with differences")
    return {"b_grad": b_grad, "b_numeric": b_numeric,
            "W_dir": np.vdot(W_grad, direction), "W_dir_numeric": W_dirderiv}


def hessian_vector_products(W, b, rng) -> dict:
    section("Hessian-vector products")
    v = rng.normal(size=W.shape)
    Hv = tangent_src.hvp(loss, wrt=0)(W, b, INPUTS, TARGETS, v)
    H = tangent_src.hessian(loss, wrt=0)(W, b, INPUTS, TARGETS)
    print("H @ v from hvp:     ", Hv)
    print("H @ v from hessian: ", H @ v)
    return {"Hv": Hv, "H": H, "v": v}


def jacobians(W, b) -> dict:
    section("Jacobians and Hessians")
    J_fwd = tangent_src.jacfwd(predict, wrt=0)(W, b, INPUTS)
    J_rev = tangent_src.jacrev(predict, wrt=0)(W, b, INPUTS)
    print("jacfwd result, with shape", J_fwd.shape)
    print(J_fwd)
    print("jacrev result, with shape", J_rev.shape)
    print(J_rev)
    # a Hessian is the Jacobian of the gradient: forward mode over reverse mode
    H = tangent_src.jacfwd(tangent_src.grad(loss, wrt=0), wrt=0)(W, b, INPUTS, TARGETS)
    print("Hessian, jacfwd(grad(loss)), with shape", H.shape)
    print(H)
    return {"J_fwd": J_fwd, "J_rev": J_rev, "H": H}


def jvp_and_vjp(W, b, rng) -> dict:
    section("jvp and vjp")
    tangent_W = rng.normal(size=W.shape)
    preds, preds_dot = tangent_src.jvp(lambda W_: predict(W_, b, INPUTS), (W,), (tangent_W,))
    print("jvp: predictions     ", preds)
    print("jvp: their tangent   ", preds_dot)

    preds2, vjp_fun = tangent_src.vjp(lambda W_: predict(W_, b, INPUTS), W)
    cotangent = np.ones_like(preds2)
    (W_cotangent,) = vjp_fun(cotangent)
    print("vjp: ones @ J        ", W_cotangent)
    return {"preds_dot": preds_dot, "tangent_W": tangent_W,
            "W_cotangent": W_cotangent, "cotangent": cotangent}


def main() -> dict:
    """Run the tutorial; return what it computed, so tests can check it."""
    rng = np.random.default_rng(0)
    W = rng.normal(size=3)
    b = float(rng.normal())
    results = {"W": W, "b": b}
    results["tanh"] = starting_with_grad()
    results["logreg"] = logistic_regression(W, b)
    results["dict"] = dict_of_parameters(W, b)
    results["value_and_grad"] = value_and_gradient(W, b)
    results["numeric"] = against_finite_differences(W, b, rng)
    results["hvp"] = hessian_vector_products(W, b, rng)
    results["jacobians"] = jacobians(W, b)
    results["jvp_vjp"] = jvp_and_vjp(W, b, rng)
    return results


if __name__ == "__main__":
    main()
