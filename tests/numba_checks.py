"""Checks that numba tests share: a gradient under one back end against central
differences (the source it ran returned, for what the numba passes did to it), a runtime
helper compiled by numba against NumPy, and numba's disk cache written by one process and
read by a second."""
from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from fdcheck import numerical_grad

import tangent_src

ROOT = Path(__file__).resolve().parent.parent


def checked_source(func, args: tuple, wrt: tuple, backend: str) -> str:
    """The source of grad(func) that ran on `args`, its result checked against central
    differences for each argument of `wrt`, and the arguments left as they were."""
    kept = copy.deepcopy(args)
    grad = tangent_src.grad(func, wrt=wrt, backend=backend)
    got = grad(*args)
    for k, w in enumerate(wrt):
        np.testing.assert_allclose(got[k], numerical_grad(func, kept, w), rtol=1e-6,
                                   atol=1e-8, err_msg=f"{func.__name__} d/d arg {w}")
    for a, b in zip(args, kept):
        np.testing.assert_array_equal(a, b)
    return tangent_src.source(grad, *args)


def assert_jitted_matches(helper, cases, reference, rtol: float = 0.0) -> None:
    """`helper(acc, k, a, b)` compiled by numba against `reference` run by NumPy, for each
    case builder (called afresh for each side: the helpers write into acc); the dtype
    too. rtol=0 asks for NumPy's bits."""
    import numba

    from tangent_src.backend.numba import require_numba
    require_numba()
    jitted = numba.njit(lambda acc, k, a, b: helper(acc, k, a, b))
    for make in cases:
        want = reference(*make())
        got = jitted(*make())
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)
        assert got.dtype == want.dtype


def run_twice(tmp_path: Path, module: str, source: str, script: str,
              cache_variable: str) -> list[tuple[int, float]]:
    """Write `module`.py (`source`) where a fresh process imports it, run `script` in two
    processes one after the other with the disk cache in tmp_path (the environment variable
    `cache_variable` names it) and return what each printed: its cache hits and a value."""
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / f"{module}.py").write_text(source)
    env = dict(os.environ, **{cache_variable: str(tmp_path / "cache")},
               PYTHONPATH=os.pathsep.join([str(folder), str(ROOT)]))
    runs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        hits, value = out.stdout.split()
        runs.append((int(hits), float(value)))
    return runs
