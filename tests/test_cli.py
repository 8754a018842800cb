"""The command line: `python cli.py grad|jvp mod.py:func [--wrt ...] [--order N] [--name ...]
[-o out.py]`.

End-to-end tests run the CLI in a subprocess, then import the module it wrote in a fresh,
isolated interpreter in which tangent_src cannot be imported, and compare the derivative
(gradient, forward-mode directional derivative, second derivative) with central finite
differences. Unit tests call main() in-process with the compiler replaced by
a stub, to pin down argument handling, error reporting and atomic output.
"""
from __future__ import annotations

import importlib.util
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tangent_src
from tangent_src import cli
from tangent_src.errors import TangentError, UnsupportedSyntaxError

REPO = Path(__file__).resolve().parents[1]
CLI = REPO / "cli.py"
NUMPY_SITE = str(Path(np.__file__).resolve().parents[1])
TIMEOUT = 300

# --------------------------------------------------------------------------- user modules

POLY_SRC = '''\
def poly(x):
    return 3.0 * x ** 3 - 2.0 * x ** 2 + 5.0 * x - 1.0
'''

LOGISTIC_SRC = '''\
import numpy as np

X = np.array([[0.5, -1.2, 0.3],
              [1.5, 0.2, -0.7],
              [-0.3, 0.8, 1.1],
              [0.9, -0.4, -1.6]])
Y = np.array([1.0, 0.0, 1.0, 0.0])


def loss(W, b):
    z = np.dot(X, W) + b
    p = 1.0 / (1.0 + np.exp(-z))
    return -np.mean(Y * np.log(p) + (1.0 - Y) * np.log(1.0 - p))
'''

LOOP_SRC = '''\
import numpy as np


def scale(v, k):
    return np.tanh(v) * k


def run(x, n):
    acc = 0.0
    for i in range(n):
        acc = 0.5 * acc + np.sum(scale(x, i + 1.0) ** 2)
    return acc
'''

TRY_SRC = '''\
def guarded(x):
    try:
        y = x * x
    except ValueError:
        y = x
    return y
'''

BROKEN_IMPORT_SRC = '''\
raise RuntimeError("this module cannot be imported")


def f(x):
    return x
'''

SYNTAX_ERROR_SRC = '''\
def f(x):
    return x +
'''

CUBIC_SRC = '''\
import numpy as np


def f(x):
    return x ** 3 + np.sin(x)
'''

VECTOR_SRC = '''\
import numpy as np


def squash(x, scale):
    return np.tanh(x * scale) + scale * x ** 2


def energy(x):
    return np.sum(np.tanh(x) * x) + np.sum(x ** 2) ** 2
'''

W0 = np.array([0.3, -0.2, 0.5])
B0 = 0.1
X_LOOP = np.array([0.4, -0.7, 0.2])

# Run in the isolated interpreter: import a generated module and call its gradient.
RUNNER = r'''
import importlib, pickle, sys, sysconfig, os

tmp, numpy_site, repo, module_name, func_name, args_file, out_file = sys.argv[1:8]

# Only the standard library, the temporary directory and numpy's directory remain
# importable. -I already dropped the current and script directories and PYTHON* variables;
# site-packages (where an editable install may point at the repo) goes too.
stdlib = [os.path.realpath(sysconfig.get_path(k)) for k in ("stdlib", "platstdlib")]


def is_stdlib(p):
    real = os.path.realpath(p)
    if "site-packages" in real or "dist-packages" in real:
        return False
    return p.endswith(".zip") or any(real == s or real.startswith(s + os.sep) for s in stdlib)


sys.path[:] = [tmp, numpy_site] + [p for p in sys.path if p and is_stdlib(p)]
# Import hooks installed by .pth files (e.g. setuptools' editable-install finder) go too.
sys.meta_path[:] = [f for f in sys.meta_path
                    if getattr(f, "__module__", "").startswith("_frozen_importlib")]
sys.path_importer_cache.clear()
assert os.path.realpath(repo) not in [os.path.realpath(p) for p in sys.path], sys.path
try:
    import tangent_src  # noqa: F401
except ImportError:
    pass
else:
    sys.exit("tangent_src is importable in the isolated interpreter: %r" % (tangent_src,))

module = importlib.import_module(module_name)
assert not [m for m in sys.modules if m.split(".")[0] == "tangent_src"]
with open(args_file, "rb") as fh:
    args = pickle.load(fh)
result = getattr(module, func_name)(*args)
with open(out_file, "wb") as fh:
    pickle.dump(result, fh)
'''


def write_module(directory: Path, name: str, source: str) -> Path:
    path = directory / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    return path


def import_from_path(path: Path):
    name = f"_test_cli_user_{path.stem}_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CLI), *args], cwd=REPO, capture_output=True,
                          text=True, timeout=TIMEOUT, check=False)


def run_cli_ok(*args: str) -> subprocess.CompletedProcess:
    proc = run_cli(*args)
    assert proc.returncode == 0, f"CLI failed (exit {proc.returncode}):\n{proc.stderr}"
    return proc


def call_isolated(tmp_path: Path, module_name: str, func_name: str, args: tuple):
    """Import tmp_path/<module_name>.py in a fresh interpreter without tangent_src."""
    args_file = tmp_path / f"_args_{module_name}_{func_name}.pkl"
    out_file = tmp_path / f"_out_{module_name}_{func_name}.pkl"
    args_file.write_bytes(pickle.dumps(args))
    proc = subprocess.run(
        [sys.executable, "-I", "-c", RUNNER, str(tmp_path), NUMPY_SITE, str(REPO),
         module_name, func_name, str(args_file), str(out_file)],
        cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert proc.returncode == 0, (
        f"running the generated module {module_name}.py without tangent_src failed:\n"
        f"{proc.stderr}")
    return pickle.loads(out_file.read_bytes())


def central_difference(func, args: tuple, index: int, h: float = 1e-6):
    """d func / d args[index] by central differences."""
    def at(value):
        new = list(args)
        new[index] = value
        return float(func(*new))

    x = args[index]
    if np.ndim(x) == 0:
        x = float(x)
        return (at(x + h) - at(x - h)) / (2 * h)
    x = np.asarray(x, dtype=float)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += h
        minus[idx] -= h
        grad[idx] = (at(plus) - at(minus)) / (2 * h)
    return grad


def assert_close(actual, expected):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), expected, rtol=1e-5, atol=1e-7)


@pytest.fixture
def user_modules(tmp_path):
    return {
        "poly": write_module(tmp_path, "poly_mod", POLY_SRC),
        "logistic": write_module(tmp_path, "logistic_mod", LOGISTIC_SRC),
        "loop": write_module(tmp_path, "loop_mod", LOOP_SRC),
    }


# --------------------------------------------------------------------------- end to end


def test_poly_gradient_runs_without_tangent_src(tmp_path, user_modules):
    out = tmp_path / "grad_poly.py"
    run_cli_ok("grad", f"{user_modules['poly']}:poly", "-o", str(out))
    assert out.exists()
    result = call_isolated(tmp_path, "grad_poly", "dpoly", (1.3,))
    poly = import_from_path(user_modules["poly"]).poly
    assert_close(result, central_difference(poly, (1.3,), 0))
    assert_close(result, 9.0 * 1.3 ** 2 - 4.0 * 1.3 + 5.0)


def test_logistic_loss_with_global_array_wrt_two_names(tmp_path, user_modules):
    out = tmp_path / "grad_logistic.py"
    run_cli_ok("grad", f"{user_modules['logistic']}:loss", "--wrt", "W,b", "-o", str(out))
    gW, gb = call_isolated(tmp_path, "grad_logistic", "dloss", (W0, B0))
    loss = import_from_path(user_modules["logistic"]).loss
    assert_close(gW, central_difference(loss, (W0, B0), 0))
    assert_close(gb, central_difference(loss, (W0, B0), 1))


@pytest.mark.parametrize("wrt", ["b", "1"])
def test_wrt_single_argument_by_name_or_position(tmp_path, user_modules, wrt):
    out = tmp_path / "grad_logistic_b.py"
    run_cli_ok("grad", f"{user_modules['logistic']}:loss", "--wrt", wrt, "-o", str(out))
    gb = call_isolated(tmp_path, "grad_logistic_b", "dloss", (W0, B0))
    assert np.ndim(gb) == 0, f"expected the gradient of b alone, got {gb!r}"
    loss = import_from_path(user_modules["logistic"]).loss
    assert_close(gb, central_difference(loss, (W0, B0), 1))


def test_loop_calling_helper_function(tmp_path, user_modules):
    out = tmp_path / "grad_loop.py"
    run_cli_ok("grad", f"{user_modules['loop']}:run", "-o", str(out))
    result = call_isolated(tmp_path, "grad_loop", "drun", (X_LOOP, 4))
    run = import_from_path(user_modules["loop"]).run
    assert_close(result, central_difference(run, (X_LOOP, 4), 0))


def test_name_option_sets_the_function_name(tmp_path, user_modules):
    out = tmp_path / "grad_poly_named.py"
    run_cli_ok("grad", f"{user_modules['poly']}:poly", "--name", "poly_gradient",
               "-o", str(out))
    text = out.read_text(encoding="utf-8")
    assert "def poly_gradient(" in text
    assert "def dpoly(" not in text
    result = call_isolated(tmp_path, "grad_poly_named", "poly_gradient", (0.7,))
    assert_close(result, 9.0 * 0.7 ** 2 - 4.0 * 0.7 + 5.0)


def test_without_output_option_writes_to_stdout(tmp_path, user_modules):
    before = sorted(os.listdir(tmp_path))
    proc = run_cli_ok("grad", f"{user_modules['logistic']}:loss", "--wrt", "W,b")
    assert sorted(os.listdir(tmp_path)) == before, "no file may be written without -o"
    assert "def dloss(" in proc.stdout
    compile(proc.stdout, "<stdout>", "exec")
    out = tmp_path / "grad_logistic.py"
    run_cli_ok("grad", f"{user_modules['logistic']}:loss", "--wrt", "W,b", "-o", str(out))
    assert out.read_text(encoding="utf-8") == proc.stdout


def test_cli_accepts_relative_paths_from_the_working_directory(tmp_path, user_modules):
    out = tmp_path / "grad_poly_rel.py"
    rel = os.path.relpath(user_modules["poly"], REPO)
    run_cli_ok("grad", f"{rel}:poly", "-o", os.path.relpath(out, REPO))
    assert "def dpoly(" in out.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- jvp, --order


def directional_difference(func, args: tuple, direction: dict, h: float = 1e-6):
    """d/dt func(args + t * direction) at t = 0 by central differences; `direction` maps an
    argument index to its tangent. Works for array-valued func."""
    def at(step):
        new = list(args)
        for index, tangent in direction.items():
            new[index] = args[index] + step * tangent
        return np.asarray(func(*new), dtype=float)

    return (at(h) - at(-h)) / (2 * h)


def second_directional_difference(func, args: tuple, index: int, u, v, h: float = 1e-4):
    """u' H v for the Hessian H of scalar func in argument `index`, by central differences."""
    def at(step_u, step_v):
        new = list(args)
        new[index] = args[index] + step_u * u + step_v * v
        return float(func(*new))

    return (at(h, h) - at(h, -h) - at(-h, h) + at(-h, -h)) / (4 * h * h)


def energy_gradient(x):
    """The gradient of VECTOR_SRC's energy, by hand."""
    t = np.tanh(x)
    return t + x * (1.0 - t * t) + 4.0 * np.sum(x ** 2) * x


DW0 = np.array([0.7, 0.1, -0.4])
DB0 = -0.6
X_VEC = np.array([0.4, -1.1, 0.25, 0.8])
V_VEC = np.array([0.3, 0.5, -0.9, 0.2])
U_VEC = np.array([-0.6, 0.1, 0.4, 0.7])


@pytest.fixture
def more_modules(tmp_path):
    return {
        "cubic": write_module(tmp_path, "cubic_mod", CUBIC_SRC),
        "vector": write_module(tmp_path, "vector_mod", VECTOR_SRC),
    }


def test_jvp_of_a_loss_along_a_direction(tmp_path, user_modules):
    out = tmp_path / "jvp_logistic.py"
    run_cli_ok("jvp", f"{user_modules['logistic']}:loss", "--wrt", "W,b", "-o", str(out))
    assert "def jvp_loss(W, b, dW=1.0, db=1.0):" in out.read_text(encoding="utf-8")
    result = call_isolated(tmp_path, "jvp_logistic", "jvp_loss", (W0, B0, DW0, DB0))
    loss = import_from_path(user_modules["logistic"]).loss
    assert np.ndim(result) == 0
    assert_close(result, directional_difference(loss, (W0, B0), {0: DW0, 1: DB0}))
    # the tangent of b defaults to 1.0 (a scalar 1.0 for the array W would not do: the
    # generated code computes np.dot(X, dW), which needs dW shaped like W)
    default_db = call_isolated(tmp_path, "jvp_logistic", "jvp_loss", (W0, B0, DW0))
    assert_close(default_db, directional_difference(loss, (W0, B0), {0: DW0, 1: 1.0}))


@pytest.mark.parametrize("wrt, index, tangent", [("x", 0, V_VEC), ("1", 1, 0.3)])
def test_jvp_of_an_array_valued_function(tmp_path, more_modules, wrt, index, tangent):
    out = tmp_path / f"jvp_squash_{index}.py"
    run_cli_ok("jvp", f"{more_modules['vector']}:squash", "--wrt", wrt, "-o", str(out))
    args = (X_VEC, 1.7)
    result = call_isolated(tmp_path, f"jvp_squash_{index}", "jvp_squash", (*args, tangent))
    squash = import_from_path(more_modules["vector"]).squash
    assert np.shape(result) == X_VEC.shape
    assert_close(result, directional_difference(squash, args, {index: tangent}))


def test_jvp_of_a_loop_calling_a_helper(tmp_path, user_modules):
    out = tmp_path / "jvp_loop.py"
    run_cli_ok("jvp", f"{user_modules['loop']}:run", "--name", "run_tangent", "-o", str(out))
    direction = np.array([0.2, -0.5, 0.9])
    result = call_isolated(tmp_path, "jvp_loop", "run_tangent", (X_LOOP, 4, direction))
    run = import_from_path(user_modules["loop"]).run
    assert_close(result, directional_difference(run, (X_LOOP, 4), {0: direction}))


def test_jvp_default_name_and_stdout(tmp_path, user_modules):
    proc = run_cli_ok("jvp", f"{user_modules['poly']}:poly")
    assert "def jvp_poly(x, dx=1.0):" in proc.stdout
    assert "import tangent_src" not in proc.stdout
    compile(proc.stdout, "<stdout>", "exec")


def test_grad_order_2_of_a_scalar_function(tmp_path, more_modules):
    out = tmp_path / "grad2_cubic.py"
    run_cli_ok("grad", f"{more_modules['cubic']}:f", "--order", "2", "-o", str(out))
    assert "def ddf(x, " in out.read_text(encoding="utf-8")
    f = import_from_path(more_modules["cubic"]).f
    for x in (0.8, -1.3, 0.0):
        result = call_isolated(tmp_path, "grad2_cubic", "ddf", (x,))
        assert np.ndim(result) == 0
        np.testing.assert_allclose(float(result), 6.0 * x - np.sin(x), rtol=1e-12, atol=1e-12)
        h = 1e-4
        second_difference = (f(x + h) - 2.0 * f(x) + f(x - h)) / (h * h)
        np.testing.assert_allclose(float(result), second_difference, rtol=1e-6, atol=1e-6)
    # the two seeds (output cotangent, then the seed of the second pass) scale the result
    scaled = call_isolated(tmp_path, "grad2_cubic", "ddf", (0.8, 2.0, -0.5))
    np.testing.assert_allclose(float(scaled), -(6.0 * 0.8 - np.sin(0.8)), rtol=1e-12)


def test_grad_order_3_of_a_scalar_function(tmp_path, more_modules):
    out = tmp_path / "grad3_cubic.py"
    run_cli_ok("grad", f"{more_modules['cubic']}:f", "--order", "3", "--name", "f3",
               "-o", str(out))
    result = call_isolated(tmp_path, "grad3_cubic", "f3", (0.8,))
    np.testing.assert_allclose(float(result), 6.0 - np.cos(0.8), rtol=1e-12)


def test_grad_order_2_of_a_vector_function_is_a_hessian_vector_product(tmp_path,
                                                                        more_modules):
    out = tmp_path / "grad2_energy.py"
    run_cli_ok("grad", f"{more_modules['vector']}:energy", "--order", "2", "-o", str(out))
    result = call_isolated(tmp_path, "grad2_energy", "ddenergy", (X_VEC, 1.0, V_VEC))
    h = 1e-6
    expected = (energy_gradient(X_VEC + h * V_VEC) - energy_gradient(X_VEC - h * V_VEC)) / (2 * h)
    assert_close(result, expected)
    energy = import_from_path(more_modules["vector"]).energy
    np.testing.assert_allclose(float(np.dot(U_VEC, result)),
                               second_directional_difference(energy, (X_VEC,), 0, U_VEC, V_VEC),
                               rtol=1e-6)


def test_jvp_order_2_is_a_second_directional_derivative(tmp_path, more_modules):
    out = tmp_path / "jvp2_energy.py"
    run_cli_ok("jvp", f"{more_modules['vector']}:energy", "--order", "2", "-o", str(out))
    assert "def jvp_jvp_energy(" in out.read_text(encoding="utf-8")
    result = call_isolated(tmp_path, "jvp2_energy", "jvp_jvp_energy", (X_VEC, U_VEC, V_VEC))
    energy = import_from_path(more_modules["vector"]).energy
    assert np.ndim(result) == 0
    np.testing.assert_allclose(float(result),
                               second_directional_difference(energy, (X_VEC,), 0, U_VEC, V_VEC),
                               rtol=1e-6)


# --------------------------------------------------------------------------- errors

ERROR_CASES = {
    "missing file": lambda d: [f"{d / 'no_such_module.py'}:f"],
    "missing function": lambda d: [f"{d / 'poly_mod.py'}:no_such_function"],
    "bad wrt name": lambda d: [f"{d / 'logistic_mod.py'}:loss", "--wrt", "W,c"],
    "wrt out of range": lambda d: [f"{d / 'poly_mod.py'}:poly", "--wrt", "3"],
    "bad name": lambda d: [f"{d / 'poly_mod.py'}:poly", "--name", "not-an-identifier"],
    "unsupported syntax": lambda d: [f"{d / 'try_mod.py'}:guarded"],
    "module fails to import": lambda d: [f"{d / 'broken_mod.py'}:f"],
    "syntax error in module": lambda d: [f"{d / 'syntax_mod.py'}:f"],
    "no function given": lambda d: [f"{d / 'poly_mod.py'}"],
    "order zero": lambda d: [f"{d / 'poly_mod.py'}:poly", "--order", "0"],
    "negative order": lambda d: [f"{d / 'poly_mod.py'}:poly", "--order", "-2"],
    "order not a number": lambda d: [f"{d / 'poly_mod.py'}:poly", "--order", "2.5"],
}
ERROR_MESSAGES = {  # a word the one-line message must contain
    "missing file": "no_such_module.py",
    "missing function": "no_such_function",
    "bad wrt name": "'c'",
    "wrt out of range": "3",
    "bad name": "not-an-identifier",
    "unsupported syntax": "",
    "module fails to import": "cannot be imported",
    "syntax error in module": "SyntaxError",
    "no function given": "PATH:FUNC",
    "order zero": "--order: must be at least 1, got 0",
    "negative order": "--order: must be at least 1, got -2",
    "order not a number": "--order: expected a whole number",
}
JVP_ERROR_CASES = ["missing file", "missing function", "bad wrt name", "wrt out of range",
                   "unsupported syntax", "module fails to import", "order zero"]


@pytest.fixture
def error_modules(tmp_path, user_modules):
    write_module(tmp_path, "try_mod", TRY_SRC)
    write_module(tmp_path, "broken_mod", BROKEN_IMPORT_SRC)
    write_module(tmp_path, "syntax_mod", SYNTAX_ERROR_SRC)
    return tmp_path


def assert_one_line_error(proc: subprocess.CompletedProcess, expected: str = "") -> None:
    assert proc.returncode == 2, f"exit {proc.returncode}, stderr:\n{proc.stderr}"
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{proc.stderr}"
    assert lines[0].startswith("tangent-src: error: "), lines[0]
    assert "Traceback" not in proc.stderr
    assert expected in lines[0]
    assert proc.stdout == ""


@pytest.mark.parametrize("case", list(ERROR_CASES))
@pytest.mark.parametrize("existing", [False, True], ids=["no-output-file", "existing-output"])
def test_errors_are_one_line_and_leave_output_alone(tmp_path, error_modules, case, existing):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "out.py"
    original = b"# an existing file that must survive\nanswer = 42\n"
    if existing:
        out.write_bytes(original)
    proc = run_cli("grad", *ERROR_CASES[case](error_modules), "-o", str(out))
    assert_one_line_error(proc, ERROR_MESSAGES[case])
    if existing:
        assert out.read_bytes() == original
        assert os.listdir(out_dir) == ["out.py"], "no temporary file may be left behind"
    else:
        assert os.listdir(out_dir) == [], "no output file may be created on failure"


@pytest.mark.parametrize("case", JVP_ERROR_CASES)
def test_jvp_errors_are_one_line_and_leave_output_alone(tmp_path, error_modules, case):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "out.py"
    original = b"answer = 42\n"
    out.write_bytes(original)
    proc = run_cli("jvp", *ERROR_CASES[case](error_modules), "-o", str(out))
    assert_one_line_error(proc, ERROR_MESSAGES[case])
    assert out.read_bytes() == original
    assert os.listdir(out_dir) == ["out.py"], "no temporary file may be left behind"


@pytest.mark.parametrize("argv", [[], ["grad"], ["frobnicate"], ["grad", "m.py:f", "--bogus"],
                                  ["jvp"], ["jvp", "m.py:f", "--order"],
                                  ["grad", "m.py:f", "--order", "0"]])
def test_usage_errors_are_one_line(argv):
    assert_one_line_error(run_cli(*argv))


def test_help_documents_defaults():
    proc = run_cli("grad", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "--name" in text and "'d' + FUNC" in text
    assert "--wrt" in text and "default: the first argument" in text
    assert "--order N" in text and "(default: 1)" in text


def test_jvp_help_documents_defaults():
    proc = run_cli("jvp", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "forward-mode" in text and "jvp_f(x, dx=1.0)" in text
    assert "--name" in text and "'jvp_' + FUNC" in text
    assert "--order N" in text and "--wrt" in text
    top = " ".join(run_cli("--help").stdout.split())
    assert "grad" in top and "jvp" in top and "forward-mode" in top


# --------------------------------------------------------------------------- in-process units


class FakeCompiler:
    """Stands in for tangent_src.standalone_source; records its calls."""

    def __init__(self, error: Exception | None = None):
        self.calls = []
        self.error = error

    def __call__(self, func, wrt=0, name=None, mode="reverse", order=1, numba=False):
        self.calls.append((func, wrt, name, mode, order))
        if self.error is not None:
            raise self.error
        prefix = "d" * order if mode == "reverse" else "jvp_" * order
        fname = name or prefix + func.__name__
        return f"def {fname}(x, dy=1.0):\n    return dy\n"


@pytest.fixture
def fake(monkeypatch):
    compiler = FakeCompiler()
    monkeypatch.setattr(tangent_src, "standalone_source", compiler, raising=False)
    return compiler


@pytest.fixture
def two_arg_module(tmp_path):
    return write_module(tmp_path, "unit_mod", "def f(W, b, *, scale=1.0):\n    return W\n")


@pytest.mark.parametrize("wrt, expected", [
    (None, 0), ("W", "W"), ("1", 1), ("W,b", ("W", "b")), (" 0 , b ", (0, "b")),
    ("scale", "scale"),
])
def test_wrt_is_parsed_and_passed_on(fake, two_arg_module, capsys, wrt, expected):
    argv = ["grad", f"{two_arg_module}:f"] + ([] if wrt is None else ["--wrt", wrt])
    assert cli.main(argv) == 0
    (func, passed_wrt, name, mode, order), = fake.calls
    assert func.__name__ == "f" and passed_wrt == expected and name is None
    assert mode == "reverse" and order == 1
    assert capsys.readouterr().out == "def df(x, dy=1.0):\n    return dy\n"


@pytest.mark.parametrize("wrt, message", [
    ("c", "no argument 'c'"), ("2", "out of range"), ("W,W", "listed twice"),
    ("0,W", "listed twice"), ("W,", "empty"), ("-1", "neither"), ("a b", "neither"),
])
def test_bad_wrt_is_rejected_before_compiling(fake, two_arg_module, capsys, wrt, message):
    assert cli.main(["grad", f"{two_arg_module}:f", "--wrt", wrt]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert fake.calls == []


def test_name_is_passed_on(fake, two_arg_module, capsys):
    assert cli.main(["grad", f"{two_arg_module}:f", "--name", "grad_f"]) == 0
    assert fake.calls[0][2] == "grad_f"
    assert capsys.readouterr().out.startswith("def grad_f(")


@pytest.mark.parametrize("command, mode", [("grad", "reverse"), ("jvp", "forward")])
@pytest.mark.parametrize("order", [None, "1", "2", " 3"])
def test_mode_and_order_are_passed_on(fake, two_arg_module, capsys, command, mode, order):
    argv = [command, f"{two_arg_module}:f", "--wrt", "W,b"]
    argv += [] if order is None else ["--order", order]
    assert cli.main(argv) == 0
    (func, wrt, name, passed_mode, passed_order), = fake.calls
    assert (wrt, name, passed_mode) == (("W", "b"), None, mode)
    assert passed_order == (1 if order is None else int(order))
    prefix = "d" * passed_order if mode == "reverse" else "jvp_" * passed_order
    assert capsys.readouterr().out.startswith(f"def {prefix}f(")


@pytest.mark.parametrize("command", ["grad", "jvp"])
@pytest.mark.parametrize("order", ["0", "-1", "two", "1.5", ""])
def test_bad_order_is_rejected_before_compiling(fake, two_arg_module, tmp_path, capsys,
                                                command, order):
    out = tmp_path / "out.py"
    assert cli.main([command, f"{two_arg_module}:f", "--order", order, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tangent-src: error: argument --order: ") and err.count("\n") == 1
    assert fake.calls == [] and not out.exists()


def test_jvp_refuses_to_overwrite_the_input(fake, two_arg_module, capsys):
    before = two_arg_module.read_bytes()
    assert cli.main(["jvp", f"{two_arg_module}:f", "-o", str(two_arg_module)]) == 2
    assert "refusing to overwrite the input module" in capsys.readouterr().err
    assert two_arg_module.read_bytes() == before


def test_output_file_is_replaced_atomically(fake, two_arg_module, tmp_path, capsys):
    out = tmp_path / "out.py"
    out.write_text("old\n")
    os.chmod(out, 0o640)
    assert cli.main(["grad", f"{two_arg_module}:f", "-o", str(out)]) == 0
    assert out.read_text() == "def df(x, dy=1.0):\n    return dy\n"
    assert out.stat().st_mode & 0o777 == 0o640
    assert capsys.readouterr().out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.py", "unit_mod.py"]


def test_tangent_error_is_one_line(monkeypatch, two_arg_module, tmp_path, capsys):
    error = UnsupportedSyntaxError("try statements are not supported", filename="m.py",
                                   lineno=3, col=4, source_line="    try:\n",
                                   hint="move the try block out of the function")
    monkeypatch.setattr(tangent_src, "standalone_source", FakeCompiler(error), raising=False)
    out = tmp_path / "out.py"
    assert cli.main(["grad", f"{two_arg_module}:f", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == ("tangent-src: error: m.py:3:5: try statements are not supported "
                   "(hint: move the try block out of the function)\n")
    assert not out.exists()

    monkeypatch.setattr(tangent_src, "standalone_source",
                        FakeCompiler(TangentError("integer input\ncannot be differentiated")),
                        raising=False)
    assert cli.main(["grad", f"{two_arg_module}:f", "-o", str(out)]) == 2
    assert capsys.readouterr().err == ("tangent-src: error: integer input cannot be "
                                       "differentiated\n")
    assert not out.exists()


def test_internal_error_is_reported_as_a_bug(monkeypatch, two_arg_module, capsys):
    monkeypatch.setattr(tangent_src, "standalone_source",
                        FakeCompiler(KeyError("oops")), raising=False)
    assert cli.main(["grad", f"{two_arg_module}:f"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "tangent-src: internal error: KeyError" in err


def test_module_output_and_own_imports(fake, tmp_path, capsys):
    write_module(tmp_path, "unit_helper", "def helper(x):\n    return x\n")
    mod = write_module(tmp_path, "unit_user", "from unit_helper import helper\n"
                                              "print('imported!')\n"
                                              "def g(x):\n    return helper(x)\n")
    path_before = list(sys.path)
    assert cli.main(["grad", f"{mod}:g"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "def dg(x, dy=1.0):\n    return dy\n"
    assert "imported!" in captured.err
    assert sys.path == path_before
    assert "unit_user" not in sys.modules


def test_refuses_to_overwrite_the_input(fake, two_arg_module, capsys):
    before = two_arg_module.read_bytes()
    assert cli.main(["grad", f"{two_arg_module}:f", "-o", str(two_arg_module)]) == 2
    assert "refusing" in capsys.readouterr().err
    assert two_arg_module.read_bytes() == before


@pytest.mark.parametrize("target", ["missing_dir/out.py", "."])
def test_unwritable_output_is_one_line(fake, two_arg_module, tmp_path, capsys, target):
    out = tmp_path / target
    assert cli.main(["grad", f"{two_arg_module}:f", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tangent-src: error: cannot write") and err.count("\n") == 1


def test_not_a_function(fake, tmp_path, capsys):
    mod = write_module(tmp_path, "unit_const", "f = 3\n")
    assert cli.main(["grad", f"{mod}:f"]) == 2
    assert "not a function" in capsys.readouterr().err


# --------------------------------------------------------------------------- --numba


@pytest.mark.parametrize("name, func, args", [
    ("poly", "poly", (1.3,)),
    ("loop", "run", (X_LOOP, 4)),
])
def test_numba_module_runs_without_tangent_src(tmp_path, user_modules, name, func, args):
    """--numba writes njit-decorated functions plus numba versions of the helpers; the
    module runs with numba and numpy only and agrees with finite differences."""
    pytest.importorskip("numba")
    out = tmp_path / f"grad_{name}_numba.py"
    run_cli_ok("grad", f"{user_modules[name]}:{func}", "--numba", "-o", str(out))
    text = out.read_text()
    assert "@numba.njit" in text and "import numba" in text
    assert "tangent_src" not in text.split('"""', 2)[-1]
    result = call_isolated(tmp_path, f"grad_{name}_numba", f"d{func}", args)
    target = getattr(import_from_path(user_modules[name]), func)
    assert_close(result, central_difference(target, args, 0))


NUMBA_MODELS_SRC = '''\
import numpy as np

X = np.array([[0.5, -1.2, 0.3], [1.1, 0.4, -0.7], [-0.2, 0.9, 0.8], [0.6, -0.3, -1.0]])
Y = np.eye(3)[[0, 2, 1, 2]]
TOKENS = np.array([2, 0, 2, 1])


def softmax_loss(W):
    z = X @ W
    m = np.max(z, axis=1, keepdims=True)
    logp = z - m - np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))
    return -np.mean(np.sum(Y * logp, axis=1))


def embedding(E):
    rows = E[TOKENS]
    states = []
    for row in rows:
        states.append(np.tanh(row * 2.0))
    return np.sum(np.concatenate((rows[0], np.stack(states)[1:].ravel())) ** 2)
'''
W_MODEL = np.array([[0.3, -0.5, 0.2], [0.1, 0.4, -0.6], [-0.7, 0.2, 0.5]])


@pytest.mark.parametrize("func", ["softmax_loss", "embedding"])
def test_numba_module_compiles_numpy_forms_numba_lacks(tmp_path, func):
    """--numba modules carry numba implementations of the NumPy forms numba lacks
    (reductions with keepdims=, np.stack of a list, integer-array reads whose adjoint adds
    repeated rows): a softmax model's module failed to compile before."""
    pytest.importorskip("numba")
    path = write_module(tmp_path, "numba_models", NUMBA_MODELS_SRC)
    out = tmp_path / f"grad_{func}_numba.py"
    run_cli_ok("grad", f"{path}:{func}", "--numba", "-o", str(out))
    result = call_isolated(tmp_path, f"grad_{func}_numba", f"d{func}", (W_MODEL,))
    target = getattr(import_from_path(path), func)
    assert_close(result, central_difference(target, (W_MODEL,), 0))


# --------------------------------------------------------------------------- show, version


def test_show_puts_each_original_line_beside_its_generated_code(tmp_path, user_modules):
    proc = run_cli_ok("show", str(user_modules["logistic"]) + ":loss", "--wrt", "W,b")
    rows = [line for line in proc.stdout.splitlines() if "|" in line]
    originals = {row.split("|", 1)[1].split(None, 1)[0]: row.split("|", 1)[1].split(None, 1)[1]
                 for row in rows}
    source = LOGISTIC_SRC.splitlines()
    assert originals, proc.stdout
    for number, text in originals.items():  # each is line N of the user's file, verbatim
        assert source[int(number) - 1].strip() == text.strip()
    assert "return -np.mean(Y * np.log(p) + (1.0 - Y) * np.log(1.0 - p))" in originals.values()
    assert "# line " not in proc.stdout  # the markers moved into the column
    assert "def dloss(W, b, dout=1.0):" in proc.stdout


def test_show_forward_mode_and_errors(tmp_path, user_modules):
    proc = run_cli_ok("show", str(user_modules["poly"]) + ":poly", "--mode", "forward")
    assert "def jvp_poly(x, dx=1.0):" in proc.stdout
    assert "|" in proc.stdout and "return 3.0 * x ** 3" in proc.stdout
    assert_one_line_error(run_cli("show", str(user_modules["poly"]) + ":nope"))


def test_beside_aligns_the_original_column():
    from tangent_src.show import beside
    text = beside("def df(x, dy=1.0):\n    # line 3: y = x * x\n    dx = dy * 2 * x\n"
                  "    # line 2: z = y\n    return dx\n")
    assert text == ("def df(x, dy=1.0):\n"
                    "    dx = dy * 2 * x  |   3  y = x * x\n"
                    "    return dx        |   2  z = y\n")


def test_version_and_python_dash_m(tmp_path, user_modules):
    proc = run_cli_ok("--version")
    assert proc.stdout.strip() == f"tangent-src {tangent_src.__version__}"
    module_run = subprocess.run(
        [sys.executable, "-m", "tangent_src", "grad", str(user_modules["poly"]) + ":poly"],
        cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert module_run.returncode == 0, module_run.stderr
    assert "def dpoly(x, dout=1.0):" in module_run.stdout


def test_help_says_the_module_is_imported():
    text = " ".join(run_cli("--help").stdout.split())
    assert "imported" in text and "top-level code runs" in text


NONSCALAR_SRC = '''\
import numpy as np


def vec(x):
    return np.sin(x) * 2.0


def total(x):
    return np.sum(np.sin(x))
'''


def test_standalone_gradient_of_a_vector_function_refuses_the_default_seed(tmp_path):
    """grad of a function that does not return a scalar is refused, as the API refuses it
    (the default seed 1.0 would give the gradient of the sum of the outputs); a seed of
    the output's shape is a vector-Jacobian product. Provably scalar outputs get no
    check."""
    path = write_module(tmp_path, "nonscalar_mod", NONSCALAR_SRC)
    out = tmp_path / "dvec_mod.py"
    run_cli_ok("grad", f"{path}:vec", "-o", str(out))
    generated = import_from_path(out)
    x = np.array([0.1, -0.4, 0.9])
    with pytest.raises(ValueError, match="must return a scalar"):
        generated.dvec(x)
    v = np.array([1.0, 2.0, -1.0])
    np.testing.assert_allclose(generated.dvec(x, v), v * 2.0 * np.cos(x), rtol=1e-12)
    assert generated.dvec(0.3) == pytest.approx(2.0 * np.cos(0.3), rel=1e-12)
    scalar = tmp_path / "dtotal_mod.py"
    run_cli_ok("grad", f"{path}:total", "-o", str(scalar))
    assert "must return a scalar" not in scalar.read_text()
