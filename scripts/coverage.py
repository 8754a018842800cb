"""Write docs/coverage.md: every callable with a derivative rule, its modes and conventions.

    python scripts/coverage.py            # rewrite docs/coverage.md
    python scripts/coverage.py --check    # exit 1 if docs/coverage.md is stale

The table is read from the rule registry (tangent_src/rules/), the notes from the NOTES
dicts of the rule modules (tangent_src/rules/notes.py and any rule module that defines
one, among those `import tangent_src` imports) and from the docstrings of rules registered
with @adjoint/@tangent.
"""
from __future__ import annotations

import builtins
import importlib
import inspect
import pkgutil
import sys
from pathlib import Path

import gast
import numpy as np

import tangent_src.rules
from tangent_src import runtime
from tangent_src.rules.registry import REGISTRY

DOC = Path(__file__).resolve().parent.parent / "docs" / "coverage.md"

# Where names are looked up, in order of preference: (prefix shown, module name).
NAMESPACES = [("np.", "numpy"), ("np.linalg.", "numpy.linalg"), ("math.", "math"),
              ("", "builtins"), ("scipy.special.", "scipy.special"),
              ("scipy.linalg.", "scipy.linalg"), ("scipy.stats.", "scipy.stats"),
              ("scipy.signal.", "scipy.signal"), ("scipy.integrate.", "scipy.integrate")]
SECTIONS = [("NumPy", ("numpy",)), ("NumPy linear algebra", ("numpy.linalg",)),
            ("math", ("math",)), ("Python builtins", ("builtins",)),
            ("SciPy", ("scipy.special", "scipy.linalg", "scipy.stats", "scipy.signal",
                       "scipy.integrate")),
            ("Other", (None,))]
OPERATORS = {gast.Add: "a + b", gast.Sub: "a - b", gast.Mult: "a * b", gast.Div: "a / b",
             gast.Pow: "a ** b", gast.Mod: "a % b", gast.FloorDiv: "a // b",
             gast.MatMult: "a @ b", gast.USub: "-a", gast.UAdd: "+a"}


def _modules() -> list[tuple[str, str, dict]]:
    out = []
    for prefix, name in NAMESPACES:
        try:
            module = builtins if name == "builtins" else importlib.import_module(name)
        except ImportError:
            continue
        out.append((prefix, name, vars(module)))
    return out


def _names(key, modules) -> tuple[str | None, list[str]]:
    """(home namespace, every public name of `key`), preferred name first."""
    home, names = None, []
    owner = getattr(key, "__self__", None) if inspect.ismethod(key) else None
    if isinstance(getattr(key, "__self__", None), np.ufunc):  # np.add.outer
        owner = key.__self__
    for prefix, module, namespace in modules:
        for attr in sorted(namespace):
            if attr.startswith("_"):
                continue
            try:
                same = namespace[attr] is key
            except Exception:  # noqa: BLE001 - odd module attributes
                same = False
            if same:
                home = home or module
                names.append(prefix + attr)
            elif owner is not None and namespace[attr] is owner:  # norm.logpdf: a method
                home = home or module
                names.append(f"{prefix}{attr}.{key.__name__}")
    if not names:
        names = [f"{getattr(key, '__module__', '?')}.{getattr(key, '__qualname__', key)}"]
    own = getattr(key, "__name__", None)
    names.sort(key=lambda n: n.rsplit(".", 1)[-1] != own)  # the object's own name first
    return home, names


def _notes() -> dict:
    notes: dict = {}
    for info in pkgutil.iter_modules(tangent_src.rules.__path__):
        # only the modules tangent_src itself imports: the registry as users see it
        module = sys.modules.get(f"tangent_src.rules.{info.name}")
        found = getattr(module, "NOTES", None)
        if isinstance(found, dict):
            for key, text in found.items():
                notes.setdefault(key, text)
    for table in (REGISTRY.adjoints, REGISTRY.tangents):
        for key, template in table.items():
            if getattr(template, "notes", ""):
                notes.setdefault(key, " ".join(template.notes.split()))
    return notes


def _is_helper(key) -> bool:
    return getattr(key, "__module__", None) in {m.__name__ for m in runtime.MODULES}


def _mark(flag: bool) -> str:
    return "yes" if flag else "—"


def _is_operator(key) -> bool:
    return isinstance(key, type) and issubclass(key, gast.AST)


LIBRARIES = ("numpy", "scipy", "math", "builtins", "tangent_src")


def _is_library(key) -> bool:
    """NumPy, SciPy, math, builtins and tangent_src objects: not rules that user code (or a
    test) registered for its own functions."""
    if isinstance(key, np.ufunc) or isinstance(getattr(key, "__self__", None), np.ufunc):
        return True  # a ufunc, or a method of one (np.add.outer)
    module = getattr(key, "__module__", None) or ""
    return module.split(".")[0] in LIBRARIES or module.startswith("scipy")


def counted(keys) -> set:
    """The callables that count for coverage: NumPy, SciPy, math and builtins functions, not
    operator classes, sentinels, tangent_src's runtime helpers or user-registered rules."""
    return {k for k in keys if callable(k) and not _is_operator(k) and not _is_helper(k)
            and _is_library(k)}


def render() -> str:
    modules = _modules()
    notes = _notes()
    keys = [k for k in set(REGISTRY.adjoints) | set(REGISTRY.tangents)]
    both = counted(set(REGISTRY.adjoints) & set(REGISTRY.tangents))
    rows: dict = {}
    helpers, operators = [], []
    for key in keys:
        if _is_operator(key):
            operators.append(key)
            continue
        if not callable(key) or not _is_library(key):
            continue
        home, names = _names(key, modules)
        row = (", ".join(f"`{n}`" for n in names), _mark(key in REGISTRY.adjoints),
               _mark(key in REGISTRY.tangents), notes.get(key, ""))
        if _is_helper(key):
            helpers.append((key.__name__, (f"`{key.__name__}`", *row[1:])))
        else:
            rows.setdefault(home, []).append((names[0], row))
    lines = [
        "# Derivative rule coverage",
        "",
        "Generated by `python scripts/coverage.py` from the rule registry "
        "(`tangent_src/rules/`); do not edit by hand. A test fails when this file is stale.",
        "",
        f"**{len(both)} callables have both a reverse-mode and a forward-mode rule** "
        "(Python operators and tangent_src's own runtime helpers not counted). Every rule "
        "is written with functions that have rules themselves, so generated derivatives "
        "can be differentiated again (higher orders).",
        "",
    ]
    header = ["| function | reverse | forward | notes |", "|---|---|---|---|"]
    for title, homes in SECTIONS:
        entries = sorted(e for h in homes for e in rows.get(h, []))
        if not entries:
            continue
        lines += [f"## {title} ({len(entries)})", "", *header]
        lines += [f"| {' | '.join(row)} |" for _, row in entries]
        lines.append("")
    lines += ["## Python operators", "", "| operator | reverse | forward | notes |",
              "|---|---|---|---|"]
    for key in sorted(operators, key=lambda k: OPERATORS.get(k, k.__name__)):
        marks = f"{_mark(key in REGISTRY.adjoints)} | {_mark(key in REGISTRY.tangents)}"
        lines.append(f"| `{OPERATORS.get(key, key.__name__)}` | {marks} | {notes.get(key, '')} |")
    zero = []
    for key in REGISTRY.nondifferentiable:
        if _is_helper(key):
            helpers.append((key.__name__, (f"`{key.__name__}`", "zero", "zero",
                                           notes.get(key, "nondifferentiable"))))
        elif callable(key) and _is_library(key):
            zero.append((_names(key, modules)[1], notes.get(key, "")))
    lines += ["", f"## Zero derivative ({len(zero)})", "",
              "Declared nondifferentiable: results carry no gradient (counts, shapes, "
              "comparisons, constructors, and the piecewise-constant roundings).", "",
              "| function | notes |", "|---|---|"]
    for names, note in sorted(zero):
        lines.append(f"| {', '.join(f'`{n}`' for n in names)} | {note} |")
    lines += ["", f"## Runtime helpers ({len(helpers)})", "",
              "Functions of `tangent_src/runtime/` that generated code calls; their rules "
              "(`tangent_src/rules/runtime_rules.py`) make generated code differentiable "
              "again.", "", *header]
    lines += [f"| {' | '.join(row)} |" for _, row in sorted(helpers)]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not DOC.exists() or DOC.read_text() != text:
            print(f"{DOC} is stale: run python scripts/coverage.py", file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
