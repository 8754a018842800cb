"""Golden-file cases: small functions, each exercising one construct.

``CASES`` lists ``(name, func, wrt)``; SPECIALIZED, FORWARD (forward mode) and SECOND (second
derivatives) list ``(name, func, wrt, make_args)``; see golden/README.md.
"""
import numpy as np

SCALE = 2.5


# --- arithmetic ---------------------------------------------------------------------------


def arith(x, y):
    return x * y + x / y - y


def poly(x):
    return 3.0 * x ** 3 - 2.0 * x ** 2 + 5.0 * x - 1.0


def broadcast_add(x, b):
    return np.sum((x + b) * x)


def matmul_sum(A, B):
    return np.sum(A @ B)


# --- elementwise and reduction functions -------------------------------------------------


def tanh_sum(x):
    return np.sum(np.tanh(x))


def exp_sum(x):
    return np.sum(np.exp(x))


def log_sum(x):
    return np.sum(np.log(x))


def sum_axis_keepdims(x):
    s = np.sum(x, axis=1, keepdims=True)
    return np.sum(x * s)


def mean_square(x):
    return np.mean(x * x)


def relu(x):
    return np.sum(np.maximum(x, 0.0))


def leaky_relu_where(x):
    return np.sum(np.where(x > 0.0, x, 0.1 * x))


def reshape_transpose(x):
    y = np.reshape(x, (2, 3))
    z = np.transpose(y)
    return np.sum(z * z)


def index_slice(x):
    return x[0] * x[1] + np.sum(x[2:])


# --- assignment forms ---------------------------------------------------------------------


def augassign(x):
    y = x * 2.0
    y += x * x
    y *= 3.0
    return y


def tuple_unpack(x):
    a, b = x * 2.0, x + 1.0
    return a * b


# --- control flow -------------------------------------------------------------------------


def if_elif_else(x):
    if x > 1.0:
        y = x * x
    elif x > 0.0:
        y = 2.0 * x
    else:
        y = -x
    return y


def cond_expr(x):
    return x * x if x > 0.0 else -x


def for_range(x, n=3):
    y = x
    for i in range(n):
        y = y * x + i
    return y


def for_rows(X):
    total = 0.0
    for row in X:
        total = total + np.sum(row * row)
    return total


def while_loop(x):
    y = 1.0
    k = 0
    while k < 3:
        y = y * x
        k = k + 1
    return y


def loop_break(x):
    y = x
    for i in range(10):
        if y > 5.0:
            break
        y = y * 2.0
    return y


def loop_continue(x, n=4):
    y = 0.0
    for i in range(n):
        if i % 2 == 0:
            continue
        y = y + x * i
    return y


def multiple_returns(x):
    if x > 0.0:
        return x * x
    return -3.0 * x


# --- functions, globals, builtins, keywords -----------------------------------------------


def square(x):
    return x * x


def call_user_function(x):
    return square(x) + 2.0 * x


def module_constant(x):
    return SCALE * x * x


def builtins_min_max_abs(x, y):
    return max(x, y) + min(x, 0.5 * y) + abs(x - y)


def kwargs_defaults(x, scale=2.0, shift=0.5):
    return scale * (x - shift) ** 2


def scaled_power(x, scale=1.0, power=2):
    return scale * x ** power


def call_with_keywords(x):
    return scaled_power(x, power=3) + scaled_power(x, scale=0.5)


# --- a small model ------------------------------------------------------------------------


def logistic_loss(W, b, X, y):
    z = np.dot(X, W) + b
    p = 1.0 / (1.0 + np.exp(-z))
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


CASES = [
    ("arith", arith, (0, 1)),
    ("poly", poly, 0),
    ("broadcast_add", broadcast_add, (0, 1)),
    ("matmul_sum", matmul_sum, (0, 1)),
    ("tanh_sum", tanh_sum, 0),
    ("exp_sum", exp_sum, 0),
    ("log_sum", log_sum, 0),
    ("sum_axis_keepdims", sum_axis_keepdims, 0),
    ("mean_square", mean_square, 0),
    ("relu", relu, 0),
    ("leaky_relu_where", leaky_relu_where, 0),
    ("reshape_transpose", reshape_transpose, 0),
    ("index_slice", index_slice, 0),
    ("augassign", augassign, 0),
    ("tuple_unpack", tuple_unpack, 0),
    ("if_elif_else", if_elif_else, 0),
    ("cond_expr", cond_expr, 0),
    ("for_range", for_range, 0),
    ("for_rows", for_rows, 0),
    ("while_loop", while_loop, 0),
    ("loop_break", loop_break, 0),
    ("loop_continue", loop_continue, 0),
    ("multiple_returns", multiple_returns, 0),
    ("call_user_function", call_user_function, 0),
    ("module_constant", module_constant, 0),
    ("builtins_min_max_abs", builtins_min_max_abs, (0, 1)),
    ("kwargs_defaults", kwargs_defaults, 0),
    ("call_with_keywords", call_with_keywords, 0),
    ("logistic_loss", logistic_loss, ("W", "b")),
]


# --- specialized to the shapes of example arguments ---------------------------------------
# What `grad(f)(*args)` runs (and `verbose=1` prints): exact broadcasting and products.


def mlp_softmax(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    z = z - np.max(z, axis=1, keepdims=True)
    log_probs = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(np.sum(Y * log_probs, axis=1))


def scalar_loop(y, n):
    for i in range(n):
        y = y + 0.01 * (np.sin(y) * y - y ** 3)
    return y


def rnn(W, U, h, xs):
    for t in range(len(xs)):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h * h)


def _rng():
    return np.random.default_rng(0)


SPECIALIZED = [
    ("logistic_loss_shaped", logistic_loss, ("W", "b"),
     lambda: (_rng().normal(size=3), 0.1, _rng().normal(size=(4, 3)), np.ones(4))),
    ("mlp_softmax", mlp_softmax, (0, 1, 2, 3),
     lambda: (np.ones((5, 4)), np.ones(4), np.ones((4, 3)), np.ones(3), np.ones((6, 5)),
              np.eye(3)[[0, 1, 2, 0, 1, 2]])),
    ("scalar_loop", scalar_loop, 0, lambda: (0.5, 10)),
    ("rnn", rnn, (0, 1), lambda: (np.ones((4, 4)), np.ones((4, 3)), np.ones(4),
                                  np.ones((5, 3)))),
]


# --- everyday Python (issue #4), specialized to example arguments ------------------------
import tangent_src  # noqa: E402


def mlp_dict_params(params, X, y):
    def dense(h, layer):
        return np.tanh(h @ params[layer]["W"] + params[layer]["b"])
    h = X
    for layer in ["hidden", "out"]:
        h = dense(h, layer)
    return np.mean((h[:, 0] - y) ** 2)


def comprehension_sum(x, ws):
    hs = [np.tanh(w * x) for w in ws]
    return sum(np.sum(h * h) for h in hs)


def array_writes(x):
    w = np.zeros(3)
    for i in range(3):
        w[i] = x[i] * x[i + 1]
    w[1:] += np.sin(x[:2])
    return np.sum(w * w)


def methods_and_attributes(A, x):
    return (A.T @ x).clip(-1.0, 1.0).sum() / x.shape[0] + A.mean(axis=0).max()


def surgery(x):
    y = x * x
    with tangent_src.insert_grad_of(y) as dy:
        dy = np.clip(dy, -1.0, 1.0)
    return np.sum(y * tangent_src.stop_gradient(x))


def checkpointed_loop(y, n):
    with tangent_src.checkpoint():
        for i in range(n):
            y = y + 0.01 * (np.sin(y) * y - y ** 3)
    return y


class Affine:
    """A parameter holder whose method the loss calls."""

    def __init__(self, W, b):
        self.W = W
        self.b = b

    def apply(self, x):
        return x @ self.W + self.b


def softplus(v):
    return np.log1p(np.exp(v))


@tangent_src.adjoint(softplus)
def _softplus_adjoint(y, v):
    tangent_src.d[v] = tangent_src.d[y] / (1.0 + np.exp(-v))


def objects_lambdas_rules(layer, x, scale):
    square = lambda v: v * v  # noqa: E731 - the construct shown
    h = layer.apply(x)
    return np.sum(square(softplus(h))) * scale


def _mlp_args():
    rng = np.random.default_rng(1)
    params = {"hidden": {"W": rng.normal(size=(3, 4)), "b": np.zeros(4)},
              "out": {"W": rng.normal(size=(4, 2)), "b": np.zeros(2)}}
    return params, rng.normal(size=(5, 3)), rng.normal(size=5)


SPECIALIZED += [
    ("mlp_dict_params", mlp_dict_params, 0, _mlp_args),
    ("comprehension_sum", comprehension_sum, 0, lambda: (0.3, [0.5, -1.0, 2.0])),
    ("array_writes", array_writes, 0, lambda: (np.array([0.1, 0.2, 0.3, 0.4]),)),
    ("methods_and_attributes", methods_and_attributes, (0, 1),
     lambda: (np.ones((3, 2)) * 0.3, np.array([0.2, -0.1, 0.4]))),
    ("surgery", surgery, 0, lambda: (np.array([0.5, -1.5]),)),
    ("checkpointed_loop", checkpointed_loop, 0, lambda: (0.5, 10)),
    ("objects_lambdas_rules", objects_lambdas_rules, 0,
     lambda: (Affine(np.ones((3, 2)) * 0.5, np.zeros(2)), np.array([0.1, 0.2, 0.3]), 2.0)),
]


# --- forward mode -------------------------------------------------------------------------
# FORWARD lists (name, func, wrt, make_args or None); the expected source is that of
# autodiff(func, mode="forward", wrt=wrt): the general version when make_args is None,
# else the version specialized to make_args(). The generated function takes func's
# arguments followed by one tangent per wrt argument and returns the output's tangent.


def tanh_scalar(x):
    return np.tanh(x)


FORWARD = [
    ("poly_jvp", poly, 0, None),
    ("for_range_jvp", for_range, 0, None),
    ("while_loop_jvp", while_loop, 0, None),
    ("if_elif_else_jvp", if_elif_else, 0, None),
    ("multiple_returns_jvp", multiple_returns, 0, None),
    ("call_user_function_jvp", call_user_function, 0, None),
    ("call_with_keywords_jvp", call_with_keywords, 0, None),
    ("broadcast_add_jvp", broadcast_add, (0, 1), None),
    ("broadcast_add_jvp_shaped", broadcast_add, (0, 1),
     lambda: (_rng().normal(size=(3, 4)), _rng().normal(size=4))),
    ("logistic_loss_jvp", logistic_loss, ("W", "b"),
     lambda: (_rng().normal(size=3), 0.1, _rng().normal(size=(4, 3)), np.ones(4))),
    ("scalar_loop_jvp", scalar_loop, 0, lambda: (0.5, 10)),
    ("rnn_jvp", rnn, (0, 1), lambda: (0.3 * _rng().normal(size=(4, 4)),
                                      0.3 * _rng().normal(size=(4, 3)),
                                      _rng().normal(size=4), _rng().normal(size=(5, 3)))),
]

# Arguments at which the tests check the general FORWARD cases (make_args None) against
# finite differences; the golden source itself is not specialized to them.
CHECK_ARGS = {
    "poly_jvp": lambda: (1.3,),
    "for_range_jvp": lambda: (0.7, 3),
    "while_loop_jvp": lambda: (-1.2,),
    "if_elif_else_jvp": lambda: (0.4,),
    "multiple_returns_jvp": lambda: (-0.8,),
    "call_user_function_jvp": lambda: (0.9,),
    "call_with_keywords_jvp": lambda: (1.1,),
    "broadcast_add_jvp": lambda: (_rng().normal(size=(2, 3)), _rng().normal(size=3)),
}


# --- second derivatives -------------------------------------------------------------------
# SECOND lists (name, func, wrt, make_args) for scalar functions of a scalar; the expected
# source is that of grad(grad(func, wrt=wrt), wrt=wrt), specialized to make_args().


def cubic_sin(x):
    return x ** 3 + np.sin(x)


SECOND = [
    ("tanh_dd", tanh_scalar, 0, lambda: (0.7,)),
    ("poly_dd", poly, 0, lambda: (1.3,)),
    ("cubic_sin_dd", cubic_sin, 0, lambda: (0.8,)),
    ("call_user_function_dd", call_user_function, 0, lambda: (0.9,)),
    ("scalar_loop_dd", scalar_loop, 0, lambda: (0.5, 10)),
]


# --- arguments for running the gradient golden files --------------------------------------
# tests/test_golden.py calls every gradient golden file (CASES, SPECIALIZED) at these
# arguments and compares it with central finite differences: every general case needs an
# entry. They keep away from kinks (abs, max, min, where, relu, branches, clip) and inside
# the domains (log); array arguments of several shapes exercise broadcasting. A SPECIALIZED
# entry overrides example arguments that sit on a tie of max or saturate tanh, with arguments
# of the same shapes (the golden code is specialized to shapes, not values).


def _normal(*shapes, scale=1.0):
    """Standard normal arrays of these shapes (a float for shape ()), from one fixed seed."""
    rng = np.random.default_rng(12)
    return tuple(float(scale * rng.normal()) if shape == () else scale * rng.normal(size=shape)
                 for shape in shapes)


def _positive(*shapes):
    """Arrays of these shapes with entries in [0.5, 1.5), from one fixed seed."""
    rng = np.random.default_rng(13)
    return tuple(0.5 + rng.random(size=shape) for shape in shapes)


CHECK_ARGS.update({
    "arith": lambda: (_normal((2, 3))[0], _positive((3,))[0]),
    "poly": lambda: _normal((4,)),
    "broadcast_add": lambda: _normal((3, 4), (4,)),
    "matmul_sum": lambda: _normal((2, 3), (3, 4)),
    "tanh_sum": lambda: _normal((2, 3)),
    "exp_sum": lambda: _normal((5,)),
    "log_sum": lambda: _positive((2, 2)),
    "sum_axis_keepdims": lambda: _normal((3, 4)),
    "mean_square": lambda: _normal((2, 5)),
    "relu": lambda: (np.array([-1.2, 0.4, 2.0, -0.3, 0.7]),),
    "leaky_relu_where": lambda: (np.array([[0.5, -1.5, 0.25], [-0.2, 1.1, -0.9]]),),
    "reshape_transpose": lambda: _normal((3, 2)),
    "index_slice": lambda: _normal((5,)),
    "augassign": lambda: _normal((3,)),
    "tuple_unpack": lambda: _normal((2, 2)),
    "if_elif_else": lambda: (1.7,),
    "cond_expr": lambda: (0.8,),
    "for_range": lambda: (0.7, 4),
    "for_rows": lambda: _normal((4, 3)),
    "while_loop": lambda: _normal((3,)),
    "loop_break": lambda: (0.7,),
    "loop_continue": lambda: (1.3, 5),
    "multiple_returns": lambda: (0.6,),
    "call_user_function": lambda: _normal((3,)),
    "module_constant": lambda: _normal((2, 2)),
    "builtins_min_max_abs": lambda: (0.3, 1.1),
    "kwargs_defaults": lambda: (0.9, 1.5, -0.2),
    "call_with_keywords": lambda: _normal((3,)),
    "logistic_loss": lambda: (*_normal((3,), (), (4, 3)), np.array([0.0, 1.0, 1.0, 0.0])),
    # SPECIALIZED: the example arguments are all ones (saturated tanh, tied maxima)
    "mlp_softmax": lambda: (*_normal((5, 4), (4,), (4, 3), (3,), (6, 5), scale=0.5),
                            np.eye(3)[[0, 1, 2, 0, 1, 2]]),
    "rnn": lambda: _normal((4, 4), (4, 3), (4,), (5, 3), scale=0.4),
    "methods_and_attributes": lambda: (np.array([[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2]]),
                                       np.array([0.2, -0.1, 0.4])),
})


def _surgery_gradient(x):
    """What surgery's gradient is by design, derived by hand: the adjoint of y, which is
    stop_gradient(x), clipped to [-1, 1] and taken back through y = x * x. It is not the
    derivative 3 x**2 of the function, so finite differences cannot be its reference."""
    return 2.0 * x * np.clip(x, -1.0, 1.0)


# Gradient cases whose reference is derived by hand instead of finite differences:
# name -> function of the check arguments returning the gradient (one wrt argument).
HAND_GRADIENTS = {"surgery": _surgery_gradient}


# --- an LSTM: gate slices of one vector, a cell returning (h, c), a loop over layers ------


def lstm_cell(w, bias, h, c, x):
    n = h.shape[0]
    g = np.concatenate((x, h)) * w + bias
    forget = 1.0 / (1.0 + np.exp(-g[0:n]))
    change = np.tanh(g[n:])
    c2 = c * forget + (1.0 - forget) * change
    return np.tanh(c2) * forget, c2


def lstm_layers(W, B, hs, cs, x):
    total = 0.0
    for j in range(hs.shape[0]):
        h, c = lstm_cell(W[j], B[j], hs[j], cs[j], x)
        total = total + np.sum(h * c)
        x = h
    return total


def _lstm_args():
    rng = np.random.default_rng(2)
    return (rng.normal(size=(2, 6)), rng.normal(size=(2, 6)), rng.normal(size=(2, 3)),
            rng.normal(size=(2, 3)), rng.normal(size=3))


SPECIALIZED += [("lstm_layers", lstm_layers, (0, 1, 2, 3, 4), _lstm_args)]
