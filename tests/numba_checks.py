"""Checks that numba tests share: a runtime helper compiled by numba against NumPy, and
numba's disk cache written by one process and read by a second."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


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
