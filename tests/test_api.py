"""The public API: decorator forms, verbose output, source(), caching, names, tracebacks."""
from __future__ import annotations

import linecache
import os
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path

import numpy as np
import pytest

import tangent_src

REPO_ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- decorator forms
@tangent_src.grad
def d_cube(x):
    return x ** 3 - 2.0 * x


@tangent_src.grad(wrt="W")
def d_layer_loss(W, b):
    return np.sum(np.tanh(W * 2.0 + b))


@tangent_src.grad(wrt=("W", "b"))
def d_layer_loss_both(W, b):
    return np.sum(np.tanh(W * 2.0 + b))


def test_decorator_without_arguments():
    """@grad differentiates with respect to the first argument."""
    assert d_cube(2.0) == pytest.approx(3 * 2.0 ** 2 - 2.0, rel=1e-12)
    assert "def " in tangent_src.source(d_cube)


def test_decorator_with_arguments():
    """@grad(wrt=...) differentiates with respect to the named argument(s)."""
    W = np.array([0.1, -0.3, 0.2])
    b = 0.05
    expected_W = 2.0 * (1.0 - np.tanh(W * 2.0 + b) ** 2)
    np.testing.assert_allclose(d_layer_loss(W, b), expected_W, rtol=1e-12)
    gW, gb = d_layer_loss_both(W, b)
    np.testing.assert_allclose(gW, expected_W, rtol=1e-12)
    assert gb == pytest.approx(np.sum(expected_W) / 2.0, rel=1e-12)


# --------------------------------------------------------------------------- verbose and source()
def verbose_target(x, y):
    return np.sin(x) * y


def quiet_target(x, y):
    return np.cos(x) * y


def test_verbose_prints_source_when_generated(capsys):
    """verbose=1 prints the generated source once, when it is generated."""
    df = tangent_src.grad(verbose_target, wrt="x", verbose=1)
    assert "def " not in "".join(capsys.readouterr())
    assert df(0.3, 2.0) == pytest.approx(np.cos(0.3) * 2.0, rel=1e-12)
    printed = "".join(capsys.readouterr())
    src = tangent_src.source(df)
    def_lines = [line.strip() for line in src.splitlines() if line.lstrip().startswith("def ")]
    assert def_lines and all(line in printed for line in def_lines), printed
    df(0.5, 1.0)
    assert "def " not in "".join(capsys.readouterr())


def test_not_verbose_prints_nothing(capsys):
    """Without verbose, generating and running a gradient prints nothing."""
    df = tangent_src.grad(quiet_target)
    df(0.3, 2.0)
    tangent_src.source(df)
    captured = capsys.readouterr()
    assert captured.out == ""


def source_target(W, b):
    return np.sum(np.tanh(np.dot(W, b)))


def test_source_is_compilable_python():
    """source(df) is a str of Python that compiles and defines a function."""
    src = tangent_src.source(tangent_src.grad(source_target, wrt="W"))
    assert isinstance(src, str)
    compile(src, "<generated>", "exec")
    assert "def " in src


def test_generated_names_follow_user_names():
    """The adjoint of W is called dW (and of b, db)."""
    assert "dW" in tangent_src.source(tangent_src.grad(source_target, wrt="W"))
    assert "db" in tangent_src.source(tangent_src.grad(source_target, wrt="b"))


def test_source_does_not_require_a_call():
    """source() forces generation; the gradient then works as usual."""
    df = tangent_src.grad(source_target, wrt=(0, 1))
    assert "def " in tangent_src.source(df)
    W = np.array([[0.2, -0.1], [0.4, 0.3]])
    b = np.array([0.5, -0.6])
    gW, gb = df(W, b)
    r = 1.0 - np.tanh(np.dot(W, b)) ** 2
    np.testing.assert_allclose(gW, np.outer(r, b), rtol=1e-12)
    np.testing.assert_allclose(gb, np.dot(r, W), rtol=1e-12)


# --------------------------------------------------------------------------- caching, determinism
def cache_target(x, y):
    return np.sum(np.exp(x) * y)


def test_cache_reuses_generated_code():
    """Asking twice for the same gradient reuses the generated code."""
    s1 = tangent_src.source(tangent_src.grad(cache_target))
    s2 = tangent_src.source(tangent_src.grad(cache_target))
    assert s1 is s2
    s3 = tangent_src.source(tangent_src.grad(cache_target, wrt=1))
    assert s3 != s1


FACTOR = 2.0


def uses_factor(x):
    return FACTOR * x * x


def test_globals_are_read_when_the_gradient_runs(monkeypatch):
    """Like the function itself, the gradient sees the current value of a global."""
    df = tangent_src.grad(uses_factor)
    assert df(1.0) == pytest.approx(4.0)
    monkeypatch.setattr(sys.modules[__name__], "FACTOR", 3.0)
    assert uses_factor(1.0) == pytest.approx(3.0)
    assert df(1.0) == pytest.approx(6.0)
    assert tangent_src.grad(uses_factor)(1.0) == pytest.approx(6.0)


DETERMINISM_MODULE = """\
import numpy as np

SHIFT = 0.25


def model(W, b, x):
    h = np.tanh(np.dot(x, W) + b)
    total = 0.0
    for i in range(len(h)):
        if h[i] > SHIFT:
            total += h[i] * h[i]
        else:
            total -= h[i]
    a, c = total * 2.0, np.sum(W)
    return a + c * c
"""


def test_generation_is_deterministic(tmp_path):
    """Fresh interpreters (with different hash seeds) generate identical source."""
    (tmp_path / "detmod.py").write_text(DETERMINISM_MODULE)
    script = textwrap.dedent("""\
        import tangent_src, detmod
        print(tangent_src.source(tangent_src.grad(detmod.model, wrt=(0, 1))))
    """)
    outputs = []
    for hash_seed in ("0", "12345"):
        env = dict(os.environ)
        env["PYTHONHASHSEED"] = hash_seed
        env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), str(tmp_path)])
        result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    assert "def " in outputs[0]
    assert outputs[0] == outputs[1]


# --------------------------------------------------------------------------- tracebacks
def shape_clash(x, y):
    z = x + y
    return np.sum(z * z)


def test_traceback_reaches_a_real_generated_file():
    """An error inside the gradient has a traceback frame in a real file with its line text."""
    df = tangent_src.grad(shape_clash)
    with pytest.raises(ValueError) as info:
        df(np.ones(3), np.ones(4))
    frames = traceback.extract_tb(info.value.__traceback__)
    innermost = frames[-1]
    assert os.path.isfile(innermost.filename), innermost.filename
    assert Path(innermost.filename).resolve() != Path(__file__).resolve(), (
        "the innermost frame should be the generated code, not the original function"
    )
    line = linecache.getline(innermost.filename, innermost.lineno).strip()
    assert line, f"no source for {innermost.filename}:{innermost.lineno}"
    src_lines = {row.strip() for row in tangent_src.source(df).splitlines()}
    assert line in src_lines
