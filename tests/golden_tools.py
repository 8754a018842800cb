"""Golden-file tools: render the expected gradient source of each case in golden/cases.py.

    python tests/golden_tools.py --update            # rewrite every golden file
    python tests/golden_tools.py --update poly relu  # rewrite only these cases

``golden/<name>.py`` holds ``render(name)``: the source tangent_src generates for the case's
gradient. See golden/README.md.
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


def cases() -> list[tuple[str, object, object]]:
    """(name, func, wrt) for the general cases and the shape-specialized ones."""
    module = load_cases_module()
    special = [(name, func, wrt) for name, func, wrt, _ in getattr(module, "SPECIALIZED", [])]
    return list(module.CASES) + special


def example_args(name: str):
    """The example arguments of a specialized case (None for a general case)."""
    for case_name, _, _, make_args in getattr(load_cases_module(), "SPECIALIZED", []):
        if case_name == name:
            return make_args()
    return None


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

    for case_name, func, wrt in cases():
        if case_name == name:
            args = example_args(name)
            df = tangent_src.grad(func, wrt=wrt)
            text = tangent_src.source(df) if args is None else tangent_src.source(df, *args)
            return text.rstrip("\n") + "\n"
    raise KeyError(f"no golden case named {name!r}; cases: {', '.join(case_names())}")


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
        description="Regenerate the golden gradient sources in golden/.")
    parser.add_argument("--update", action="store_true", required=True,
                        help="rewrite the golden files from the current compiler")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="only these cases (default: all, and remove stale files)")
    args = parser.parse_args(argv)
    return update_all(args.names or None)


if __name__ == "__main__":
    sys.exit(main())
