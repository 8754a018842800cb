"""Central finite differences, and a check of generated gradients against them.

`numerical_grad` is pure NumPy and does not depend on tangent_src, so the corpus can be
checked (and reused in forward mode or under numba) independently of the compiler.
"""
from __future__ import annotations

import copy
import inspect

import numpy as np

# Defaults chosen so honest float64 gradients of smooth O(1) functions pass reliably:
# central differences at eps=1e-6 have truncation error ~eps**2 and round-off error
# ~1e-16 * |f| / eps ~ 1e-10 * |f|, both far below these tolerances.
DEFAULT_EPS = 1e-6
DEFAULT_RTOL = 1e-5
DEFAULT_ATOL = 1e-7


def _scalar(value) -> float:
    """Convert a function's output to a Python float, insisting that it is a scalar."""
    if np.ndim(value) != 0:
        raise ValueError(f"expected a scalar output, got shape {np.shape(value)}")
    return float(value)


def _resolve(f, args, kwargs, w):
    """Map one wrt entry (index or parameter name) to ("arg", index) or ("kw", name)."""
    if isinstance(w, (bool, np.bool_)):
        raise TypeError(f"wrt must be an int or a str, got {w!r}")
    if isinstance(w, (int, np.integer)):
        return "arg", int(w)
    if isinstance(w, str):
        if w in kwargs:
            return "kw", w
        params = list(inspect.signature(f).parameters)
        if w not in params:
            raise ValueError(f"{f.__name__} has no parameter named {w!r}")
        index = params.index(w)
        if index >= len(args):
            raise ValueError(f"parameter {w!r} was not passed")
        return "arg", index
    raise TypeError(f"wrt must be an int or a str, got {w!r}")


def _numerical_grad_one(f, args, kwargs, w, eps):
    kind, key = _resolve(f, args, kwargs, w)
    x0 = args[key] if kind == "arg" else kwargs[key]

    def evaluate(x):
        new_args = [copy.deepcopy(a) for a in args]
        new_kwargs = {k: copy.deepcopy(v) for k, v in kwargs.items()}
        if kind == "arg":
            new_args[key] = x
        else:
            new_kwargs[key] = x
        return _scalar(f(*new_args, **new_kwargs))

    if np.ndim(x0) == 0 and not isinstance(x0, np.ndarray):
        x = float(x0)
        return (evaluate(x + eps) - evaluate(x - eps)) / (2.0 * eps)
    base = np.array(x0, dtype=np.float64)
    out = np.zeros_like(base)
    for idx in np.ndindex(base.shape):
        plus = base.copy()
        minus = base.copy()
        plus[idx] += eps
        minus[idx] -= eps
        out[idx] = (evaluate(plus) - evaluate(minus)) / (2.0 * eps)
    return out


def numerical_grad(f, args, wrt=0, eps=DEFAULT_EPS, kwargs=None):
    """Central-difference gradient of scalar-output `f(*args, **kwargs)` in float64.

    `wrt` is an argument index or parameter name, or a tuple of either (then a tuple of
    gradients is returned). Each gradient has the type and shape of its argument: a float
    for a scalar argument, an ndarray otherwise.
    """
    args = tuple(args)
    kwargs = dict(kwargs or {})
    if isinstance(wrt, tuple):
        return tuple(_numerical_grad_one(f, args, kwargs, w, eps) for w in wrt)
    return _numerical_grad_one(f, args, kwargs, wrt, eps)


def _value_of(f, args, kwargs, w):
    kind, key = _resolve(f, args, kwargs, w)
    return args[key] if kind == "arg" else kwargs[key]


def assert_close_grad(actual, expected, arg, rtol=DEFAULT_RTOL, atol=DEFAULT_ATOL, label=""):
    """Assert one gradient has its argument's shape and matches the expected values."""
    assert np.shape(actual) == np.shape(arg), (
        f"{label}: gradient shape {np.shape(actual)} != argument shape {np.shape(arg)}"
    )
    actual_arr = np.asarray(actual)
    assert np.issubdtype(actual_arr.dtype, np.floating), (
        f"{label}: gradient dtype {actual_arr.dtype} is not floating point"
    )
    np.testing.assert_allclose(actual_arr, expected, rtol=rtol, atol=atol, err_msg=label)


def assert_grads_close(actual, expected, f, args, wrt, rtol=DEFAULT_RTOL, atol=DEFAULT_ATOL,
                       kwargs=None):
    """Compare a gradient (or tuple of gradients, for tuple `wrt`) with expected values."""
    kwargs = dict(kwargs or {})
    name = getattr(f, "__name__", repr(f))
    if isinstance(wrt, tuple):
        assert isinstance(actual, tuple), (
            f"{name}: wrt={wrt!r} should give a tuple of gradients, got {type(actual).__name__}"
        )
        assert len(actual) == len(wrt), f"{name}: expected {len(wrt)} gradients"
        for w, a, e in zip(wrt, actual, expected):
            assert_close_grad(a, e, _value_of(f, args, kwargs, w), rtol, atol,
                              label=f"{name} d/d[{w!r}]")
    else:
        assert_close_grad(actual, expected, _value_of(f, args, kwargs, wrt), rtol, atol,
                          label=f"{name} d/d[{wrt!r}]")


def assert_grad_matches(f, args, wrt=0, rtol=DEFAULT_RTOL, atol=DEFAULT_ATOL, eps=DEFAULT_EPS,
                        kwargs=None):
    """Check `tangent_src.grad(f, wrt=wrt)(*args, **kwargs)` against finite differences.

    Also checks that the gradient call leaves its inputs unmodified. Returns the gradient.
    """
    import tangent_src

    args = tuple(args)
    kwargs = dict(kwargs or {})
    expected = numerical_grad(f, args, wrt, eps=eps, kwargs=kwargs)
    call_args = copy.deepcopy(args)
    call_kwargs = copy.deepcopy(kwargs)
    actual = tangent_src.grad(f, wrt=wrt)(*call_args, **call_kwargs)
    for before, after in zip(args + tuple(kwargs.values()),
                             call_args + tuple(call_kwargs.values())):
        np.testing.assert_array_equal(after, before, err_msg="the gradient modified its input")
    assert_grads_close(actual, expected, f, args, wrt, rtol=rtol, atol=atol, kwargs=kwargs)
    return actual


def normal(*shape, loc=0.0, scale=1.0):
    """Spec of a normal draw: a Python float when `shape` is empty, else a float64 array."""
    def draw(rng):
        value = rng.normal(loc, scale, size=shape)
        return float(value) if not shape else np.asarray(value, dtype=np.float64)
    return draw


def uniform(lo, hi, *shape):
    """Spec of a uniform draw in [lo, hi): a Python float or a float64 array."""
    def draw(rng):
        value = rng.uniform(lo, hi, size=shape)
        return float(value) if not shape else np.asarray(value, dtype=np.float64)
    return draw


def import_generated(module_name: str, lines: list[str]):
    """Write generated test functions to a real file (tangent_src reads source) and import
    it as `module_name`; the directory is removed when the interpreter exits."""
    import atexit
    import importlib.util
    import os
    import shutil
    import sys
    import tempfile
    directory = tempfile.mkdtemp(prefix=f"tangent_src_{module_name}_")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = os.path.join(directory, f"{module_name}.py")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def write_case_module(module_name: str, imports: list[str], cases: list, seed: int):
    """One pair of functions per case (`raw_<n>`: the expression; `case_<n>`: its sum
    weighted by a random array `W<n>`, a scalar loss) in a real module file, imported.
    `cases` are (call template, argument generators) pairs: the template's `{k}` are the
    arguments, a generator with `.const` a module constant rather than a parameter.
    Returns the module and each case's (non-constant) arguments."""
    rng = np.random.default_rng(seed)
    lines = [f'"""Generated test cases ({module_name})."""', *imports, ""]
    drawn_all = []
    for n, (call, args) in enumerate(cases):
        drawn_all.append([gen.draw(rng) for gen in args])
        params, atoms = [], []
        for k, gen in enumerate(args):
            if gen.const:
                atoms.append(f"C{n}_{k}")
                lines.append(f"C{n}_{k} = None")
            else:
                params.append(f"x{k}")
                atoms.append(f"x{k}")
        *statements, result = call.format(*atoms).split("\n")
        body = "".join(f"    {s}\n" for s in statements)
        lines += [f"W{n} = None", "", "", f"def raw_{n}({', '.join(params)}):",
                  f"{body}    return {result}", "", "",
                  f"def case_{n}({', '.join(params)}):",
                  f"{body}    return np.sum(W{n} * ({result}))", "", ""]
    module = import_generated(module_name, lines)
    samples = []
    for n, ((_, args), drawn) in enumerate(zip(cases, drawn_all)):
        for k, (gen, value) in enumerate(zip(args, drawn)):
            if gen.const:
                setattr(module, f"C{n}_{k}", value)
        values = tuple(v for gen, v in zip(args, drawn) if not gen.const)
        out = getattr(module, f"raw_{n}")(*values)
        weight = rng.normal(size=np.shape(out))
        setattr(module, f"W{n}", float(weight) if np.ndim(out) == 0 else weight)
        samples.append(values)
    return module, samples


def complex_numerical_grad(f, z, eps=DEFAULT_EPS):
    """dL/dRe(z) - i dL/dIm(z) of real-valued f at complex z, by central differences along
    the real and imaginary parts (JAX's and autograd's convention); dL/dz at real z."""
    z = np.asarray(z)
    complex_arg = np.iscomplexobj(z)
    g = np.zeros(z.shape, dtype=complex if complex_arg else float)
    for k in np.ndindex(z.shape):
        e = np.zeros(z.shape)
        e[k] = eps
        g[k] = (f(z + e) - f(z - e)) / (2 * eps)
        if complex_arg:
            g[k] -= 1j * (f(z + 1j * e) - f(z - 1j * e)) / (2 * eps)
    return g if z.shape else g[()]


def numerical_directional(f, z, v, eps=DEFAULT_EPS):
    """The derivative of f at z along the (possibly complex) direction v."""
    return (np.asarray(f(z + eps * v)) - np.asarray(f(z - eps * v))) / (2 * eps)


def assert_close(got, expected, rtol=DEFAULT_RTOL, atol=DEFAULT_ATOL):
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


# -- pytrees: dicts (in sorted key order), lists and tuples of numbers and arrays -----------
def tree_flat(tree) -> np.ndarray:
    """The float64 leaves of a pytree as one vector."""
    if isinstance(tree, dict):
        return tree_flat([tree[key] for key in sorted(tree)])
    if isinstance(tree, (list, tuple)):
        return np.concatenate([tree_flat(x) for x in tree]) if tree else np.zeros(0)
    return np.ravel(np.asarray(tree, dtype=np.float64))


def tree_rebuild(like, vec):
    """A pytree shaped like `like` holding the floats of `vec`."""
    if isinstance(like, dict):
        keys = sorted(like)
        return dict(zip(keys, tree_rebuild([like[key] for key in keys], vec)))
    if isinstance(like, (list, tuple)):
        out, start = [], 0
        for item in like:
            size = tree_flat(item).size
            out.append(tree_rebuild(item, vec[start:start + size]))
            start += size
        return type(like)(out)
    if isinstance(like, np.ndarray):
        return np.array(vec, dtype=np.float64).reshape(like.shape)
    return float(vec[0])


def tree_numerical_grad(f, args, k, eps=DEFAULT_EPS) -> np.ndarray:
    """Central differences of scalar `f` with respect to every float in the pytree
    `args[k]`, as one vector (in tree_flat's order)."""
    def at(vec):
        new = list(args)
        new[k] = tree_rebuild(args[k], vec)
        return float(f(*new))
    vec = tree_flat(args[k])
    grad = np.zeros_like(vec)
    for i in range(vec.size):
        step = np.zeros_like(vec)
        step[i] = eps
        grad[i] = (at(vec + step) - at(vec - step)) / (2 * eps)
    return grad
