"""How code generation time scales with the size of the function (issue 11).

Three families of generated test functions, each differentiated once with `grad` in a
fresh process (so no cache is shared): straight-line code of n lines, n nested `if`s,
and one expression of n terms. Prints a markdown table of generation seconds (the first
call of the gradient: parse, lower, transform, optimize, emit, load).

    python benchmarks/generation_size.py            # the full table
    python benchmarks/generation_size.py --quick    # smaller sizes
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

SIZES = {"straight-line lines": (100, 300, 1000), "nested ifs": (6, 12, 18, 30),
         "expression terms": (100, 250, 1000)}
QUICK = {"straight-line lines": (100, 300), "nested ifs": (6, 12, 18),
         "expression terms": (100, 250)}


def straight(n: int) -> str:
    body = [f"    h = np.sin(h) * {0.5 + (i % 7) * 0.01} + x" for i in range(n)]
    return "\n".join(["def f(x):", "    h = x", *body, "    return np.sum(h)"])


def nested(n: int) -> str:
    lines = ["def f(x):", "    y = x * 1.0"]
    for i in range(n):
        indent = "    " * (i + 1)
        lines += [f"{indent}if x > {-1.0 - 0.1 * i}:",
                  f"{indent}    y = y * {1.0 + 0.01 * i} + np.sin(x)"]
    return "\n".join(lines + ["    return y"])


def expression(n: int) -> str:
    terms = " + ".join(f"{1.0 + 0.001 * i} * np.sin(x * {1.0 + 0.01 * i})" for i in range(n))
    return f"def f(x):\n    return {terms}"


BUILDERS = {"straight-line lines": straight, "nested ifs": nested,
            "expression terms": expression}

RUNNER = """
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("bench_subject", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
import tangent_src
start = time.perf_counter()
tangent_src.grad(module.f)(0.3)
print(time.perf_counter() - start)
"""


def measure(source: str, timeout: float) -> str:
    """Generation seconds for `f` in `source`, in a fresh process ('> timeout' if slower)."""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "bench_subject.py")
        with open(path, "w") as f:
            f.write("import numpy as np\n\n\n" + source + "\n")
        env = dict(os.environ, TANGENT_SRC_CACHE=os.path.join(directory, "cache"))
        try:
            done = subprocess.run([sys.executable, "-c", RUNNER, path], capture_output=True,
                                  text=True, timeout=timeout, env=env, check=False)
        except subprocess.TimeoutExpired:
            return f"> {timeout:.0f}"
    if done.returncode:
        return "error: " + (done.stderr.strip().splitlines() or ["?"])[-1][:60]
    return f"{float(done.stdout.strip().splitlines()[-1]):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes only")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per case")
    args = parser.parse_args()
    print("| family | size | generation (s) |")
    print("|---|---:|---:|")
    for family, sizes in (QUICK if args.quick else SIZES).items():
        for n in sizes:
            print(f"| {family} | {n} | {measure(BUILDERS[family](n), args.timeout)} |",
                  flush=True)


if __name__ == "__main__":
    main()
