"""Long differential fuzzing run: many generated programs, derivatives vs finite differences.

    python scripts/fuzz.py --count 10000 [--start S] [--jobs 2] [--numba]
    python scripts/fuzz.py --replay SEED

Each program comes from tests/fuzzgen.py (a pure function of its seed) and is checked in
reverse mode, forward mode and second order (hvp); see fuzzgen for the categories. Every
failing program (WRONG, CRASH, MUTATION) is written with its seed and what differed to
--out (default /tmp/fuzz_failures), and can be replayed from the seed alone.
"""
from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# scripts/ holds coverage.py, which would shadow the coverage package that numba imports
sys.path[:] = [ROOT, os.path.join(ROOT, "tests")] + [
    p for p in sys.path if os.path.abspath(p or ".") != HERE]

import fuzzgen  # noqa: E402

FAILING = (fuzzgen.WRONG, fuzzgen.CRASH, fuzzgen.MUTATION)
_done = 0


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def run_one(task: tuple) -> dict:
    """Generate and check one program in a worker; a slow one is cut off by SIGALRM."""
    global _done
    seed, modes, backend, timeout, avoid = task
    import tangent_src
    _done += 1
    if _done % 50 == 0:
        tangent_src.clear_cache()        # generated modules are keyed by function: let go
    start = time.perf_counter()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    program = None
    try:
        program = fuzzgen.generate(seed, avoid)
        outcome = fuzzgen.check(program, modes, backend)
        result = {"category": outcome.category, "checks": outcome.checks}
    except _Timeout:
        result = {"category": "TIMEOUT", "checks": {"all": ("TIMEOUT", f"> {timeout} s")}}
    except Exception as exc:  # noqa: BLE001 - a fault of the harness itself
        result = {"category": "harness-error",
                  "checks": {"harness": ("harness-error", fuzzgen._crash_detail(exc))}}
    finally:
        signal.alarm(0)
    result.update(avoid=f" --avoid {','.join(avoid)}" if avoid else "", seed=seed,
                  elapsed=time.perf_counter() - start,
                  features=sorted(program.features) if program else [],
                  source=program.source if program else "")
    return result


def write_failure(out: str, result: dict) -> None:
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"seed_{result['seed']}_{result['category']}.txt")
    lines = [f"# seed {result['seed']}: {result['category']}",
             f"# replay: python scripts/fuzz.py --replay {result['seed']}{result['avoid']}",
             f"# features: {', '.join(result['features'])}"]
    for name, (cat, detail) in result["checks"].items():
        lines.append(f"# {name}: {cat}" + (f" -- {detail}" if detail else ""))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n\n" + result["source"])


def summarize(results: list, elapsed: float, jobs: int) -> str:
    cats = collections.Counter(r["category"] for r in results)
    lines = [f"{len(results)} programs in {elapsed:.1f} s on {jobs} job(s): "
             f"{len(results) / elapsed:.2f} programs/s", "", "by category:"]
    for cat in fuzzgen.SEVERITY + ["TIMEOUT", "harness-error"]:
        if cats.get(cat):
            lines.append(f"  {cat:14s} {cats[cat]}")
    per_check: collections.Counter = collections.Counter()
    refusals: collections.Counter = collections.Counter()
    crashes: collections.Counter = collections.Counter()
    for r in results:
        for name, (cat, detail) in r["checks"].items():
            per_check[(name.split("/")[0], cat)] += 1
            if cat == fuzzgen.REFUSED:
                refusals[detail] += 1
            if cat == fuzzgen.CRASH:
                crashes[detail.split(" at ")[0][:90]] += 1
    lines += ["", "by check (non-ok):"]
    for (name, cat), count in sorted(per_check.items()):
        if cat != fuzzgen.OK:
            lines.append(f"  {name:16s} {cat:12s} {count}")
    lines += ["", "by feature (programs: total / failing = WRONG+CRASH+MUTATION / WRONG):"]
    features: dict = collections.defaultdict(lambda: [0, 0, 0])
    for r in results:
        for feat in r["features"]:
            features[feat][0] += 1
            features[feat][1] += r["category"] in FAILING
            features[feat][2] += r["category"] == fuzzgen.WRONG
    for feat, (total, failing, wrong) in sorted(features.items(),
                                                key=lambda kv: -kv[1][1] / kv[1][0]):
        lines.append(f"  {feat:26s} {total:6d} / {failing:5d} ({failing / total:5.1%}) / "
                     f"{wrong}")
    lines += ["", "refusals (top 15):"]
    lines += [f"  {count:6d}  {key}" for key, count in refusals.most_common(15)]
    lines += ["", "crashes (top 15):"]
    lines += [f"  {count:6d}  {key}" for key, count in crashes.most_common(15)]
    return "\n".join(lines)


def replay(seed: int, modes, backend: str, avoid=()) -> int:
    program = fuzzgen.generate(seed, avoid)
    print(program.source)
    print("# inputs:", program.make_args())
    print("# features:", ", ".join(sorted(program.features)))
    outcome = fuzzgen.check(program, modes, backend)
    print(outcome.report())
    return 0 if outcome.category not in FAILING else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--numba", action="store_true", help="also the numba back end (slow)")
    parser.add_argument("--modes", default="rev,fwd,hvp")
    parser.add_argument("--timeout", type=int, default=60, help="seconds per program")
    parser.add_argument("--out", default="/tmp/fuzz_failures")
    parser.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                        help="stop after this long and report what was checked")
    parser.add_argument("--avoid", default="",
                        help="comma-separated constructs to leave out (known bugs): "
                             + ", ".join(fuzzgen.AVOIDABLE) + ", or 'known' for all")
    parser.add_argument("--replay", type=int, default=None, metavar="SEED")
    parser.add_argument("--minimize", type=int, default=None, metavar="SEED",
                        help="shrink a failing program by removing lines while it fails")
    args = parser.parse_args(argv)
    modes = tuple(args.modes.split(","))
    backend = "numba" if args.numba else "python"
    avoid = fuzzgen.AVOIDABLE if args.avoid == "known" else \
        tuple(a for a in args.avoid.split(",") if a)
    if args.replay is not None:
        return replay(args.replay, modes, backend, avoid)
    if args.minimize is not None:
        small = fuzzgen.minimize(fuzzgen.generate(args.minimize, avoid), modes,
                                 log=lambda s: print(s, file=sys.stderr))
        print(small.source)
        print(fuzzgen.check(small, modes).report())
        return 0
    tasks = [(seed, modes, backend, args.timeout, avoid)
             for seed in range(args.start, args.start + args.count)]
    start = time.perf_counter()
    results = []
    with multiprocessing.Pool(args.jobs, maxtasksperchild=400) as pool:
        for k, result in enumerate(pool.imap_unordered(run_one, tasks, chunksize=4)):
            if args.time_limit and time.perf_counter() - start > args.time_limit:
                pool.terminate()
                break
            results.append(result)
            if result["category"] in FAILING + ("TIMEOUT", "harness-error"):
                write_failure(args.out, result)
            if (k + 1) % 500 == 0:
                rate = (k + 1) / (time.perf_counter() - start)
                print(f"  ... {k + 1} programs, {rate:.2f}/s", flush=True)
    print(summarize(results, time.perf_counter() - start, args.jobs))
    failing = sum(r["category"] in FAILING for r in results)
    print(f"\n{failing} failing programs written to {args.out}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
