"""One request, one reading of `wrt`: every spelling of the same argument(s) means the same
thing in grad, value_and_grad, autodiff (both modes), jvp/vjp, hvp, hessian, jacobian,
check_grads, standalone_source and the command line, and every bad spelling is refused
with the same error class and message everywhere (tangent_src/request.py has the rules).
Every derivative is compared with central finite differences written here."""
from __future__ import annotations

import importlib.util
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tangent_src
from tangent_src import cli
from tangent_src.errors import NotDifferentiableError, RequestError
from tangent_src.request import Params, Request, make_request, resolve_wrt

REPO = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(12)
W = RNG.normal(size=(3, 2))
B = RNG.normal(size=3)
X = RNG.normal(size=2)
ARGS = (W, B, X)


# ------------------------------------------------------------------ user code under test
def layer_loss(W, b, x):
    """A one-layer network's squared activation, summed."""
    h = np.tanh(W @ x + b)
    return 2.0 * np.sum(h * h)


def scaled_loss(W, b, x, *, scale=2.0):
    """With a keyword-only parameter (named, never numbered)."""
    h = np.tanh(W @ x + b)
    return scale * np.sum(h * h)


def layer(W, b, x):
    """The layer itself (vector-valued): for jacobian."""
    return np.tanh(W @ x + b)


def mlp_loss(params, x):
    """Layers as a list of (W, b) pairs, with a loop over them as users write it."""
    h = x
    for W, b in params:
        h = np.tanh(W @ h + b)
    return np.sum(h * h)


class Model:
    """A bound method: `self` is never a wrt argument; positions count from W."""

    def __init__(self, offset):
        self.offset = offset

    def loss(self, W, b, x):
        h = np.tanh(W @ x + b + self.offset)
        return np.sum(h * h)


LAYER_SOURCE = '''import numpy as np


def layer_loss(W, b, x):
    h = np.tanh(W @ x + b)
    return 2.0 * np.sum(h * h)
'''


# ------------------------------------------------------------------ finite differences
def fd(f, args, k, eps=1e-6):
    """d f / d args[k] by central differences (f may be vector-valued: out.shape + x.shape)."""
    x = np.asarray(args[k], dtype=float)
    columns = {}
    for idx in np.ndindex(*x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += eps
        minus[idx] -= eps
        up = f(*args[:k], plus if x.shape else float(plus), *args[k + 1:])
        down = f(*args[:k], minus if x.shape else float(minus), *args[k + 1:])
        columns[idx] = (np.asarray(up) - np.asarray(down)) / (2 * eps)
    out_shape = np.shape(next(iter(columns.values())))
    result = np.zeros(out_shape + x.shape)
    for idx, column in columns.items():
        result[(Ellipsis,) + idx] = column
    return result


def fd_hessian(f, args, k, eps=1e-4):
    """Second derivatives of scalar f in args[k] from the four-point central formula."""
    x = np.asarray(args[k], dtype=float)
    n = x.size
    out = np.zeros((n, n))

    def at(delta):
        return f(*args[:k], (x.ravel() + delta).reshape(x.shape), *args[k + 1:])

    for i in range(n):
        for j in range(n):
            ei, ej = np.eye(n)[i] * eps, np.eye(n)[j] * eps
            out[i, j] = (at(ei + ej) - at(ei - ej) - at(ej - ei) + at(-ei - ej)) / (4 * eps**2)
    return out.reshape(x.shape + x.shape)


def close(actual, expected):
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ the spellings
ONE = [1, -2, "b", (1,), ("b",), [1], np.int64(1), (-2,)]      # all mean b
SEVERAL = [(0, 1), ("W", "b"), (0, "b"), ["W", 1], (-3, -2)]   # all mean (W, b)


@pytest.mark.parametrize("wrt", ONE, ids=repr)
def test_one_argument_spellings_normalize_to_its_name(wrt):
    request = make_request(layer_loss, wrt)
    assert request.wrt == ("b",)
    assert request.single == (not isinstance(wrt, (tuple, list)))
    assert make_request(layer_loss, argnums=wrt).wrt == ("b",)


@pytest.mark.parametrize("wrt", SEVERAL, ids=repr)
def test_several_argument_spellings_normalize_to_their_names(wrt):
    assert make_request(layer_loss, wrt).wrt == ("W", "b")


@pytest.mark.parametrize("wrt", ONE, ids=repr)
def test_grad_and_value_and_grad_agree_with_finite_differences(wrt):
    expected = fd(layer_loss, ARGS, 1)
    unwrap = (lambda r: r[0]) if isinstance(wrt, (tuple, list)) else (lambda r: r)
    close(unwrap(tangent_src.grad(layer_loss, wrt=wrt)(*ARGS)), expected)
    value, gradient = tangent_src.value_and_grad(layer_loss, wrt=wrt)(*ARGS)
    close(value, layer_loss(*ARGS))
    close(unwrap(gradient), expected)


@pytest.mark.parametrize("wrt", SEVERAL, ids=repr)
def test_several_arguments_give_one_gradient_each(wrt):
    dW, db = tangent_src.grad(layer_loss, wrt=wrt)(*ARGS)
    close(dW, fd(layer_loss, ARGS, 0))
    close(db, fd(layer_loss, ARGS, 1))


@pytest.mark.parametrize("wrt", ONE, ids=repr)
def test_forward_and_reverse_autodiff_agree_with_finite_differences(wrt):
    direction = RNG.normal(size=B.shape)
    tangent = tangent_src.autodiff(layer_loss, mode="forward", wrt=wrt)(*ARGS, direction)
    close(tangent, fd(layer_loss, ARGS, 1) @ direction)
    seed = 0.5
    gradient = tangent_src.autodiff(layer_loss, mode="reverse", wrt=wrt)(*ARGS, seed)
    gradient = gradient[0] if isinstance(wrt, (tuple, list)) else gradient
    close(gradient, seed * fd(layer_loss, ARGS, 1))


@pytest.mark.parametrize("wrt", [w for w in ONE if not isinstance(w, (tuple, list))] +
                         [(1,), ("b",)], ids=repr)
def test_hvp_hessian_and_jacobian_agree_with_finite_differences(wrt):
    # a one-entry tuple gives JAX's structure: a tuple (a tuple of tuples for hessian)
    several = isinstance(wrt, (tuple, list))
    unwrap = (lambda r: r[0]) if several else (lambda r: r)
    H = fd_hessian(layer_loss, ARGS, 1)
    close(unwrap(unwrap(tangent_src.hessian(layer_loss, wrt=wrt)(*ARGS))), H)
    v = RNG.normal(size=B.shape)
    close(unwrap(tangent_src.hvp(layer_loss, wrt=wrt)(*ARGS, (v,) if several else v)), H @ v)
    expected = fd(layer, ARGS, 1)
    close(unwrap(tangent_src.jacobian(layer, wrt=wrt)(*ARGS)), expected)
    close(unwrap(tangent_src.jacobian(layer, wrt=wrt, mode="fwd")(*ARGS)), expected)


def test_jvp_and_vjp_take_every_float_argument_by_position():
    tangents = tuple(RNG.normal(size=np.shape(a)) for a in ARGS)
    value, tangent = tangent_src.jvp(layer_loss, ARGS, tangents)
    close(value, layer_loss(*ARGS))
    close(tangent, sum(np.sum(fd(layer_loss, ARGS, k) * t) for k, t in enumerate(tangents)))
    value, vjp_fun = tangent_src.vjp(layer, *ARGS)
    cotangent = RNG.normal(size=3)
    for k, got in enumerate(vjp_fun(cotangent)):
        close(got, np.tensordot(cotangent, fd(layer, ARGS, k), axes=1))


@pytest.mark.parametrize("wrt", [w for w in ONE if not isinstance(w, (tuple, list))] +
                         SEVERAL, ids=repr)
def test_check_grads_accepts_every_spelling(wrt):
    # (a transform built with a 1-tuple is not differentiated again: refused, see api.py)
    tangent_src.check_grads(tangent_src.grad(layer_loss, wrt=wrt), ARGS, order=1,
                            modes=("rev",))


def test_keyword_only_parameter_is_named_not_numbered():
    gradient = tangent_src.grad(scaled_loss, wrt="scale")(*ARGS, scale=3.0)
    close(gradient, fd(lambda s: scaled_loss(*ARGS, scale=s), (3.0,), 0))
    with pytest.raises(RequestError, match=r"position 3 is out of range: scaled_loss\(\) takes "
                                           r"3 positional arguments \(W, b, x\)"):
        tangent_src.grad(scaled_loss, wrt=3)
    with pytest.raises(RequestError, match=r"scaled_loss\(\) has no argument 'c' \(its "
                                           r"arguments: W, b, x, scale\)"):
        tangent_src.grad(scaled_loss, wrt="c")
    # hvp, hessian and jacobian take the argument from their call's positional arguments
    with pytest.raises(RequestError, match="by position"):
        tangent_src.hessian(scaled_loss, wrt="scale")


def test_nested_lists_of_layers():
    params = [(RNG.normal(size=(3, 2)), RNG.normal(size=3)),
              (RNG.normal(size=(2, 3)), RNG.normal(size=2))]
    for wrt in (0, "params", (-2,)):
        grads = tangent_src.grad(mlp_loss, wrt=wrt)(params, X)
        grads = grads[0] if isinstance(wrt, tuple) else grads
        for layer_index, (W_, b_) in enumerate(params):
            for slot, value in ((0, W_), (1, b_)):
                def as_function(v, layer_index=layer_index, slot=slot):
                    changed = [list(p) for p in params]
                    changed[layer_index][slot] = v
                    return mlp_loss([tuple(p) for p in changed], X)
                close(grads[layer_index][slot], fd(as_function, (value,), 0))


# ------------------------------------------------------------------ bad spellings
BAD = {
    (0, "W"): "wrt: argument 'W' is listed twice (as 0 and 'W'); each argument can be "
              "differentiated with respect to once",
    (1, 1): "wrt: argument 'b' is listed twice (as 1); each argument can be differentiated "
            "with respect to once",
    (-3, 0): "wrt: argument 'W' is listed twice (as -3 and 0); each argument can be "
             "differentiated with respect to once",
    3: "wrt: position 3 is out of range: layer_loss() takes 3 positional arguments (W, b, x)",
    -4: "wrt: position -4 is out of range: layer_loss() takes 3 positional arguments "
        "(W, b, x)",
    "c": "wrt: layer_loss() has no argument 'c' (its arguments: W, b, x)",
    True: "wrt: entries are argument positions (int) or parameter names (str), got True "
          "(bool)",
    1.5: "wrt: entries are argument positions (int) or parameter names (str), got 1.5 "
         "(float)",
    None: "wrt: entries are argument positions (int) or parameter names (str), got None "
          "(NoneType)",
    (): "wrt: no argument given; name at least one argument (a position or a parameter "
        "name)",
}
BUILDERS = {
    "grad": lambda wrt: tangent_src.grad(layer_loss, wrt=wrt),
    # argnums=None means "not given": the same value is passed as wrt too
    "grad argnums": lambda wrt: tangent_src.grad(layer_loss, wrt=wrt, argnums=wrt),
    "value_and_grad": lambda wrt: tangent_src.value_and_grad(layer_loss, wrt=wrt),
    "forward": lambda wrt: tangent_src.autodiff(layer_loss, mode="forward", wrt=wrt),
    "reverse": lambda wrt: tangent_src.autodiff(layer_loss, mode="reverse", wrt=wrt),
    "hvp": lambda wrt: tangent_src.hvp(layer_loss, wrt=wrt),
    "hessian": lambda wrt: tangent_src.hessian(layer_loss, wrt=wrt),
    "jacobian": lambda wrt: tangent_src.jacobian(layer_loss, wrt=wrt),
    "standalone_source": lambda wrt: tangent_src.standalone_source(layer_loss, wrt=wrt),
}


@pytest.mark.parametrize("builder", list(BUILDERS))
@pytest.mark.parametrize("wrt", list(BAD), ids=repr)
def test_bad_wrt_is_refused_the_same_way_everywhere_when_built(builder, wrt):
    with pytest.raises(RequestError) as info:
        BUILDERS[builder](wrt)  # refused when built: nothing is called or generated
    assert str(info.value) == BAD[wrt]
    assert info.value.field == "wrt"
    # the classes `except` clauses written against earlier versions catch
    assert isinstance(info.value, ValueError) and isinstance(info.value, NotDifferentiableError)


def test_matrix_transforms_take_several_arguments_as_jax():
    # (more in test_parity.py): one result per argument, in the order given
    J = tangent_src.jacobian(layer, wrt=(0, "b"))(*ARGS)
    assert isinstance(J, tuple) and len(J) == 2
    close(J[1], fd(layer, ARGS, 1))
    H = tangent_src.hessian(layer_loss, wrt=(0, "b"))(*ARGS)
    close(H[1][1], fd_hessian(layer_loss, ARGS, 1))


@pytest.mark.parametrize("spelled", ["W,W", "0,W", "1,b", "3", "c"])
def test_cli_refuses_what_the_library_refuses_with_the_same_message(tmp_path, capsys, spelled):
    path = tmp_path / "layer_mod.py"
    path.write_text(LAYER_SOURCE, encoding="utf-8")
    wrt = cli.parse_wrt(spelled)
    from_file = _import(path).layer_loss
    with pytest.raises(RequestError) as info:
        tangent_src.grad(from_file, wrt=wrt)
    assert cli.main(["grad", f"{path}:layer_loss", "--wrt", spelled]) == 2
    assert capsys.readouterr().err == f"tangent-src: error: --{info.value}\n"


@pytest.mark.parametrize("spelled, positions", [("1", 1), ("b", 1), ("0,b", (0, 1)),
                                                ("W,1", (0, 1))])
def test_cli_gradient_agrees_with_finite_differences(tmp_path, spelled, positions):
    path = tmp_path / "layer_mod.py"
    path.write_text(LAYER_SOURCE, encoding="utf-8")
    out = tmp_path / "dlayer.py"
    assert cli.main(["grad", f"{path}:layer_loss", "--wrt", spelled, "-o", str(out)]) == 0
    user = _import(path).layer_loss
    generated = _import(out).dlayer_loss(*ARGS)
    if isinstance(positions, int):
        close(generated, fd(user, ARGS, positions))
    else:
        for got, k in zip(generated, positions):
            close(got, fd(user, ARGS, k))


def test_cli_as_a_program_refuses_a_repeated_argument(tmp_path):
    path = tmp_path / "layer_mod.py"
    path.write_text(LAYER_SOURCE, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "tangent_src.cli", "grad",
                           f"{path}:layer_loss", "--wrt", "b,1"], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == ("tangent-src: error: --wrt: argument 'b' is listed twice (as 'b' "
                           "and 1); each argument can be differentiated with respect to "
                           "once\n")


def _import(path: Path):
    spec = importlib.util.spec_from_file_location(f"_request_{path.stem}_{id(path)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ regressions
def f_xy(x, y):
    return x * x * y


def test_hvp_with_a_negative_position_differentiates_that_argument():
    """hvp(f, wrt=-1) once took the second derivative with respect to the gradient's seed
    (the last parameter of the generated gradient) and returned x**2 instead of 0."""
    x, y = 3.0, 2.0
    assert tangent_src.hvp(f_xy, wrt=-1)(x, y, 1.0) == pytest.approx(
        fd_hessian(f_xy, (x, y), 1), abs=1e-6)
    assert tangent_src.hessian(f_xy, wrt=-2)(x, y) == pytest.approx(
        fd_hessian(f_xy, (x, y), 0), rel=1e-5)


def test_repeated_argument_is_refused_not_differentiated_twice():
    """wrt=(0, "x") used to return the gradient twice (grad) or crash in the generated
    code with "duplicate argument 'dx'" (forward mode)."""
    for build in (lambda: tangent_src.grad(f_xy, wrt=(0, "x")),
                  lambda: tangent_src.autodiff(f_xy, mode="forward", wrt=(0, "x"))):
        with pytest.raises(RequestError, match="argument 'x' is listed twice"):
            build()


def test_bound_method_positions_and_names_count_from_the_first_visible_argument():
    model = Model(0.3)
    expected = fd(lambda W_, b_, x_: model.loss(W_, b_, x_), ARGS, 1)
    for wrt in (1, -2, "b"):
        assert make_request(model.loss, wrt).wrt == ("b",)
        close(tangent_src.grad(model.loss, wrt=wrt)(*ARGS), expected)
    with pytest.raises(RequestError, match=r"position 3 is out of range: loss\(\) takes 3 "
                                           r"positional arguments \(W, b, x\)"):
        tangent_src.grad(model.loss, wrt=3)
    with pytest.raises(RequestError, match=r"loss\(\) has no argument 'self'"):
        tangent_src.grad(model.loss, wrt="self")


def test_numpy_integer_positions_are_positions():
    close(tangent_src.grad(layer_loss, wrt=np.int32(0))(*ARGS), fd(layer_loss, ARGS, 0))


def test_star_args_name_is_refused():
    def total(*xs):
        return xs[0] * xs[1]

    with pytest.raises(RequestError, match=r"'xs' is the \*xs parameter of total\(\)"):
        tangent_src.grad(total, wrt="xs")


# ------------------------------------------------------------------ the request object
def test_request_is_frozen_hashable_and_picklable():
    request = make_request(layer_loss, ("W", 1), kind="value_and_grad", return_value=True)
    assert request == make_request(layer_loss, [0, "b"], kind="value_and_grad",
                                   return_value=True)
    assert hash(request) == hash(make_request(layer_loss, (-3, -2), kind="value_and_grad",
                                              return_value=True))
    with pytest.raises(AttributeError):
        request.wrt = ("x",)
    assert pickle.loads(pickle.dumps(request)) == request
    transform = tangent_src.value_and_grad(layer_loss, wrt=("W", 1))
    assert transform.request == request
    again = pickle.loads(pickle.dumps(transform))
    close(again(*ARGS)[1][1], fd(layer_loss, ARGS, 1))


@pytest.mark.parametrize("options, message", [
    ({"mode": "sideways"}, "mode must be 'forward' or 'reverse', not 'sideways'"),
    ({"backend": "cuda"}, "backend must be 'python' or 'numba', not 'cuda'"),
    ({"order": 0}, "order must be at least 1, not 0"),
])
def test_other_options_are_validated_with_the_request(options, message):
    with pytest.raises(RequestError, match=message):
        make_request(layer_loss, **options)


def test_public_entry_points_validate_mode_backend_and_order_there():
    with pytest.raises(ValueError, match="mode must be"):
        tangent_src.autodiff(layer_loss, mode="sideways")
    with pytest.raises(ValueError, match="backend must be"):
        tangent_src.grad(layer_loss, backend="cuda")
    with pytest.raises(ValueError, match="order must be at least 1"):
        tangent_src.standalone_source(layer_loss, order=0)


def test_numba_flag_of_standalone_source_is_the_numba_backend():
    assert tangent_src.standalone.standalone_request(layer_loss, numba=True).backend == "numba"
    assert tangent_src.standalone.standalone_request(layer_loss).backend == "python"


def test_optimizer_switch_is_a_field_and_part_of_the_cache_key(monkeypatch):
    """$TANGENT_SRC_NO_OPT is read once, as the default of Request.optimize: a transform
    built with it set gets unoptimized code even when the optimized one is cached (it was
    read only while generating, so a cached module hid it)."""
    def f(x):
        y = np.sin(x) * 1.0
        z = y + 0.0
        return z * z

    optimized = tangent_src.grad(f)
    close(optimized(0.7), fd(f, (0.7,), 0))
    monkeypatch.setenv("TANGENT_SRC_NO_OPT", "1")
    plain = tangent_src.grad(f)
    assert plain.request.optimize is False and optimized.request.optimize is True
    close(plain(0.7), fd(f, (0.7,), 0))
    assert len(plain.source.splitlines()) > len(optimized.source.splitlines())


def test_resolution_against_a_definition_uses_the_same_rules():
    """The compiler resolves (names of the lowered function's parameters) with the same
    function; a transform of a transform resolves its positions there."""
    params = Params("f", ("x", "y"), ("z",))
    assert resolve_wrt((1, "z"), params) == ("y", "z")
    assert resolve_wrt(-1, None) == (-1,)
    with pytest.raises(RequestError, match="position 2 is out of range"):
        resolve_wrt(2, params)
    second = tangent_src.grad(tangent_src.autodiff(f_xy, wrt=0), wrt=2)  # d/d seed
    assert second.request.wrt == (2,)
    assert second(3.0, 2.0, 1.0) == pytest.approx(fd(f_xy, (3.0, 2.0), 0), rel=1e-6)
    assert isinstance(second.request, Request)
