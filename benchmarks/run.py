"""ADBench-style benchmark of tangent_src: every workload, size and tool in one process.

Run from the repository root::

    python benchmarks/run.py [--quick] [--more-sizes] [--only TEXT] [--no-seed] [--no-plot]
    python -m benchmarks.run ...

Workloads (``benchmarks/adbench/``, data from ``../shared/data/adbench``): GMM 1k
(d=10 K=5, d=20 K=10; ``--more-sizes`` adds d=2 K=5, d=2 K=10, d=10 K=25) in vectorized
and loop form, LSTM l2 c1024 (``--more-sizes``: l4), BA ba1 (``--more-sizes``: ba2)
vectorized and loop form (the loop form's Jacobian takes ~10 s; ``--quick`` skips
it), plus the seed workloads of ``benchmarks/workloads.py``.

Tools, each measured when available: tangent_src (Python back end; reverse mode, and
forward mode for BA's Jacobian), tangent_src's numba back end (``grad(f,
backend="numba")``; reported "not available yet" while it raises), a hand-written
derivative (verified against finite differences first), HIPS autograd, JAX
(``jit(grad)``) and PyTorch. A peer that is not installed is reported as such. Every
derivative is checked against the reference (the hand-written one, else
tangent_src's) by ADBench's criterion |x - y| / max(1, |x| + |y|) <= 1e-8 before it
is timed.

Timing: three trials per function; a trial follows ADBench (the function is called
repeatedly, each call timed alone, until the calls add up to at least 0.5 s and at least
3 calls were made; ``--quick``: 0.05 s, 1 call) and keeps the fastest call. The median of
the three trials is reported, with their spread ((max - min) / median). Every tool runs
on one thread (``--threads``, default 1: OMP/MKL/OPENBLAS/NUMBA_NUM_THREADS, XLA's
flags, ``torch.set_num_threads``).
The first call (tangent_src's code generation, JAX's compilation) is not timed. The
ratios divide by the NumPy objective's time (ADBench's metric, derivative ÷
objective) or by another tool's derivative time, measured in the same process.

Writes ``benchmarks/results/adbench.md`` (the report), ``adbench.json`` (the numbers)
and ``adbench.png`` (derivative ÷ objective versus problem size, one line per tool;
skipped with a message when matplotlib is missing).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import math
import os
import sys
import time
import traceback
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in [str(Path(p).resolve()) for p in sys.path if p]:
    sys.path.insert(0, str(REPO_ROOT))

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS")


def _limit_threads(argv: list[str]) -> None:
    """``--threads N`` (default 1, for every tool alike): set the thread-count variables
    before NumPy is imported (they are read once, when the BLAS library loads)."""
    given = ["1"]
    for k, arg in enumerate(argv):
        value = arg.split("=", 1)[1] if arg.startswith("--threads=") else (
            argv[k + 1] if arg == "--threads" and k + 1 < len(argv) else None)
        if value is not None:
            given.append(value)
    for value in given[-1:]:
        if value.isdigit():
            for name in THREAD_VARIABLES:
                os.environ[name] = value
            flags = os.environ.get("XLA_FLAGS", "")
            if value == "1" and "multi_thread_eigen" not in flags:
                os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false "
                                           "intra_op_parallelism_threads=1").strip()
            if value == "1" and hasattr(os, "sched_setaffinity"):
                # JAX 0.10's CPU client ignores those flags and runs a gradient on three
                # threads (measured: per-thread CPU ticks 52/52/41 of one process); one
                # CPU for the whole process holds every tool to one core, as the table says
                os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


if __name__ == "__main__":
    _limit_threads(sys.argv[1:])

import numpy as np  # noqa: E402

from benchmarks.adbench import peers as peers_mod  # noqa: E402
from benchmarks.adbench.io import data_dir  # noqa: E402
from benchmarks.adbench.suite import (  # noqa: E402
    Case,
    adbench_error,
    all_cases,
    fd_check,
    njit_objective,
)
from benchmarks.seed import fmt_time, machine_lines  # noqa: E402

TOLERANCE = 1e-8  # ADBench's
FD_TOLERANCE = 1e-6
TOOLS = ("tangent_src", "tangent_src_fwd", "numba", "hand", "autograd", "jax", "torch")
TOOL_LABELS = {
    "tangent_src": "tangent_src",
    "tangent_src_fwd": "tangent_src (fwd)",
    "numba": "tangent_src numba",
    "hand": "hand-written",
    "autograd": "autograd",
    "jax": "JAX",
    "torch": "PyTorch",
}


# the goals for derivative ÷ objective, drawn on the plot
GOALS = {
    "GMM vectorized": (3.0, "goal: tangent_src <= 3x"),
    "LSTM": (3.0, "goal: tangent_src <= 3x"),
    "GMM loop form": (5.0, "goal: numba <= 5x"),
}


@dataclasses.dataclass(frozen=True)
class Config:
    min_time: float
    min_runs: int
    quick: bool


FULL = Config(min_time=0.5, min_runs=3, quick=False)
QUICK = Config(min_time=0.05, min_runs=1, quick=True)


@dataclasses.dataclass
class Cell:
    """One tool on one case: a time, or why there is none."""

    time: float | None = None
    status: str = "n/a"  # "ok", or the text shown instead of a time
    error: float | None = None  # ADBench criterion against the reference
    runs: int = 0
    spread: float = 0.0  # (max - min) / median of the trials
    first_call: float | None = None  # includes generation / compilation
    note: str = ""


@dataclasses.dataclass
class Result:
    case: Case
    objective: float | None = None
    objective_runs: int = 0
    objective_spread: float = 0.0
    objective_numba: float | None = None  # njit-compiled objective, when numba ran
    objective_numba_note: str = ""
    cells: dict = dataclasses.field(default_factory=dict)
    notes: list = dataclasses.field(default_factory=list)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


TRIALS = 3


def measure(fn, args, min_time: float, min_runs: int = 1) -> tuple[float, int, float]:
    """(median over TRIALS trials, calls made, spread = (max - min) / median), a trial
    being :func:`trial`."""
    times, runs = [], 0
    for _ in range(TRIALS):
        best, n = trial(fn, args, min_time, min_runs)
        times.append(best)
        runs += n
    times.sort()
    median = times[len(times) // 2]
    return median, runs, (times[-1] - times[0]) / median if median > 0 else 0.0


def trial(fn, args, min_time: float, min_runs: int = 1) -> tuple[float, int]:
    """ADBench's method: call ``fn(*args)`` repeatedly, timing each call, until the calls
    add up to ``min_time`` (and at least ``min_runs`` calls were made); return (fastest
    call, number of calls). GC off meanwhile."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    best = math.inf
    total = 0.0
    runs = 0
    try:
        while total < min_time or runs < min_runs:
            t0 = time.perf_counter()
            fn(*args)
            dt = time.perf_counter() - t0
            best = min(best, dt)
            total += dt
            runs += 1
    finally:
        if gc_was_enabled:
            gc.enable()
    return best, runs


def _short(exc: BaseException, limit: int = 300) -> str:
    msg = " ".join(str(exc).split())
    if len(msg) > limit:
        msg = msg[:limit] + " [...]"
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


class Runner:
    def __init__(self, cfg: Config, tangent_src, opts):
        self.cfg = cfg
        self.ts = tangent_src
        self.opts = opts
        self.peer_status = {p: peers_mod.peer_status(p) for p in peers_mod.PEERS}
        self.numba_ok, self.numba_reason = self._probe_numba()
        self.failures: list[str] = []

    # -- tangent_src's numba back end -------------------------------------------------
    def _probe_numba(self) -> tuple[bool, str]:
        def probe(x):
            return x * x

        try:
            value = self.ts.grad(probe, backend="numba")(3.0)
        except (NotImplementedError, self.ts.errors.TangentError) as exc:
            return False, f"not available yet ({_short(exc, 120)})"
        except Exception as exc:  # noqa: BLE001 - reported in the table
            return False, f"probe failed ({_short(exc, 120)})"
        if abs(float(value) - 6.0) > 1e-12:
            return False, f"probe gave {value!r} for d(x*x)/dx at 3, expected 6"
        return True, "available"

    # -- one measurement ----------------------------------------------------------------
    def _run_tool(self, result: Result, tool: str, fn, args, to_flat, reference):
        """Call once (untimed: generation, compilation), check against the reference,
        then time; store the Cell and return the flat derivative (None on failure)."""
        key = result.case.key
        cell = result.cells[tool] = Cell()
        try:
            t0 = time.perf_counter()
            value = fn(*args)
            cell.first_call = time.perf_counter() - t0
            flat = to_flat(value)
        except Exception as exc:  # noqa: BLE001 - reported in the table and notes
            cell.status = f"FAILED ({type(exc).__name__})"
            cell.note = _short(exc)
            log(f"[{key}] {TOOL_LABELS[tool]}: FAILED: {cell.note}")
            if self.opts.traceback:
                traceback.print_exc()
            return None
        if reference is not None:
            cell.error = adbench_error(flat, reference)
            if not cell.error <= TOLERANCE:
                cell.status = "WRONG"
                cell.note = (f"differs from the reference: ADBench error {cell.error:.2e} > "
                             f"{TOLERANCE:g}")
                log(f"[{key}] {TOOL_LABELS[tool]}: {cell.note}")
                return None
        cell.time, cell.runs, cell.spread = measure(fn, args, self.cfg.min_time,
                                                    self.cfg.min_runs)
        cell.status = "ok"
        ratio = (f" = {cell.time / result.objective:.2f}x objective"
                 if result.objective else "")
        check = f", error {cell.error:.1e}" if cell.error is not None else ""
        log(f"[{key}] {TOOL_LABELS[tool]}: {fmt_time(cell.time)}{ratio} "
            f"(spread {cell.spread:.0%}, {cell.runs} run{'s' if cell.runs != 1 else ''}, "
            "first call "
            f"{fmt_time(cell.first_call)}{check})")
        return flat

    def _run_factory(self, result: Result, tool: str, factory, args, reference):
        """``factory(tangent_src)`` builds the derivative; a failure there is reported too."""
        try:
            derivative = factory(self.ts)
        except Exception as exc:  # noqa: BLE001 - reported
            result.cells[tool] = Cell(status=f"FAILED ({type(exc).__name__})",
                                      note=_short(exc))
            log(f"[{result.case.key}] {TOOL_LABELS[tool]}: FAILED: {_short(exc)}")
            return None
        return self._run_tool(result, tool, derivative, args, Case.flat, reference)

    def _numba_objective(self, result: Result, args) -> None:
        """Time the objective compiled by numba.njit (the numba derivative's denominator)."""
        key = result.case.key
        try:
            compiled = njit_objective(result.case.numba_objective or result.case.objective)
            t0 = time.perf_counter()
            value = compiled(*args)
            first = time.perf_counter() - t0
            error = adbench_error(Case.flat(value), Case.flat(result.case.objective(*args)))
            if not error <= TOLERANCE:
                raise AssertionError(f"njit objective differs: ADBench error {error:.2e}")
            result.objective_numba, runs, _ = measure(compiled, args, self.cfg.min_time,
                                                      self.cfg.min_runs)
        except Exception as exc:  # noqa: BLE001 - reported
            result.objective_numba_note = f"numba.njit(objective) failed: {_short(exc)}"
            log(f"[{key}] objective under numba.njit: FAILED: {_short(exc)}")
            return
        log(f"[{key}] objective under numba.njit: {fmt_time(result.objective_numba)} "
            f"({runs} runs, first call {fmt_time(first)}); numba derivative = "
            f"{result.cells['numba'].time / result.objective_numba:.2f}x it")

    # -- one case -----------------------------------------------------------------------
    def run_case(self, case: Case) -> Result:
        result = Result(case)
        key = case.key
        args = case.load()
        case.objective(*args)
        result.objective, result.objective_runs, result.objective_spread = measure(
            case.objective, args, self.cfg.min_time, self.cfg.min_runs)
        log(f"[{key}] objective: {fmt_time(result.objective)} ({result.objective_runs} runs)")

        reference = None
        # hand-written (verified against finite differences first)
        if case.hand is not None:
            try:
                value = case.hand(*args)
                if case.fd_check:
                    grads = value if isinstance(value, tuple) else (value,)
                    worst = fd_check(case.objective, args, case.wrt, grads)
                    result.notes.append(
                        f"hand-written derivative vs 4th-order central differences along 3 "
                        f"random directions: max rel. error {worst:.1e}")
                    log(f"[{key}] hand-written derivative vs finite differences: max rel. "
                        f"error {worst:.1e}")
                    if not worst <= FD_TOLERANCE:
                        raise AssertionError(
                            f"hand-written derivative disagrees with finite differences "
                            f"(rel. error {worst:.2e} > {FD_TOLERANCE:g})")
                reference = Case.flat(value)
            except Exception as exc:  # noqa: BLE001 - reported
                result.cells["hand"] = Cell(status=f"FAILED ({type(exc).__name__})",
                                            note=_short(exc))
                self.failures.append(f"{key}: hand-written: {_short(exc)}")
                log(f"[{key}] hand-written: FAILED: {_short(exc)}")
        else:
            result.cells["hand"] = Cell(status=case.hand_note)

        # tangent_src, Python back end (reverse mode; forward mode where it applies)
        flat = self._run_factory(result, "tangent_src", case.tangent, args, reference)
        if reference is None:
            reference = flat
        if case.tangent_fwd is not None:
            self._run_factory(result, "tangent_src_fwd", case.tangent_fwd, args, reference)
        for tool in ("tangent_src", "tangent_src_fwd"):
            c = result.cells.get(tool)
            if c is not None and c.status != "ok":
                self.failures.append(f"{key}: {TOOL_LABELS[tool]}: {c.status} {c.note}")

        # hand-written timing (after tangent_src so the reference is known either way)
        if case.hand is not None and "hand" not in result.cells:
            self._run_tool(result, "hand", case.hand, args, Case.flat, reference)

        # tangent_src, numba back end
        if case.numba is None:
            result.cells["numba"] = Cell(status="n/a")
        elif not self.numba_ok:
            result.cells["numba"] = Cell(status="not available yet")
        else:
            self._run_factory(result, "numba", case.numba, args, reference)
            if result.cells["numba"].status == "ok":
                self._numba_objective(result, args)

        # peers
        for peer in peers_mod.PEERS:
            available, why = self.peer_status[peer]
            if not available:
                result.cells[peer] = Cell(status=why if why == "not installed"
                                          else "import failed", note=why)
                continue
            if case.peer_kind is None:
                result.cells[peer] = Cell(status="n/a", note=case.peer_note)
                continue
            try:
                prepared = peers_mod.PREPARE[peer](case.peer_kind, args)
            except peers_mod.PeerUnsupported as exc:
                result.cells[peer] = Cell(status="n/a", note=str(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - reported
                result.cells[peer] = Cell(status=f"FAILED ({type(exc).__name__})",
                                          note=_short(exc))
                log(f"[{key}] {TOOL_LABELS[peer]}: FAILED: {_short(exc)}")
                continue
            self._run_tool(result, peer, prepared.fn, prepared.args, prepared.to_numpy,
                           reference)
        return result


# --------------------------------------------------------------------------- report


def _cell_text(cell: Cell | None, objective: float | None) -> str:
    if cell is None:
        return "—"
    if cell.status != "ok":
        return "—" if cell.status == "n/a" else cell.status
    ratio = f" ({cell.time / objective:.2f}×)" if objective else ""
    return f"{fmt_time(cell.time)} ±{cell.spread:.0%}{ratio}"


def _ratio(cell_a: Cell | None, cell_b: Cell | None) -> str:
    if cell_a is None or cell_a.status != "ok":
        return "—"
    if cell_b is None or cell_b.status != "ok":
        if cell_b is None or cell_b.status == "n/a":
            return "—"
        return cell_b.status
    return f"{cell_a.time / cell_b.time:.2f}×"


def render_tables(results: list[Result], tools: tuple[str, ...]) -> list[str]:
    numba_obj = any(r.objective_numba is not None for r in results)
    head = (["Workload", "Size", "Objective"] + (["Objective (numba.njit)"] if numba_obj else [])
            + [TOOL_LABELS[t] for t in tools])
    lines = [
        "Time of one derivative (derivative ÷ objective, ADBench's metric, in brackets; the "
        "numba column divides by the njit-compiled objective when there is one, else by "
        "the NumPy objective):",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 2)) + "|",
    ]
    for r in results:
        row = [r.case.key, r.case.size_label, fmt_time(r.objective)]
        if numba_obj:
            row.append(fmt_time(r.objective_numba) if r.objective_numba else "—")
        row += [_cell_text(r.cells.get(t), (r.objective_numba or r.objective)
                           if t == "numba" else r.objective) for t in tools]
        lines.append("| " + " | ".join(row) + " |")
    peers_shown = [t for t in ("autograd", "jax", "torch") if t in tools]
    head2 = (["Workload", "tangent_src ÷ objective", "÷ hand-written"]
             + [f"÷ {TOOL_LABELS[p]}" for p in peers_shown]
             + ["numba ÷ njit objective", "numba ÷ JAX"])
    lines += [
        "",
        "tangent_src's derivative (Python back end, reverse mode) relative to the others, "
        "and the numba back end's relative to the njit-compiled objective and to JAX "
        "(below 1 means tangent_src is faster):",
        "",
        "| " + " | ".join(head2) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(head2) - 1)) + "|",
    ]
    for r in results:
        ts = r.cells.get("tangent_src")
        obj = (f"{ts.time / r.objective:.2f}×" if ts is not None and ts.status == "ok"
               and r.objective else "—")
        row = [r.case.key, obj, _ratio(ts, r.cells.get("hand"))]
        row += [_ratio(ts, r.cells.get(p)) for p in peers_shown]
        nb = r.cells.get("numba")
        row += [f"{nb.time / r.objective_numba:.2f}×" if nb is not None and nb.status == "ok"
                and r.objective_numba else "—", _ratio(nb, r.cells.get("jax"))]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def render_notes(results: list[Result], runner: Runner) -> list[str]:
    notes = [
        f"Times: median of {TRIALS} trials (± their spread, (max - min) / median); a trial "
        f"is the fastest of calls timed one by one until they add up to "
        f">= {runner.cfg.min_time:g} s, at least {runner.cfg.min_runs} call(s) (ADBench's "
        "method; GC disabled; first call excluded). One thread for every tool. "
        "Ratios divide by the NumPy objective's time or by the other tool's derivative "
        "time, measured in the same process. Every derivative was checked against the "
        "reference (the hand-written derivative, else tangent_src's) by ADBench's "
        f"criterion |x-y|/max(1,|x|+|y|) <= {TOLERANCE:g} before timing.",
        "",
        "Peers: " + "; ".join(f"{peers_mod.PEER_LABELS[p]} {runner.peer_status[p][1]}"
                              for p in peers_mod.PEERS)
        + f". tangent_src numba back end: {runner.numba_reason}.",
        "",
    ]
    for r in results:
        parts = list(r.notes)
        if r.objective_numba_note:
            parts.append(r.objective_numba_note)
        for tool, cell in r.cells.items():
            if cell.status == "ok":
                if cell.error is not None and tool != "hand":
                    parts.append(f"{TOOL_LABELS[tool]}: error vs reference {cell.error:.1e}, "
                                 f"first call {fmt_time(cell.first_call)}")
                elif tool == "hand":
                    parts.append(f"{TOOL_LABELS[tool]}: first call {fmt_time(cell.first_call)}")
                else:
                    parts.append(f"{TOOL_LABELS[tool]}: first call "
                                 f"{fmt_time(cell.first_call)} (this is the reference)")
            elif cell.note and cell.status not in ("not installed",):
                parts.append(f"{TOOL_LABELS[tool]}: {cell.status}: {cell.note}")
        notes.append(f"- `{r.case.key}`: " + "; ".join(parts) + ".")
    return notes


def write_plot(results: list[Result], tools: tuple[str, ...], path: Path) -> str:
    """Derivative ÷ objective versus problem size, one panel per family, one line per tool."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib): no plot written"
    families = []
    for r in results:
        if r.case.family not in families:
            families.append(r.case.family)
    ncols = min(3, len(families))
    nrows = math.ceil(len(families) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 4.0 * nrows), squeeze=False)
    markers = dict(zip(TOOLS, "osD^vx*"))
    colors = dict(zip(TOOLS, ("tab:blue", "tab:cyan", "tab:purple", "tab:green", "tab:red",
                              "tab:orange", "tab:brown")))
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    for ax, family in zip(axes.flat, families):
        rows = sorted((r for r in results if r.case.family == family), key=lambda r: r.case.size)
        for tool in tools:
            pts = []
            for r in rows:
                cell = r.cells.get(tool)
                denominator = (r.objective_numba or r.objective) if tool == "numba" \
                    else r.objective
                if cell is not None and cell.status == "ok" and denominator:
                    pts.append((r.case.size, cell.time / denominator))
            if not pts:
                continue
            xs, ys = zip(*pts)
            label = TOOL_LABELS[tool] + (" (÷ njit objective)" if tool == "numba" else "")
            ax.plot(xs, ys, marker=markers[tool], color=colors[tool], label=label)
        ax.axhline(1.0, color="gray", lw=0.5)
        if family in GOALS:
            ax.axhline(GOALS[family][0], color="black", lw=0.8, ls="--",
                       label=GOALS[family][1])
        ax.set_xscale("log")
        ax.set_yscale("log")
        sizes = sorted({r.case.size for r in rows})
        labels = {r.case.size: r.case.size_label for r in rows}
        ax.set_xticks(sizes)
        ax.set_xticklabels([f"{labels[s]}\n({s})" for s in sizes], fontsize=7, rotation=30,
                           ha="right")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_title(family)
        ax.set_xlabel("size (differentiated inputs; BA: observations)", fontsize=8)
        ax.set_ylabel("derivative time ÷ objective time", fontsize=8)
        ax.grid(True, which="major", lw=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(families):]:
        ax.set_visible(False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"plot written to {path}"


def to_json(results: list[Result], runner: Runner) -> dict:
    out = {"min_time": runner.cfg.min_time, "numba": runner.numba_reason,
           "peers": {p: list(s) for p, s in runner.peer_status.items()}, "cases": []}
    for r in results:
        out["cases"].append({
            "key": r.case.key, "family": r.case.family, "size_label": r.case.size_label,
            "size": r.case.size, "objective": r.objective,
            "objective_numba": r.objective_numba,
            "tools": {t: dataclasses.asdict(c) for t, c in r.cells.items()},
        })
    return out


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="ADBench-style benchmark of tangent_src against hand-written "
                    "derivatives and peers (autograd, JAX, PyTorch).")
    parser.add_argument("--quick", action="store_true",
                        help="0.05 s per measurement instead of 0.5 s; skips BA's loop form")
    parser.add_argument("--more-sizes", action="store_true",
                        help="also GMM 1k d2 K5, d2 K10, d10 K25, LSTM l4 c1024, BA ba2")
    parser.add_argument("--only", action="append", metavar="TEXT",
                        help="only cases whose name contains TEXT (repeatable), "
                             "e.g. --only gmm-vec --only lstm")
    parser.add_argument("--no-seed", action="store_true", help="skip the seed workloads")
    parser.add_argument("--no-plot", action="store_true", help="do not write the PNG")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results",
                        help="output folder (default benchmarks/results)")
    parser.add_argument("--traceback", action="store_true",
                        help="print tracebacks of failures")
    parser.add_argument("--threads", type=int, metavar="N", default=1,
                        help="limit BLAS/OpenMP/numba/XLA/PyTorch to N threads (set before "
                             "NumPy loads, so only when run as a script or with -m)")
    opts = parser.parse_args(argv)
    cfg = QUICK if opts.quick else FULL
    if opts.threads is not None:
        if os.environ.get("OPENBLAS_NUM_THREADS") != str(opts.threads):
            log(f"warning: --threads {opts.threads} has no effect on NumPy here (it was "
                "imported before the option was read); set OPENBLAS_NUM_THREADS instead")
        if peers_mod.peer_status("torch")[0]:
            import torch

            torch.set_num_threads(opts.threads)
            torch.set_num_interop_threads(opts.threads)

    if not (data_dir() / "OBJECTIVES.md").exists():
        print(f"error: ADBench data not found at {data_dir()} (set ADBENCH_DATA)",
              file=sys.stderr)
        return 2
    import tangent_src

    cases = all_cases(more_sizes=opts.more_sizes, ba_loop=not opts.quick,
                      seeds=not opts.no_seed)
    if opts.only:
        cases = [c for c in cases if any(t in c.key for t in opts.only)]
    runner = Runner(cfg, tangent_src, opts)
    log(f"{len(cases)} case(s); peers: " + ", ".join(
        f"{peers_mod.PEER_LABELS[p]} {s[1]}" for p, s in runner.peer_status.items())
        + f"; numba back end: {runner.numba_reason}")
    results = []
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    t_start = time.perf_counter()
    for case in cases:
        results.append(runner.run_case(case))
    elapsed = time.perf_counter() - t_start
    load_end = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    tools = tuple(t for t in TOOLS
                  if t != "tangent_src_fwd" or any(t in r.cells for r in results))
    report = ["# tangent_src ADBench benchmark", "",
              *machine_lines(np, f"`{Path(tangent_src.__file__).resolve().parent}`"),
              f"- ADBench data: `{data_dir()}`; wall time {elapsed:.0f} s; load average "
              f"(1 min) {load_start:.2f} at the start, {load_end:.2f} at the end", "",
              *render_tables(results, tools), "", *render_notes(results, runner)]
    opts.out.mkdir(parents=True, exist_ok=True)
    if not opts.no_plot:
        message = write_plot(results, tools, opts.out / "adbench.png")
        report += ["", f"Plot: {message}."]
        log(message)
    text = "\n".join(report) + "\n"
    print(text)
    (opts.out / "adbench.md").write_text(text, encoding="utf-8")
    (opts.out / "adbench.json").write_text(json.dumps(to_json(results, runner), indent=1),
                                           encoding="utf-8")
    log(f"wrote {opts.out / 'adbench.md'} and {opts.out / 'adbench.json'}")
    if runner.failures:
        print("\ntangent_src or hand-written derivative failures:\n  "
              + "\n  ".join(runner.failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
