"""Checkpointing: tape memory and time of a 10,000-step loop's gradient, with and without
`tangent_src.checkpoint()`.

    python benchmarks/checkpointing.py

Peak memory is measured with tracemalloc around one gradient call (the tapes dominate it);
times are the minimum over rounds of the mean per-call time of a round lasting >= 0.2 s.
"""
from __future__ import annotations

import gc
import platform
import sys
import time
import tracemalloc

import numpy as np

import tangent_src

STEPS = 10_000
WIDTH = 32


def rnn(W, h, steps):
    for _ in range(steps):
        h = np.tanh(W @ h + 0.1)
    return np.sum(h * h)


def rnn_checkpointed(W, h, steps):
    with tangent_src.checkpoint():
        for _ in range(steps):
            h = np.tanh(W @ h + 0.1)
    return np.sum(h * h)


def best_time(fn, *args) -> float:
    best = float("inf")
    for _ in range(3):
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < 0.2:
            fn(*args)
            calls += 1
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def peak_memory(fn, *args) -> int:
    gc.collect()
    tracemalloc.start()
    fn(*args)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> int:
    rng = np.random.default_rng(0)
    W = rng.normal(size=(WIDTH, WIDTH)) / np.sqrt(WIDTH)
    h0 = rng.normal(size=WIDTH)
    plain = tangent_src.grad(rnn, wrt=0)
    checkpointed = tangent_src.grad(rnn_checkpointed, wrt=0)
    g1, g2 = plain(W, h0, STEPS), checkpointed(W, h0, STEPS)
    if not np.allclose(g1, g2, rtol=1e-10, atol=1e-12):
        print("checkpointed gradient differs from the plain one", file=sys.stderr)
        return 1
    forward = best_time(rnn, W, h0, STEPS)
    t_plain = best_time(plain, W, h0, STEPS)
    t_ckpt = best_time(checkpointed, W, h0, STEPS)
    m_plain = peak_memory(plain, W, h0, STEPS)
    m_ckpt = peak_memory(checkpointed, W, h0, STEPS)
    print(f"- Command: `python {' '.join(sys.argv)}`")
    print(f"- Platform: {platform.platform()}; Python {platform.python_version()}, "
          f"NumPy {np.__version__}")
    print(f"- Loop: h = tanh(W @ h + 0.1), {STEPS} steps, width {WIDTH}; gradient wrt W\n")
    print("| variant | gradient time | / forward | peak memory during the gradient |")
    print("|---|---:|---:|---:|")
    print(f"| forward only | {forward * 1e3:.1f} ms | 1.00x | |")
    print(f"| plain tapes | {t_plain * 1e3:.1f} ms | {t_plain / forward:.2f}x | "
          f"{m_plain / 1e6:.2f} MB |")
    print(f"| checkpoint() (every ~sqrt(n) = 100) | {t_ckpt * 1e3:.1f} ms | "
          f"{t_ckpt / forward:.2f}x | {m_ckpt / 1e6:.2f} MB |")
    print(f"\nmemory reduction: {m_plain / m_ckpt:.1f}x; recomputation cost: "
          f"{(t_ckpt - t_plain) / forward:.2f}x the forward time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
