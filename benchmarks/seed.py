"""Seed benchmark: objective vs. hand-written gradient vs. tangent_src-generated gradient.

Run from the repository root::

    python benchmarks/seed.py [--quick] [--markdown PATH] [--traceback]
    python -m benchmarks.seed [--quick] [--markdown PATH] [--traceback]

For every workload in ``benchmarks.workloads`` the script

1. verifies the hand-written gradient against central finite differences
   (aborts, exit status 1, if any probe disagrees beyond 1e-6 relative),
2. times the objective and the hand-written gradient,
3. times the one-off generation ``tangent_src.clear_cache(); tangent_src.source(
   tangent_src.grad(f, wrt=...))`` (minimum over repetitions),
4. checks the generated gradient against the hand-written one
   (``np.allclose`` with rtol=1e-8) and times it.

Timing (ADBench-style): one round calls the function repeatedly until at least
0.2 s have elapsed and divides by the number of calls; the reported time is the
minimum over 5 rounds. The garbage collector is disabled while timing, as in
``timeit``. ``--quick`` uses 0.05 s x 2 rounds and 2 generation repetitions.

If tangent_src cannot be imported, fails to generate a gradient, or generates a
wrong one, the table is still printed (those cells say so), the error is
reported in one readable paragraph, and the exit status is 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import math
import os
import platform
import shlex
import subprocess
import sys
import time
import traceback
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

GEN_RTOL = 1e-8
FD_RTOL = 1e-6


@dataclasses.dataclass(frozen=True)
class Config:
    min_time: float
    rounds: int
    gen_reps: int


FULL = Config(min_time=0.2, rounds=5, gen_reps=5)
QUICK = Config(min_time=0.05, rounds=2, gen_reps=2)


class TangentFailure(Exception):
    """tangent_src failed on a workload; carries a readable one-paragraph summary."""

    def __init__(self, workload: str, stage: str, exc: BaseException | None, detail: str = ""):
        self.workload = workload
        self.stage = stage
        self.exc = exc
        self.detail = detail
        super().__init__(self.summary())

    def summary(self) -> str:
        lines = [f"tangent_src failed on workload {self.workload!r} during {self.stage}:"]
        if self.exc is not None:
            msg = str(self.exc).strip()
            if len(msg) > 800:
                msg = msg[:800] + " [...]"
            lines.append(f"  {type(self.exc).__name__}: {msg}" if msg else
                         f"  {type(self.exc).__name__}")
            where = _innermost_frame(self.exc)
            if where:
                lines.append(f"  raised at {where}")
        if self.detail:
            lines.append("  " + self.detail.replace("\n", "\n  "))
        return "\n".join(lines)


def _innermost_frame(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    f = frames[-1]
    try:
        filename = str(Path(f.filename).resolve().relative_to(REPO_ROOT))
    except ValueError:
        filename = f.filename
    return f"{filename}:{f.lineno} in {f.name}()"


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------


def time_call(fn, args: tuple, *, min_time: float, rounds: int) -> float:
    """Minimum over ``rounds`` of the mean per-call time of a >= ``min_time`` s round."""
    best = math.inf
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            calls = 0
            total = 0.0
            batch = 1
            while total < min_time:
                t0 = time.perf_counter()
                for _ in range(batch):
                    fn(*args)
                dt = time.perf_counter() - t0
                total += dt
                calls += batch
                if dt < min_time / 20:
                    batch *= 2
            best = min(best, total / calls)
    finally:
        if gc_was_enabled:
            gc.enable()
    return best


def fmt_time(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "n/a"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(num: float | None, den: float | None) -> str:
    if num is None or den is None or not den > 0:
        return "n/a"
    return f"{num / den:.2f}x"


# ---------------------------------------------------------------------------
# Machine description
# ---------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + (" (working tree has uncommitted changes)" if dirty else "")


def machine_lines(np, tangent_status: str) -> list[str]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cpus = f"{os.cpu_count()}" + (f" ({usable} usable)" if usable is not None else "")
    threads = [
        f"{v}={os.environ[v]}"
        for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
        if v in os.environ
    ]
    lines = [
        f"- Command: `{shlex.join(getattr(sys, 'orig_argv', [sys.executable, *sys.argv]))}`",
        f"- Date (UTC): {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M}",
        f"- Platform: {platform.platform()}",
        f"- CPU: {_cpu_model()}; CPU count: {cpus}",
        f"- Python {platform.python_version()}, NumPy {np.__version__}"
        + (f"; {', '.join(threads)}" if threads else ""),
        f"- tangent_src: {tangent_status}; git revision {_git_revision()}",
    ]
    return lines


# ---------------------------------------------------------------------------
# Benchmark
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    name: str
    description: str
    fd_max_rel: float
    fd_probes: int
    objective: float
    hand: float
    generation: float | None = None
    generated: float | None = None
    gen_max_rel: float | None = None
    failure: TangentFailure | None = None


def _max_rel_diff(np, a, b) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-300)
    return float(np.max(np.abs(a - b), initial=0.0)) / scale


def compare_generated(np, workload, generated, hand) -> float:
    """Raise ValueError unless ``generated`` matches ``hand``; return max rel. difference."""
    hand_t = workload.as_tuple(hand)
    is_sequence = isinstance(generated, (tuple, list))
    if isinstance(workload.wrt, tuple) and not (is_sequence and len(generated) == len(hand_t)):
        raise ValueError(
            f"expected a tuple of {len(hand_t)} gradients for wrt={workload.wrt}, "
            f"got {type(generated).__name__}"
            + (f" of length {len(generated)}" if is_sequence else "")
        )
    gen_t = workload.as_tuple(generated)
    worst = 0.0
    for k, g, h in zip(workload.wrt_indices, gen_t, hand_t):
        if np.shape(g) != np.shape(h):
            raise ValueError(
                f"gradient w.r.t. argument {k} has shape {np.shape(g)}, expected {np.shape(h)}"
            )
        # rtol as requested; atol scaled to the gradient's magnitude (the default
        # atol=1e-8 would be meaningless for small gradients, e.g. ~7e-4 in scalar_loop).
        atol = 1e-12 * max(float(np.max(np.abs(h), initial=0.0)), 1e-300)
        if not np.allclose(g, h, rtol=GEN_RTOL, atol=atol):
            rel = _max_rel_diff(np, g, h)
            raise ValueError(
                f"gradient w.r.t. argument {k} differs from the hand-written gradient "
                f"(np.allclose rtol={GEN_RTOL:g} failed; max |diff| / max |hand| = {rel:.3e})"
            )
        worst = max(worst, _max_rel_diff(np, g, h))
    return worst


def bench_tangent(np, tangent, workload, args, hand_value, cfg: Config, row: Row) -> None:
    """Fill the generated-gradient fields of ``row``; raise TangentFailure on any error."""
    f = workload.objective
    name = workload.name
    try:
        best = math.inf
        for _ in range(cfg.gen_reps):
            tangent.clear_cache()
            t0 = time.perf_counter()
            tangent.source(tangent.grad(f, wrt=workload.wrt))
            best = min(best, time.perf_counter() - t0)
        row.generation = best
    except Exception as exc:
        raise TangentFailure(
            name, f"generation: tangent_src.source(tangent_src.grad({f.__name__}, "
            f"wrt={workload.wrt!r}))", exc
        ) from exc
    try:
        df = tangent.grad(f, wrt=workload.wrt)
        generated = df(*args)
    except Exception as exc:
        raise TangentFailure(name, "the first call of the generated gradient", exc) from exc
    try:
        row.gen_max_rel = compare_generated(np, workload, generated, hand_value)
    except ValueError as exc:
        raise TangentFailure(name, "the correctness check against the hand-written gradient",
                             None, str(exc)) from exc
    try:
        row.generated = time_call(df, args, min_time=cfg.min_time, rounds=cfg.rounds)
    except Exception as exc:
        raise TangentFailure(name, "timing of the generated gradient", exc) from exc


def load_tangent():
    """Import tangent_src and check its public API; raise TangentFailure otherwise."""
    try:
        import tangent_src
    except Exception as exc:
        raise TangentFailure("(all)", "import tangent_src", exc) from exc
    missing = [a for a in ("grad", "source", "clear_cache") if not hasattr(tangent_src, a)]
    if missing or getattr(tangent_src, "__file__", None) is None:
        where = getattr(tangent_src, "__path__", None)
        raise TangentFailure(
            "(all)", "import tangent_src", None,
            f"the imported package ({list(where) if where else tangent_src!r}) lacks "
            f"{', '.join(missing) or '__init__.py'}; is tangent_src/__init__.py written yet?",
        )
    return tangent_src


def render_table(rows: list[Row]) -> str:
    header = (
        "| Workload | Objective | Hand-written grad | Generated grad | Generated / hand "
        "| Generated / objective | Hand / objective | Generation (one-off) |"
    )
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r.failure is not None and r.generated is None:
            gen = "FAILED"
        else:
            gen = fmt_time(r.generated)
        gen_time = fmt_time(r.generation) if r.generation is not None else (
            "FAILED" if r.failure is not None else "n/a")
        lines.append(
            f"| {r.name} | {fmt_time(r.objective)} | {fmt_time(r.hand)} | {gen} "
            f"| {fmt_ratio(r.generated, r.hand)} | {fmt_ratio(r.generated, r.objective)} "
            f"| {fmt_ratio(r.hand, r.objective)} | {gen_time} |"
        )
    return "\n".join(lines)


def render_notes(rows: list[Row], cfg: Config) -> list[str]:
    notes = [
        (
            f"Times are the minimum over {cfg.rounds} rounds of the mean per-call time of a "
            f"round lasting >= {cfg.min_time:g} s (GC disabled). Generation = min over "
            f"{cfg.gen_reps} of `clear_cache(); source(grad(f, wrt=...))`."
        ),
        "",
    ]
    for r in rows:
        gen_check = (
            f"generated vs hand max |diff|/max|hand| = {r.gen_max_rel:.1e}"
            if r.gen_max_rel is not None else "generated gradient not checked"
        )
        notes.append(
            f"- `{r.name}`: {r.description}. Hand gradient vs 4th-order central FD: "
            f"max rel. error {r.fd_max_rel:.1e} over {r.fd_probes} "
            f"probe{'s' if r.fd_probes != 1 else ''}; {gen_check}."
        )
    return notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repetitions (0.05 s x 2 rounds; 2 generation reps)")
    parser.add_argument("--markdown", metavar="PATH", type=Path,
                        help="also write the report (header, table, notes) to PATH")
    parser.add_argument("--traceback", action="store_true",
                        help="print full tracebacks of tangent_src failures")
    opts = parser.parse_args(argv)
    cfg = QUICK if opts.quick else FULL

    if str(REPO_ROOT) not in [str(Path(p).resolve()) for p in sys.path if p]:
        sys.path.insert(0, str(REPO_ROOT))

    import numpy as np

    from benchmarks.workloads import WORKLOADS, GradientCheckError, check_hand_gradient

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    # 1. Verify every hand-written gradient before timing anything.
    verified = []
    for w in WORKLOADS:
        args = w.make_args()
        try:
            checks = check_hand_gradient(w, args, rtol=FD_RTOL)
        except GradientCheckError as exc:
            print(f"error: {exc}\nAborting: the hand-written baseline is wrong, so no timings "
                  "were taken.", file=sys.stderr)
            return 1
        verified.append((w, args, checks))
        log(f"[{w.name}] hand gradient matches finite differences "
            f"(max rel. error {max(c.rel_error for c in checks):.1e}, {len(checks)} probe(s))")

    # 2. Import tangent_src (a failure here is reported, hand timings still run).
    failures: list[TangentFailure] = []
    import_failure: TangentFailure | None = None
    try:
        tangent = load_tangent()
        tangent_status = f"`{Path(tangent.__file__).resolve().parent}`"
    except TangentFailure as exc:
        import_failure = exc
        failures.append(exc)
        tangent = None
        tangent_status = "import FAILED"

    # 3. Time.
    rows: list[Row] = []
    for w, args, checks in verified:
        log(f"[{w.name}] timing objective and hand-written gradient ...")
        hand_value = w.hand_grad(*args)
        row = Row(
            name=w.name,
            description=w.description,
            fd_max_rel=max(c.rel_error for c in checks),
            fd_probes=len(checks),
            objective=time_call(w.objective, args, min_time=cfg.min_time, rounds=cfg.rounds),
            hand=time_call(w.hand_grad, args, min_time=cfg.min_time, rounds=cfg.rounds),
        )
        if tangent is None:
            row.failure = import_failure
        else:
            log(f"[{w.name}] generating and timing tangent_src gradient ...")
            try:
                bench_tangent(np, tangent, w, args, hand_value, cfg, row)
            except TangentFailure as exc:
                row.failure = exc
                failures.append(exc)
        rows.append(row)

    report = "\n".join(
        ["# tangent_src seed benchmark", "", *machine_lines(np, tangent_status), "",
         render_table(rows), "", *render_notes(rows, cfg)]
    )
    if failures:
        report += "\n\n**tangent_src failures:**\n\n" + "\n\n".join(
            "```\n" + f.summary() + "\n```" for f in failures
        )
    print(report)
    if opts.markdown is not None:
        opts.markdown.parent.mkdir(parents=True, exist_ok=True)
        opts.markdown.write_text(report + "\n", encoding="utf-8")
        log(f"wrote {opts.markdown}")

    if failures:
        for f in failures:
            print("\nerror: " + f.summary(), file=sys.stderr)
            if opts.traceback and f.exc is not None:
                traceback.print_exception(f.exc, file=sys.stderr)
        if not opts.traceback:
            print("\n(rerun with --traceback for full tracebacks)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
