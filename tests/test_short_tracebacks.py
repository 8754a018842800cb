"""Errors found while code is generated reach the user with a short traceback (issue 15):
the user's frame, the transform's entry, the located message; the compiler's frames only
with TANGENT_SRC_FULL_TRACEBACK=1. Errors raised inside generated code keep its frames."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

SCRIPTS = {
    "unsupported": """
        import numpy as np
        import tangent_src

        def f(x):
            try:
                return np.sin(x)
            finally:
                pass

        tangent_src.grad(f)(1.0)
        """,
    "no_rule": """
        import numpy as np
        import tangent_src

        def f(x):
            return np.sum(np.unwrap(x))

        tangent_src.grad(f)(np.array([0.1, 0.2]))
        """,
    "standalone": """
        import numpy as np
        import tangent_src

        def f(x):
            with open("x") as handle:
                return x

        tangent_src.standalone_source(f)
        """,
}


def run(name: str, full: bool = False, tmp_path: Path = Path(".")) -> str:
    path = tmp_path / f"{name}_user.py"
    path.write_text(textwrap.dedent(SCRIPTS[name]))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("TANGENT_SRC_FULL_TRACEBACK", None)
    if full:
        env["TANGENT_SRC_FULL_TRACEBACK"] = "1"
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=300, check=False)
    assert proc.returncode == 1
    return proc.stderr


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_generation_errors_have_short_tracebacks(name, tmp_path):
    err = run(name, tmp_path=tmp_path)
    frames = [line for line in err.splitlines() if line.lstrip().startswith("File ")]
    assert len(frames) <= 4, err
    assert f"{name}_user.py" in frames[0]  # the user's own call comes first
    message = err[err.index("tangent_src.errors."):]
    assert f"{name}_user.py:" in message  # the message is located in the user's file
    assert "compiler.py" not in err and "reverse.py" not in err


def test_full_tracebacks_on_request(tmp_path):
    err = run("unsupported", full=True, tmp_path=tmp_path)
    frames = [line for line in err.splitlines() if line.lstrip().startswith("File ")]
    assert len(frames) > 6 and "compiler.py" in err
