"""Higher-order benchmark: Hessian-vector product cost and third-derivative generation time.

Run from the repository root::

    python benchmarks/higher_order.py [--quick]

(a) For the MLP loss of ``benchmarks.workloads`` (X 256x784, tanh 256, softmax 10), the
    time of ``tangent_src.hvp(mlp_loss, wrt=0)(*args, V)`` relative to one gradient
    ``tangent_src.grad(mlp_loss, wrt=0)(*args)`` (goal: at most 4x). Before timing, the
    hand-written gradient is checked against finite differences of the loss, the generated
    gradient against the hand-written one, and the HVP against a fourth-order central
    difference of the hand-written gradient along V.
(b) The one-off generation time of the third derivative of ``tanh``:
    ``clear_cache(); t0; grad(grad(grad(f)))(2.0); t1`` (minimum over repetitions), after
    checking the value against the analytic 0.25265405 (to 1e-6). Orders 1 and 2 are
    timed the same way for comparison.

Timing as in ``benchmarks/seed.py``: one round calls the function until at least 0.2 s
have passed; the reported time is the minimum over 5 rounds of the mean per-call time, with
the garbage collector disabled. ``--quick``: 0.05 s x 2 rounds, 2 generation repetitions.

Exit status 0 on success, 1 if a correctness check fails (then nothing more is timed).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in [str(Path(p).resolve()) for p in sys.path if p]:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

import tangent_src  # noqa: E402
from benchmarks.seed import FULL, QUICK, fmt_ratio, fmt_time, machine_lines, time_call  # noqa: E402
from benchmarks.workloads import (  # noqa: E402
    GradientCheckError,
    check_hand_gradient,
    get_workload,
    mlp_loss,
    mlp_loss_grad,
)

HVP_GOAL = 4.0
HVP_RTOL = 1e-8          # HVP vs finite difference of gradients, max |diff| / max |fd|
GRAD_RTOL = 1e-8         # generated vs hand-written gradient
TANH3_AT_2 = 0.25265405  # d^3/dx^3 tanh(x) at x = 2 (0.2526540651..., truncated)
TANH3_TOL = 1e-6


def f(x):
    return np.tanh(x)


def tanh3_exact(x: float) -> float:
    """(1 - t^2)(6 t^2 - 2) with t = tanh(x): the third derivative of tanh."""
    t = math.tanh(x)
    return (1.0 - t * t) * (6.0 * t * t - 2.0)


class CheckFailed(Exception):
    pass


def _max_rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b))) / max(float(np.max(np.abs(b))), 1e-300)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- (a) hvp


def hvp_benchmark(cfg) -> tuple[list[str], list[str]]:
    workload = get_workload("mlp")
    args = workload.make_args()
    V = np.random.default_rng(1).standard_normal(args[0].shape)

    try:
        checks = check_hand_gradient(workload, args, rtol=1e-6)
    except GradientCheckError as exc:
        raise CheckFailed(f"hand-written MLP gradient is wrong: {exc}") from None
    log(f"[hvp] hand-written gradient matches finite differences "
        f"(max rel. error {max(c.rel_error for c in checks):.1e}, {len(checks)} probes)")

    def hand_dW1(W1):
        return mlp_loss_grad(W1, *args[1:])[0]

    grad = tangent_src.grad(mlp_loss, wrt=0)
    hvp = tangent_src.hvp(mlp_loss, wrt=0)
    # What hvp runs: forward mode over the generated gradient, called directly (hvp also
    # evaluates the loss on every call to check that it is a scalar).
    fwd_over_rev = tangent_src.autodiff(grad, mode="forward", wrt=0)

    grad_err = _max_rel(grad(*args), hand_dW1(args[0]))
    if not grad_err <= GRAD_RTOL:
        raise CheckFailed(f"generated gradient differs from the hand-written one "
                          f"(max rel. difference {grad_err:.1e})")

    Hv = hvp(*args, V)
    h = 1e-5  # V has unit-variance entries; W1 entries are ~0.04
    W1 = args[0]
    fd = (8 * (hand_dW1(W1 + h * V) - hand_dW1(W1 - h * V))
          - (hand_dW1(W1 + 2 * h * V) - hand_dW1(W1 - 2 * h * V))) / (12 * h)
    hvp_err = _max_rel(Hv, fd)
    if not hvp_err <= HVP_RTOL:
        raise CheckFailed(f"hvp differs from a finite difference of gradients along V "
                          f"(max |diff| / max |fd| = {hvp_err:.1e} > {HVP_RTOL:g})")
    direct_err = _max_rel(fwd_over_rev(*args, 1.0, V), Hv)
    if not direct_err <= 1e-12:
        raise CheckFailed(f"forward-over-reverse function differs from hvp ({direct_err:.1e})")
    log(f"[hvp] hvp matches the finite difference of gradients along V "
        f"(max rel. difference {hvp_err:.1e})")

    log("[hvp] timing ...")
    timed = dict(
        loss=time_call(mlp_loss, args, min_time=cfg.min_time, rounds=cfg.rounds),
        grad=time_call(grad, args, min_time=cfg.min_time, rounds=cfg.rounds),
        hvp=time_call(hvp, args + (V,), min_time=cfg.min_time, rounds=cfg.rounds),
        direct=time_call(fwd_over_rev, args + (1.0, V), min_time=cfg.min_time,
                         rounds=cfg.rounds),
        hand=time_call(hand_dW1, (W1,), min_time=cfg.min_time, rounds=cfg.rounds),
    )
    ratio = timed["hvp"] / timed["grad"]
    table = [
        "| (a) MLP loss, d/dW1 (W1 784x256) | time | / generated grad |",
        "|---|---:|---:|",
        f"| loss `mlp_loss(*args)` | {fmt_time(timed['loss'])} "
        f"| {fmt_ratio(timed['loss'], timed['grad'])} |",
        f"| hand-written gradient (all four, dW1 kept) | {fmt_time(timed['hand'])} "
        f"| {fmt_ratio(timed['hand'], timed['grad'])} |",
        f"| generated gradient `grad(mlp_loss, wrt=0)(*args)` | {fmt_time(timed['grad'])} "
        f"| 1.00x |",
        f"| **`hvp(mlp_loss, wrt=0)(*args, V)`** | **{fmt_time(timed['hvp'])}** "
        f"| **{ratio:.2f}x** (goal <= {HVP_GOAL:g}x: {'met' if ratio <= HVP_GOAL else 'MISSED'}) |",
        f"| its generated function alone, `autodiff(grad(mlp_loss, wrt=0), "
        f"mode=\"forward\", wrt=0)(*args, 1.0, V)` | {fmt_time(timed['direct'])} "
        f"| {fmt_ratio(timed['direct'], timed['grad'])} |",
    ]
    notes = [
        f"- (a) V: standard normal of W1's shape (seed 1). Checked first: hand-written gradient "
        f"vs 4th-order central FD of the loss (max rel. error "
        f"{max(c.rel_error for c in checks):.1e}, {len(checks)} probes); generated gradient vs "
        f"hand-written (max rel. difference {grad_err:.1e}); hvp vs 4th-order central "
        f"difference of the hand-written gradient along V, step 1e-5 (max |diff| / max |fd| = "
        f"{hvp_err:.1e}). `hvp` also evaluates the loss on each call (to check that it is "
        f"a scalar), hence the gap to the generated function alone.",
    ]
    return table, notes


# --------------------------------------------------------------------------- (b) tanh'''


def nested_grad(func, order: int):
    for _ in range(order):
        func = tangent_src.grad(func)
    return func


def generation_benchmark(cfg) -> tuple[list[str], list[str]]:
    exact = tanh3_exact(2.0)
    if abs(exact - TANH3_AT_2) > 1e-7:  # the constant is 0.252654065... cut to 8 decimals
        raise CheckFailed(f"analytic formula disagrees with the constant: {exact!r}")
    expected = {1: 1.0 - math.tanh(2.0) ** 2,
                2: -2.0 * math.tanh(2.0) * (1.0 - math.tanh(2.0) ** 2),
                3: TANH3_AT_2}
    rows = []
    for order in (1, 2, 3):
        best = math.inf
        value = None
        for _ in range(cfg.gen_reps):
            tangent_src.clear_cache()
            t0 = time.perf_counter()
            value = nested_grad(f, order)(2.0)
            best = min(best, time.perf_counter() - t0)
        # order 3 against the given constant (to 1e-6), orders 1-2 against tanh' and tanh''
        if not abs(float(value) - expected[order]) <= TANH3_TOL:
            raise CheckFailed(f"order-{order} derivative of tanh at 2.0 is {value!r}, "
                              f"expected {expected[order]:.8f}")
        derivative = nested_grad(f, order)
        derivative(2.0)  # generated (cached) before timing the calls
        call = time_call(derivative, (2.0,), min_time=cfg.min_time, rounds=cfg.rounds)
        rows.append((order, float(value), best, call))
        log(f"[tanh] order {order}: {float(value):.10f}, generation {fmt_time(best)}")

    table = [
        "| (b) `f(x) = np.tanh(x)` at x = 2.0 | value | generation (one-off) | call |",
        "|---|---:|---:|---:|",
    ]
    names = {1: "`grad(f)`", 2: "`grad(grad(f))`", 3: "**`grad(grad(grad(f)))`**"}
    for order, value, gen, call in rows:
        gen_text = f"**{fmt_time(gen)}**" if order == 3 else fmt_time(gen)
        table.append(f"| {names[order]} | {value:.8f} | {gen_text} | {fmt_time(call)} |")
    third = rows[-1]
    notes = [
        f"- (b) Generation = min over {cfg.gen_reps} of `clear_cache(); t0; "
        f"grad(grad(grad(f)))(2.0); t1` (for order 3; it includes the first call). The "
        f"third derivative is {third[1]:.10f}; analytic (1 - t^2)(6t^2 - 2), t = tanh 2: "
        f"{exact:.10f} (|diff| = {abs(third[1] - exact):.1e}); required: within "
        f"{TANH3_TOL:g} of {TANH3_AT_2} (|diff| = {abs(third[1] - TANH3_AT_2):.1e}). "
        f"Call = the generated function afterwards, timed like (a).",
    ]
    return table, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repetitions (0.05 s x 2 rounds; 2 generation reps)")
    opts = parser.parse_args(argv)
    cfg = QUICK if opts.quick else FULL

    try:
        table_a, notes_a = hvp_benchmark(cfg)
        table_b, notes_b = generation_benchmark(cfg)
    except CheckFailed as exc:
        print(f"error: {exc}\nAborting: no timings are reported for a wrong result.",
              file=sys.stderr)
        return 1

    tangent_status = f"`{Path(tangent_src.__file__).resolve().parent}`"
    report = [
        "## Higher order", "", *machine_lines(np, tangent_status), "",
        *table_a, "", *table_b, "",
        f"Times are the minimum over {cfg.rounds} rounds of the mean per-call time of a round "
        f"lasting >= {cfg.min_time:g} s (GC disabled).", "",
        *notes_a, *notes_b,
    ]
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
