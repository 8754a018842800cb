"""Per-call overhead of a transform on a cache hit (issue 14, the logistic row).

Times, interleaved in short blocks and keeping each one's fastest block (robust on a
loaded machine): the transform's call, the generated function it runs called directly
(arguments already converted), and the hand-written gradient where there is one. The
difference of the first two is what tangent_src adds per call: the argument, guard and
result checks (tangent_src/call_entry.py).

    PYTHONPATH=. OPENBLAS_NUM_THREADS=1 python benchmarks/call_overhead.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tangent_src  # noqa: E402
from benchmarks import workloads as W  # noqa: E402


def fastest(fns: dict, blocks: int = 300, n: int = 300) -> dict:
    """Each function's per-call time (us) in its fastest block of `n` calls."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(blocks):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(n):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / n * 1e6)
    return best


def row(label: str, transform, args: tuple, hand=None) -> str:
    transform(*args)
    generated = transform._last.function
    converted = tuple(np.float64(a) if type(a) is float else a for a in args)
    fns = {"call": lambda: transform(*args), "generated": lambda: generated(*converted)}
    if hand is not None:
        fns["hand"] = lambda: hand(*args)
    t = fastest(fns)
    out = (f"{label:30s} call {t['call']:7.2f} us  generated {t['generated']:7.2f} us  "
           f"overhead {t['call'] - t['generated']:5.2f} us")
    if hand is not None:
        out += (f"  hand {t['hand']:7.2f} us  call/hand {t['call'] / t['hand']:.3f}  "
                f"generated/hand {t['generated'] / t['hand']:.3f}")
    return out


def main() -> None:
    args = W.logistic_args()
    print(row("logistic grad wrt=(0, 1)", tangent_src.grad(W.logistic_loss, wrt=(0, 1)),
              args, W.logistic_loss_grad), flush=True)
    print(row("logistic value_and_grad", tangent_src.value_and_grad(W.logistic_loss),
              args), flush=True)

    def pytree_loss(params, inputs, targets):
        return np.sum((np.dot(inputs, params["W"]) + params["b"] - targets) ** 2)

    print(row("dict {W, b} grad", tangent_src.grad(pytree_loss),
              ({"W": args[0], "b": args[1]}, args[2], args[3])), flush=True)
    print(row("scalar sin(x) * x", tangent_src.grad(lambda x: np.sin(x) * x), (0.3,)))


if __name__ == "__main__":
    main()
