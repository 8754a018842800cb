"""A bound method (`model.loss`) is differentiated as its function with the object passed
first and never differentiated; was a raw TypeError (`loss_fwd() missing ... 'x'`)."""
import pickle

import numpy as np
from fdcheck import numerical_grad

import tangent_src


class Layer:
    """A model object holding its parameters, in the usual tutorial style."""

    def __init__(self, scale: float):
        self.scale = scale
        self.W = np.array([[0.5, -0.3], [0.2, 0.8]])

    def predict(self, x):
        return np.tanh(self.W @ x) * self.scale

    def loss(self, x, target=1.0):
        return np.sum((self.predict(x) - target) ** 2)


X = np.array([0.3, -0.7])


def test_grad_and_value_of_a_bound_method():
    model = Layer(1.5)
    expected = numerical_grad(model.loss, (X,))
    np.testing.assert_allclose(tangent_src.grad(model.loss)(X), expected, rtol=1e-6)
    value, slope = tangent_src.value_and_grad(model.loss)(X)
    assert np.isclose(value, model.loss(X))
    np.testing.assert_allclose(slope, expected, rtol=1e-6)


def test_the_object_is_read_when_the_gradient_runs():
    model = Layer(1.5)
    d = tangent_src.grad(model.loss)
    d(X)
    model.scale = -0.5
    np.testing.assert_allclose(d(X), numerical_grad(model.loss, (X,)), rtol=1e-6)


def test_wrt_counts_from_the_first_argument_after_self():
    model = Layer(0.7)
    got = tangent_src.grad(model.loss, wrt=1)(X, 0.25)
    expected = numerical_grad(lambda t: model.loss(X, t), (0.25,))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    both = tangent_src.grad(model.loss, wrt=("x", "target"))(X, 0.25)
    np.testing.assert_allclose(both[1], expected, rtol=1e-6)


def test_forward_mode_second_order_and_jacobian_of_a_bound_method():
    model = Layer(1.2)
    v = np.array([1.0, 0.5])
    _, tangent = tangent_src.jvp(model.loss, (X,), (v,))
    np.testing.assert_allclose(tangent, numerical_grad(model.loss, (X,)) @ v, rtol=1e-6)
    gradient = tangent_src.grad(model.loss)
    hv = tangent_src.hvp(model.loss)(X, v)
    h = 1e-5
    np.testing.assert_allclose(hv, (gradient(X + h * v) - gradient(X - h * v)) / (2 * h),
                               rtol=1e-5)
    jac = tangent_src.jacobian(model.predict)(X)
    columns = [numerical_grad(lambda x, i=i: model.predict(x)[i], (X,)) for i in range(2)]
    np.testing.assert_allclose(jac, np.array(columns), rtol=1e-6)


def test_a_gradient_of_a_bound_method_pickles():
    model = Layer(0.9)
    d = pickle.loads(pickle.dumps(tangent_src.grad(model.loss)))
    np.testing.assert_allclose(d(X), numerical_grad(model.loss, (X,)), rtol=1e-6)
