"""Random checkpoint() loops with nested loops and branches, gradients vs finite differences.

    PYTHONPATH=. python scripts/fuzz_checkpoint.py START COUNT [--plain]

Each program (a pure function of its seed) runs a state (a vector x, a scalar s, an index
j) through `with checkpoint(every=e): for k in range(n):` whose body nests up to three
loops and branches; `--plain` drops the checkpoint (the same loops taped). Prints every
seed whose reverse-mode gradient in (Q, x) disagrees with central differences (WRONG),
fails (CRASH) or is refused, then the counts. Session 10 (audit): main at 1949988 had 3
WRONG of seeds 0-9 (the checkpoints missed values only a nested loop carries); this branch 0.
"""
from __future__ import annotations

import importlib.util
import os
import random
import sys
import tempfile
from collections import Counter

import numpy as np

import tangent_src

STATEMENTS = (
    "x = np.tanh(Q[j] @ x) + 0.1 * s",
    "x = x * 0.9 + np.sin(Q[{k}][0]) * 0.2",
    "s = s + np.sum(x * x) * 0.1",
    "j = (j + {c}) % 5",
    "y = x[::-1] * 0.5",
    "s = s * 0.95 + np.sum(np.cos(x))",
    "x = np.sin(x) + Q[{k}] @ x * 0.1",
    "z = Q[j] @ x",
    "x = x + 0.1 * np.tanh(z) + 0.1 * y",
    "s = s + x[{c3}]",
)


def _body(rng: random.Random, depth: int, indices: list, indent: int) -> list:
    lines, pad = [], " " * indent
    for _ in range(rng.randint(1, 3)):
        r = rng.random()
        if r < 0.25 and depth < 3:
            name = "abcd"[depth]
            lines.append(f"{pad}for {name} in range({rng.randint(1, 3)}):")
            lines += _body(rng, depth + 1, indices + [name], indent + 4)
        elif r < 0.35 and depth < 3:
            lines.append(f"{pad}if j % 2 == 0:")
            lines += _body(rng, 3, indices, indent + 4)
            lines.append(f"{pad}else:")
            lines += _body(rng, 3, indices, indent + 4)
        else:
            k = f"({rng.choice(indices)} % 5)"
            lines.append(pad + rng.choice(STATEMENTS).format(
                k=k, c=rng.randint(1, 4), c3=rng.randint(0, 2)))
    return lines


def program(seed: int, plain: bool = False) -> str:
    """The source of program `seed`: f(Q, x) with Q of shape (5, 3, 3), x of shape (3,)."""
    rng = random.Random(seed)
    every, n = rng.randint(1, 4), rng.randint(2, 7)
    head = "    if True:" if plain else f"    with checkpoint(every={every}):"
    lines = ["import numpy as np", "from tangent_src import checkpoint", "", "",
             "def f(Q, x):", "    s = 0.0", "    j = 0", "    y = x * 0.0", "    z = x * 0.0",
             head, f"        for k in range({n}):"]
    lines += _body(rng, 1, ["k"], 12)
    lines.append("    return np.sum(x ** 2) + s * 0.5 + np.sum(y * z)")
    return "\n".join(lines) + "\n"


def check(seed: int, plain: bool, folder: str) -> tuple:
    """(category, detail) of program `seed`."""
    path = os.path.join(folder, f"ck_{seed}.py")
    with open(path, "w") as out:
        out.write(program(seed, plain))
    spec = importlib.util.spec_from_file_location(f"ck_{seed}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    r = np.random.default_rng(seed)
    args = [np.eye(3) + 0.3 * r.standard_normal((5, 3, 3)), r.standard_normal(3)]
    try:
        grads = tangent_src.grad(module.f, wrt=(0, 1))(*args)
    except tangent_src.errors.TangentError as exc:
        return "refused", str(exc).splitlines()[0]
    worst = 0.0
    with np.errstate(all="ignore"):
        for i, arg in enumerate(args):
            v = r.standard_normal(arg.shape)
            plus, minus = list(args), list(args)
            plus[i], minus[i] = arg + 1e-6 * v, arg - 1e-6 * v
            ref = (module.f(*plus) - module.f(*minus)) / 2e-6
            if not np.isfinite(ref):
                return "skipped", "not finite"
            worst = max(worst, abs(np.sum(grads[i] * v) - ref) / (abs(ref) + 1e-6))
    return ("WRONG" if worst > 1e-5 else "ok"), f"{worst:.1e}"


def main() -> None:
    start, count = int(sys.argv[1]), int(sys.argv[2])
    plain = "--plain" in sys.argv
    counts: Counter = Counter()
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(start, start + count):
            try:
                category, detail = check(seed, plain, folder)
            except Exception as exc:  # noqa: BLE001 - reported, the run goes on
                category, detail = "CRASH", repr(exc)
            counts[category] += 1
            if category not in ("ok", "skipped"):
                print(seed, category, detail, flush=True)
    print(dict(counts))


if __name__ == "__main__":
    main()
