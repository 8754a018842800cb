"""Golden-file tools: render the expected derivative source of each case in golden/cases.py.

    python tests/golden_tools.py --update            # rewrite every golden file
    python tests/golden_tools.py --update poly relu  # rewrite only these cases

``golden/<name>.py`` holds ``render(name)``: the source tangent_src generates for the case's
derivative (the gradient for ``CASES`` and ``SPECIALIZED``, the forward-mode derivative for
``FORWARD``, the gradient of the gradient for ``SECOND``). See golden/README.md.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOLDEN_DIR = REPO / "golden"
CASES_FILE = GOLDEN_DIR / "cases.py"
NOT_GOLDEN = {"cases"}  # Python files in golden/ that are not golden files
UPDATE_COMMAND = "python tests/golden_tools.py --update"

if str(REPO) not in sys.path:  # so that a checkout works without installing tangent_src
    sys.path.insert(0, str(REPO))


def load_cases_module():
    """Import golden/cases.py (once) as the module 'golden_cases'."""
    name = "golden_cases"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, CASES_FILE)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return module


# The tables of golden/cases.py, each with how its derivative is rendered:
#   CASES        (name, func, wrt)             grad(func, wrt), general source
#   SPECIALIZED  (name, func, wrt, make_args)  grad(func, wrt), specialized to make_args()
#   FORWARD      (name, func, wrt, make_args)  autodiff(func, mode="forward", wrt);
#                                              make_args None: the general source
#   SECOND       (name, func, wrt, make_args)  grad(grad(func, wrt), wrt), specialized
KIND_OF_TABLE = {"CASES": "grad", "SPECIALIZED": "grad", "FORWARD": "forward",
                 "SECOND": "second"}


def _table_rows() -> list[tuple[str, str, object, object, object]]:
    """(name, kind, func, wrt, make_args or None) for every row of every table."""
    module = load_cases_module()
    rows = []
    for table, kind in KIND_OF_TABLE.items():
        for row in getattr(module, table, []):
            name, func, wrt, *rest = row
            rows.append((name, kind, func, wrt, rest[0] if rest else None))
    return rows


def _row(name: str):
    for row in _table_rows():
        if row[0] == name:
            return row
    raise KeyError(f"no golden case named {name!r}; cases: {', '.join(case_names())}")


def cases() -> list[tuple[str, object, object]]:
    """(name, func, wrt) for every case: general, shape-specialized, forward, second order."""
    return [(name, func, wrt) for name, _, func, wrt, _ in _table_rows()]


def kind(name: str) -> str:
    """How the case's derivative is taken: "grad", "forward" or "second"."""
    return _row(name)[1]


def cases_of_kind(wanted: str) -> list[tuple[str, object, object]]:
    return [(name, func, wrt) for name, k, func, wrt, _ in _table_rows() if k == wanted]


def example_args(name: str):
    """The example arguments a case's source is specialized to (None for a general case)."""
    make_args = _row(name)[4]
    return None if make_args is None else make_args()


def check_args(name: str):
    """Arguments at which tests/test_golden.py runs the case's golden code and checks it
    numerically: CHECK_ARGS[name]() from cases.py, else its example arguments, else None.

    A general case needs CHECK_ARGS; a specialized case may have them too (of the example
    arguments' shapes) when its example arguments sit on a kink or saturate."""
    make_args = getattr(load_cases_module(), "CHECK_ARGS", {}).get(name)
    return example_args(name) if make_args is None else make_args()


def derivative(name: str):
    """The tangent_src transform whose source is the case's golden text."""
    import tangent_src

    _, case_kind, func, wrt, _ = _row(name)
    if case_kind == "forward":
        return tangent_src.autodiff(func, mode="forward", wrt=wrt)
    if case_kind == "second":
        return tangent_src.grad(tangent_src.grad(func, wrt=wrt), wrt=wrt)
    return tangent_src.grad(func, wrt=wrt)


def case_names() -> list[str]:
    return [name for name, _, _ in cases()]


def golden_path(name: str) -> Path:
    return GOLDEN_DIR / f"{name}.py"


def stale_golden_files() -> list[Path]:
    """Python files in golden/ that belong to no case."""
    known = set(case_names()) | NOT_GOLDEN
    return sorted(p for p in GOLDEN_DIR.glob("*.py") if p.stem not in known)


def render(name: str) -> str:
    """The expected content of golden/<name>.py, ending in exactly one newline."""
    import tangent_src

    df = derivative(name)
    args = example_args(name)
    text = tangent_src.source(df) if args is None else tangent_src.source(df, *args)
    return text.rstrip("\n") + "\n"


def update_all(names: list[str] | None = None) -> int:
    """Rewrite the golden files (all, or only `names`); print which changed.

    Every requested case is rendered before anything is written, so a case the compiler
    fails on leaves all golden files as they were. Returns an exit status.
    """
    all_names = case_names()
    duplicates = sorted({n for n in all_names if all_names.count(n) > 1})
    if duplicates:
        print(f"error: duplicate case names in {CASES_FILE}: {', '.join(duplicates)}")
        return 1
    selected = names or all_names
    unknown = [n for n in selected if n not in all_names]
    if unknown:
        print(f"error: no such case: {', '.join(unknown)}")
        return 1

    rendered: dict[str, str] = {}
    failures = []
    for name in selected:
        try:
            rendered[name] = render(name)
        except Exception as exc:  # noqa: BLE001 - report every failing case, then stop
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
    if failures:
        print("error: could not render these cases (no golden file was written):")
        for line in failures:
            print(f"  {line}")
        return 1

    changed = 0
    for name, text in rendered.items():
        path = golden_path(name)
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old == text:
            continue
        path.write_text(text, encoding="utf-8", newline="\n")
        changed += 1
        print(f"{'created' if old is None else 'updated'} {path.relative_to(REPO)}")
    removed = 0
    if not names:
        for path in stale_golden_files():
            path.unlink()
            removed += 1
            print(f"removed {path.relative_to(REPO)} (no such case)")
    unchanged = len(rendered) - changed
    print(f"{changed} golden file(s) changed, {unchanged} unchanged"
          + (f", {removed} removed" if removed else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tests/golden_tools.py",
        description="Regenerate the golden derivative sources in golden/.")
    parser.add_argument("--update", action="store_true", required=True,
                        help="rewrite the golden files from the current compiler")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="only these cases (default: all, and remove stale files)")
    args = parser.parse_args(argv)
    return update_all(args.names or None)


if __name__ == "__main__":
    sys.exit(main())
