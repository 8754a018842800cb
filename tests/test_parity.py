"""JAX parity, table-driven: every transform x every way of choosing what it differentiates
(a position, a name, a tuple, argnums=, a pytree argument, float32 arguments).

Each row checks the result's structure against JAX's documented layout (an int argnums
gives one result, a tuple a tuple; jacobian leaves are out.shape + arg.shape; a Hessian is
nested twice, H[i][j] of shape xi.shape + xj.shape) and its values against central finite
differences of the plain function in float64 (the helpers below; nothing here calls
tangent_src to build a reference). float32 rows also check that every result stays
float32, as JAX's do."""
import numpy as np
import pytest

import tangent_src
from tangent_src import stop_gradient
from tangent_src.errors import RequestError, TangentError
from tests.fdcheck import numerical_grad

RNG = np.random.default_rng(7)
X0 = RNG.normal(size=3)
Y0 = RNG.normal(size=(2, 3))
DATA = RNG.normal(size=(4, 3))
PARAMS = {"W": RNG.normal(size=(3, 2)) * 0.5, "b": RNG.normal(size=2) * 0.5}


# --------------------------------------------------------------------------- functions
def loss(x, y):
    total = 0.0
    for row in y:  # a loop over the rows, as user code writes it
        total = total + np.sum(np.sin(x) * row ** 2)
    return total + np.sum(x ** 3) * 0.1


def vec(x, y):
    return np.tanh(y @ x) * (x[0] + 2.0)


def tree_loss(params, X):
    h = np.tanh(X @ params["W"] + params["b"])
    return np.sum(h ** 2)


def tree_vec(params, X):
    return np.tanh(X @ params["W"] + params["b"])[:, 0]


def loss_stopped(x, y):
    """Its gradient with respect to y is wrong on purpose (stop_gradient hides a term)."""
    return loss(x, y) + np.sum(stop_gradient(y) ** 2)


def tree_stopped(params, X):
    return tree_loss(params, X) + np.sum(stop_gradient(X) ** 2)


PLAIN = {"scalar": loss, "vector": vec, "stopped": loss_stopped}
TREE = {"scalar": tree_loss, "vector": tree_vec, "stopped": tree_stopped}

# id: (functions, arguments, options, selected positions, one int given, stopped position)
CASES = {
    "index": (PLAIN, (X0, Y0), {"wrt": 1}, (1,), True),
    "name": (PLAIN, (X0, Y0), {"wrt": "y"}, (1,), True),
    "tuple": (PLAIN, (X0, Y0), {"wrt": (0, "y")}, (0, 1), False),
    "argnums": (PLAIN, (X0, Y0), {"argnums": (1, 0)}, (1, 0), False),
    "argnums_int": (PLAIN, (X0, Y0), {"argnums": -1}, (1,), True),
    "pytree": (TREE, (PARAMS, DATA), {"wrt": "params"}, (0,), True),
    "float32": (PLAIN, (X0.astype(np.float32), Y0.astype(np.float32)), {"wrt": (0, 1)},
                (0, 1), False),
}


# --------------------------------------------------------------------------- float64 references
def _leaves(tree) -> list:
    if isinstance(tree, dict):
        return [leaf for key in tree for leaf in _leaves(tree[key])]
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [tree]


def _flat(tree) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(leaf, dtype=np.float64))
                           for leaf in _leaves(tree)])


def _unflat(like, vec, prefix=()):
    """`like`'s structure from the columns of `vec` (rows: prod(prefix))."""
    vec = np.asarray(vec).reshape((-1, np.asarray(vec).shape[-1]))
    offset = 0

    def build(node):
        nonlocal offset
        if isinstance(node, dict):
            return {key: build(value) for key, value in node.items()}
        if isinstance(node, (tuple, list)):
            return type(node)(build(item) for item in node)
        n = int(np.size(node))
        block = vec[:, offset:offset + n].reshape(prefix + np.shape(node))
        offset += n
        return block
    return build(like)


def _as64(args):
    return tuple(_unflat(a, _flat(a)[None, :]) for a in args)


def fd_jac(f, args, k, eps=1e-6) -> np.ndarray:
    """d f / d args[k] as a matrix (out.size, size of args[k]), central differences."""
    args = _as64(args)
    base = _flat(args[k])
    cols = []
    for i in range(base.size):
        step = np.zeros(base.size)
        step[i] = eps
        hi = list(args)
        lo = list(args)
        hi[k] = _unflat(args[k], (base + step)[None, :])
        lo[k] = _unflat(args[k], (base - step)[None, :])
        cols.append((np.ravel(f(*hi)) - np.ravel(f(*lo))) / (2 * eps))
    return np.stack(cols, axis=1)


def fd_hess(f, args, i, j) -> np.ndarray:
    """d^2 f / d args[i] d args[j]: differences of differences."""
    def grad_i(*a):
        return fd_jac(f, a, i, eps=1e-5)[0]
    return fd_jac(grad_i, args, j, eps=1e-4)


def assert_tree(actual, expected, dtype=np.float64, rtol=1e-5, atol=1e-6, where="result"):
    """Same structure (container types, dict keys, lengths, shapes) and close values; every
    array leaf of `dtype`."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), where
        for key in expected:
            assert_tree(actual[key], expected[key], dtype, rtol, atol, f"{where}[{key!r}]")
        return
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple) and len(actual) == len(expected), \
            f"{where}: {type(actual).__name__} instead of a tuple of {len(expected)}"
        for n, (a, e) in enumerate(zip(actual, expected)):
            assert_tree(a, e, dtype, rtol, atol, f"{where}[{n}]")
        return
    assert not isinstance(actual, (tuple, list, dict)), f"{where}: a container"
    assert np.shape(actual) == np.shape(expected), \
        f"{where}: shape {np.shape(actual)}, expected {np.shape(expected)}"
    if isinstance(actual, np.ndarray) or dtype != np.float64:
        assert np.asarray(actual).dtype == dtype, f"{where}: dtype {np.asarray(actual).dtype}"
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol,
                               atol=atol, err_msg=where)


def _setup(case_id):
    funcs, args, options, where, single = CASES[case_id]
    dtype = np.float32 if case_id == "float32" else np.float64
    tol = {"rtol": 2e-3, "atol": 2e-4} if dtype == np.float32 else {}
    return funcs, args, options, where, single, dtype, tol


def _one_or_tuple(values, single):
    return values[0] if single else tuple(values)


def _grads(f, args, where):
    return [_unflat(args[k], fd_jac(f, args, k)[0]) for k in where]


# --------------------------------------------------------------------------- the transforms
def run_grad(case_id):
    funcs, args, options, where, single, dtype, tol = _setup(case_id)
    result = tangent_src.grad(funcs["scalar"], **options)(*args)
    assert_tree(result, _one_or_tuple(_grads(funcs["scalar"], args, where), single), dtype,
                **tol)


def run_value_and_grad(case_id):
    funcs, args, options, where, single, dtype, tol = _setup(case_id)
    value, result = tangent_src.value_and_grad(funcs["scalar"], **options)(*args)
    np.testing.assert_allclose(value, funcs["scalar"](*_as64(args)), rtol=1e-5)
    assert_tree(result, _one_or_tuple(_grads(funcs["scalar"], args, where), single), dtype,
                **tol)


def run_autodiff_reverse(case_id):
    funcs, args, options, where, single, dtype, tol = _setup(case_id)
    seed = 0.75
    result = tangent_src.autodiff(funcs["scalar"], mode="reverse", **options)(*args, seed)
    expected = [_unflat(args[k], seed * fd_jac(funcs["scalar"], args, k)[0]) for k in where]
    assert_tree(result, _one_or_tuple(expected, single), dtype, **tol)


def run_autodiff_forward(case_id):
    funcs, args, options, where, single, dtype, tol = _setup(case_id)
    f = funcs["vector"]
    tangents = [_unflat(args[k], RNG.normal(size=(1, _flat(args[k]).size)).astype(dtype))
                for k in where]
    result = tangent_src.autodiff(f, mode="forward", **options)(*args, *tangents)
    expected = sum(fd_jac(f, args, k) @ _flat(t) for k, t in zip(where, tangents))
    assert_tree(result, expected.reshape(np.shape(f(*args))), dtype, **tol)


def run_vjp(case_id):
    funcs, args, options, where, single, dtype, tol = _setup(case_id)
    f = funcs["vector"]
    out, vjp_fun = tangent_src.vjp(f, *args, **options)
    cotangent = RNG.normal(size=np.shape(out)).astype(dtype)
    expected = [_unflat(args[k], np.ravel(cotangent) @ fd_jac(f, args, k)) for k in where]
    assert_tree(vjp_fun(cotangent), _one_or_tuple(expected, single), dtype, **tol)


def run_hvp(case_id):
    funcs, args, options, where, single, dtype, tol = _setup(case_id)
    f = funcs["scalar"]
    vs = [_unflat(args[k], RNG.normal(size=(1, _flat(args[k]).size)).astype(dtype))
          for k in where]
    result = tangent_src.hvp(f, **options)(*args, vs[0] if single else tuple(vs))
    expected = [_unflat(args[i], sum(fd_hess(f, args, i, j) @ _flat(v)
                                     for j, v in zip(where, vs))) for i in where]
    assert_tree(result, _one_or_tuple(expected, single), dtype,
                **(tol or {"rtol": 1e-4, "atol": 1e-5}))


def run_hessian(case_id):
    funcs, args, options, where, single, dtype, tol = _setup(case_id)
    f = funcs["scalar"]
    result = tangent_src.hessian(f, **options)(*args)
    expected = [[_hessian_blocks(args, i, j, fd_hess(f, args, i, j)) for j in where]
                for i in where]
    expected = _one_or_tuple([_one_or_tuple(row, single) for row in expected], single)
    assert_tree(result, expected, dtype, **(tol or {"rtol": 1e-4, "atol": 1e-5}))


def _hessian_blocks(args, i, j, matrix):
    """JAX's H[i][j] from the matrix (size_i, size_j): args[i]'s structure whose leaves are
    args[j]'s structure of blocks leaf_i.shape + leaf_j.shape."""
    offset = 0

    def build(node):
        nonlocal offset
        if isinstance(node, dict):
            return {key: build(value) for key, value in node.items()}
        if isinstance(node, (tuple, list)):
            return type(node)(build(item) for item in node)
        n = int(np.size(node))
        part = matrix[offset:offset + n]
        offset += n
        return _unflat(args[j], part, np.shape(node))
    return build(args[i])


def _run_jacobian(case_id, build):
    funcs, args, options, where, single, dtype, tol = _setup(case_id)
    f = funcs["vector"]
    out_shape = np.shape(f(*_as64(args)))
    result = build(f, **options)(*args)
    expected = [_unflat(args[k], fd_jac(f, args, k), out_shape) for k in where]
    assert_tree(result, _one_or_tuple(expected, single), dtype, **tol)


def run_jacobian(case_id):
    _run_jacobian(case_id, tangent_src.jacobian)


def run_jacfwd(case_id):
    _run_jacobian(case_id, tangent_src.jacfwd)


def run_jacrev(case_id):
    _run_jacobian(case_id, tangent_src.jacrev)


def run_check_grads(case_id):
    """The selection decides what is checked: the function whose gradient with respect to
    its second argument is wrong passes when only the first is selected, and fails when the
    second is."""
    funcs, args, options, where, single, dtype, tol = _setup(case_id)
    check = {"rtol": 2e-2, "atol": 2e-3} if dtype == np.float32 else {}
    tangent_src.check_grads(funcs["scalar"], args, **options, **check)
    tangent_src.check_grads(funcs["stopped"], args, wrt=0, **check)
    if 1 in where:
        with pytest.raises(AssertionError, match="argument 1"):
            tangent_src.check_grads(funcs["stopped"], args, **options, **check)
    else:
        tangent_src.check_grads(funcs["stopped"], args, **options, **check)
        with pytest.raises(AssertionError, match="argument 1"):
            tangent_src.check_grads(funcs["stopped"], args, argnums=1, **check)


RUNNERS = {name[4:]: run for name, run in dict(globals()).items()
           if name.startswith("run_")}


@pytest.mark.parametrize("case_id", list(CASES))
@pytest.mark.parametrize("transform", list(RUNNERS))
def test_transform_parity(transform, case_id):
    RUNNERS[transform](case_id)


# --------------------------------------------------------------------------- has_aux
def loss_aux(x, y):
    return loss(x, y), {"norm": np.sum(x ** 2), "count": 3}


def vec_aux(x, y):
    return vec(x, y), [x[0], "label"]


@pytest.mark.parametrize("build", [tangent_src.jacobian, tangent_src.jacfwd,
                                   tangent_src.jacrev])
def test_jacobian_has_aux_returns_the_jacobian_and_aux(build):
    J, aux = build(vec_aux, wrt=(0, 1), has_aux=True)(X0, Y0)
    assert_tree(J, (_unflat(X0, fd_jac(vec, (X0, Y0), 0), (2,)),
                    _unflat(Y0, fd_jac(vec, (X0, Y0), 1), (2,))))
    assert aux == [X0[0], "label"]


def test_vjp_has_aux_returns_output_function_and_aux():
    out, vjp_fun, aux = tangent_src.vjp(vec_aux, X0, Y0, has_aux=True)
    np.testing.assert_allclose(out, vec(X0, Y0))
    assert aux == [X0[0], "label"]
    ct = np.array([0.3, -1.2])
    dx, dy = vjp_fun(ct)
    assert_tree((dx, dy), (ct @ fd_jac(vec, (X0, Y0), 0),
                           (ct @ fd_jac(vec, (X0, Y0), 1)).reshape(Y0.shape)))


def test_hessian_refuses_has_aux_clearly():
    with pytest.raises(RequestError, match="has_aux: hessian does not take"):
        tangent_src.hessian(loss_aux, has_aux=True)


# --------------------------------------------------------------------------- refusals
BUILDS = {
    "grad": lambda **kw: tangent_src.grad(loss, **kw),
    "value_and_grad": lambda **kw: tangent_src.value_and_grad(loss, **kw),
    "autodiff": lambda **kw: tangent_src.autodiff(loss, **kw),
    "hvp": lambda **kw: tangent_src.hvp(loss, **kw),
    "hessian": lambda **kw: tangent_src.hessian(loss, **kw),
    "jacobian": lambda **kw: tangent_src.jacobian(vec, **kw),
    "jacfwd": lambda **kw: tangent_src.jacfwd(vec, **kw),
    "jacrev": lambda **kw: tangent_src.jacrev(vec, **kw),
    "vjp": lambda **kw: tangent_src.vjp(vec, X0, Y0, **kw),
    "check_grads": lambda **kw: tangent_src.check_grads(loss, (X0, Y0), **kw),
}


@pytest.mark.parametrize("bad", [{"wrt": "z"}, {"argnums": 2}, {"wrt": (0, "x")},
                                 {"argnums": ()}, {"wrt": 1.5}], ids=repr)
@pytest.mark.parametrize("name", list(BUILDS))
def test_bad_selections_are_refused_with_a_request_error(name, bad):
    with pytest.raises(RequestError, match="wrt: "):
        BUILDS[name](**bad)


def test_check_grads_refuses_an_argument_without_floats_and_args_that_are_no_tuple():
    def scaled(x, n):
        return np.sum(x) * n
    with pytest.raises(RequestError, match="argument 1 of scaled holds no float"):
        tangent_src.check_grads(scaled, (X0, 3), wrt=1)
    with pytest.raises(TangentError, match="args is a tuple"):
        tangent_src.check_grads(loss, X0)


def test_jacobian_refuses_a_tuple_output_and_a_missing_argument():
    def pair(x, y):
        return x * 2.0, y
    with pytest.raises(TangentError, match="jacobian takes a function with one array"):
        tangent_src.jacobian(pair)(X0, Y0)
    with pytest.raises(RequestError, match="passes 1 positional"):
        tangent_src.jacobian(vec, wrt=1)(X0)


def test_hvp_with_several_arguments_takes_a_tuple_of_directions():
    with pytest.raises(TangentError, match=r"v is a tuple with one direction per argument"):
        tangent_src.hvp(loss, wrt=(0, 1))(X0, Y0, X0)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_positional_transforms_of_functions_with_rules_take_argnums(which):
    """jacobian/hessian/check_grads of a function with a rule and no Python signature
    (a ufunc, a bound scipy.stats method) take argnums by position, as grad does: the
    positions are read from the rule's parameters (they were refused, 'a' cannot be
    given that way)."""
    import scipy.stats
    args = (0.3, 0.7, 1.2)
    pdf = scipy.stats.norm.pdf
    got = tangent_src.jacobian(pdf, argnums=(which,))(*args)[0]
    assert np.isclose(got, numerical_grad(pdf, args, which), rtol=1e-7, atol=1e-9)
    tangent_src.check_grads(pdf, args, order=2, argnums=(which,))
    if which < 2:
        def d_arctan2(*xy):
            return tangent_src.grad(np.arctan2, argnums=which)(*xy)
        got = tangent_src.hessian(np.arctan2, argnums=which)(*args[:2])
        assert np.isclose(got, numerical_grad(d_arctan2, args[:2], which), rtol=1e-6)
