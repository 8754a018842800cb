"""A transform's call on arguments it has seen, as one generated function per specialization.

Before the generated gradient runs, a call decides that it is the right code: the
arguments have the types, shapes and dtypes it was specialized to (`fast_key`), the
guards it was built on hold (guard_check.py), Python floats become np.float64 (IEEE
division by zero); after it, that a real argument's gradient came out real. Asked one at a
time, these questions cost about 2.3 us per call: a sixth of a small gradient. `entry`
writes them for one specialization as one function, e.g. for grad(loss, wrt=(0, 1)) at
(array (3,), float, array (4, 3), array (4,)):

    def entry(self, args):
        try:
            a0, a1, a2, a3 = args
        except ValueError:
            return MISS
        if not (type(a0) is ndarray and a0.dtype is F64 and a0.shape == S0
                and ((t1 := type(a1)) is float64 or t1 is float)
                and ...):
            return MISS
        if not (fg0.__code__ is cg0 and ... or not STALE()):
            return MISS
        self._last = C
        r = FN(a0, (a1 if t1 is float64 else float64(a1)), a2, a3)
        if type(r) is tuple and len(r) == 2:
            r0, r1 = r
            if (...r0 a float64 array or float...) and (...r1...):
                return r
        return real_result(r, self._name)

Each test is the key's own question or a stricter one, so an argument the entry passes
has the key the specialization was made for; MISS sends the call to the general path
(api.py), which answers exactly. So the entry can only make a call faster, never let a
stale or wrong specialization run. The result test accepts only float64 arrays and
floats, which cannot be complex; anything else gets guards.real_result, as before. Code
that writes into an array argument in place also runs `SHARED((a0, a1, ...))`, which
refuses one array passed as two arguments (shared_arguments.py); the rest skip it.
"""
from __future__ import annotations

import numpy as np

from .analysis.kinds import items_class
from .analysis.shapes import FUNCTION_TYPES
from .compiled import Compiled
from .generated_source import define_again
from .guard_check import holds_expression
from .guards import real_result
from .values import NUMBER_TYPES, holds_complex

FLOAT64 = np.dtype(np.float64)  # the usual dtype: its arrays are keyed by shape alone
MISS = object()  # what an entry returns when it does not apply: take the general path
_MAX_ENTRIES = 64  # per generated module


def fast_key(args: tuple, items) -> tuple:
    """The arguments' types, shapes and dtypes: with the transform, what picks the
    specialization (and its entry) a call runs. A function argument is specialized on (the
    code calls it by name): by identity; a string by value (a key of a table of functions:
    acts[name](z)); a container or object by type, whether it holds a complex number and,
    when the code tests types (`items`), its items' class."""
    return tuple([(a.shape if a.dtype is FLOAT64 else (a.shape, a.dtype))
                  if type(a) is np.ndarray else a if type(a) in FUNCTION_TYPES
                  else ("string", a) if type(a) is str else
                  type(a) if type(a) in NUMBER_TYPES else (type(a), holds_complex(a),
                                                           items and items_class(a))
                  for a in args])


def _arg_test(i: int, kind: type, key, namespace: dict, converts: bool) -> tuple[str, str]:
    """(the test that argument `a{i}`, of type `kind` when the key part `key` was taken,
    has that key part again; how the generated function is passed it). `fast_key`'s
    questions in its order; `converts`: a Python float there becomes np.float64."""
    a = f"a{i}"
    if kind is np.ndarray:
        if len(key) == 2 and isinstance(key[1], np.dtype):  # (shape, dtype)
            namespace[f"S{i}"], namespace[f"D{i}"] = key
            return f"type({a}) is ndarray and {a}.dtype is D{i} and {a}.shape == S{i}", a
        namespace[f"S{i}"] = key
        return f"type({a}) is ndarray and {a}.dtype is F64 and {a}.shape == S{i}", a
    if kind in FUNCTION_TYPES:
        namespace[f"K{i}"] = key
        return f"{a} is K{i}", a
    if kind is str:
        namespace[f"K{i}"] = key[1]
        return f"type({a}) is str and {a} == K{i}", a
    if kind in NUMBER_TYPES:
        if kind is np.float64 and converts:  # given as a float or an np.float64
            return (f"((t{i} := type({a})) is float64 or t{i} is float)",
                    f"({a} if t{i} is float64 else float64({a}))")
        namespace[f"T{i}"] = kind
        return f"type({a}) is T{i}", a
    namespace[f"T{i}"], namespace[f"I{i}"] = kind, key[2]
    complex_test = "holds_complex" if key[1] else "not holds_complex"
    items = f" and items_class({a}) == I{i}" if key[2] is not False else ""
    return f"type({a}) is T{i} and {complex_test}({a}){items}", a


def _real_test(count: int | None) -> list[str]:
    """Lines returning the result `r` when it is certainly real: a float64 array or a
    float (`count` of them in a tuple; None: one)."""
    def real(x: str, k: int) -> str:
        return (f"((u{k} := type({x})) is ndarray and {x}.dtype is F64 or u{k} is float64 "
                f"or u{k} is float)")
    if count is None:
        return [f"if {real('r', 0)}:", "    return r"]
    names = [f"r{k}" for k in range(count)]
    return [f"if type(r) is tuple and len(r) == {count}:",
            f"    {', '.join(names)}{',' if count == 1 else ''} = r",
            "    if (" + "\n            and ".join(real(x, k) for k, x in enumerate(names)) + "):",
            "        return r"]


def entry(given: int, nbound: int, args: tuple, key: tuple, compiled: Compiled,
          split: Compiled | None, plan, plain: bool, count: int | None):
    """The entry of one specialization: `entry(transform, given_args)` returns what calling
    the transform returns, or MISS. `args` (the transform's `nbound` bound values, then the
    `given` others with floats as np.float64) had the key `key`; `compiled` and `split` are
    the code they run (see Transform._call_general); `plain`: the result is returned as generated,
    once checked real, `count` gradients in a tuple (None: one); else Transform._finish
    shapes it by `plan`. Kept with `compiled` (a transform made afresh for each call finds
    it there), unless `plan` (a dtype plan, rarely hashable) is needed."""
    made_for = (given, nbound, key, split, plain, count) if plan is None else None
    entries = compiled.entries
    if made_for is not None and entries is not None and made_for in entries:
        return entries[made_for]
    made = _entry(given, nbound, args, key, compiled, split, plan, plain, count)
    if made_for is not None:
        if entries is None or len(entries) >= _MAX_ENTRIES:  # keyed by function arguments
            entries = compiled.entries = {}
        entries[made_for] = made
    return made


def _entry(given, nbound, args, key, compiled, split, plan, plain, count):
    namespace = {"MISS": MISS, "ndarray": np.ndarray, "F64": FLOAT64, "float64": np.float64,
                 "holds_complex": holds_complex, "items_class": items_class,
                 "real_result": real_result, "C": compiled, "FN": compiled.function,
                 "STALE": compiled.stale, "SPLIT": split, "PLAN": plan}
    tests, passed = [], []
    for i, (value, part) in enumerate(zip(args, key)):
        test, name = _arg_test(i, type(value), part, namespace, i >= nbound)
        tests.append(test)
        passed.append(name)
    lines = ["def entry(self, args):"]
    if nbound:  # the bound values are checked too: an array's shape can change in place
        lines.append(f"    {', '.join(f'a{i}' for i in range(nbound))}, = self._bound")
    names = [f"a{i}" for i in range(nbound, nbound + given)]
    lines += ["    try:", f"        {', '.join(names)}{',' if given == 1 else ''} = args",
              "    except ValueError:", "        return MISS"] if given else \
        ["    if args:", "        return MISS"]
    if tests:
        lines += ["    if not (" + "\n            and ".join(tests) + "):", "        return MISS"]
    for code, tag, stale in ((compiled, "g", "STALE"), (split, "p", "SPLIT.stale")):
        if code is not None and code.guards:
            holds = holds_expression(code.guards, namespace, tag, "\n            and ")
            lines += [f"    if not ({holds}\n"
                      f"            or not {stale}()):", "        return MISS"]
    overlap = _overlap_test(compiled, args)
    if overlap is not None:  # it writes into an argument: one array passed as two refused
        namespace["SHARED"], namespace["MAY_SHARE"] = compiled.refuse_shared, np.may_share_memory
        lines += [f"    if {overlap}:",
                  f"        SHARED(({''.join(f'a{i}, ' for i in range(len(args)))}))"]
    lines.append("    self._last = C")
    call = ", ".join(passed)
    if split is not None:
        together = f"({call},)" if call else "()"
        lines.append(f"    return self._finish(self._split_call(SPLIT, {together}), PLAN)")
    elif not plain:
        lines.append(f"    return self._finish(FN({call}), PLAN)")
    else:
        lines += [f"    r = FN({call})", *("    " + line for line in _real_test(count)),
                  "    return real_result(r, self._name)"]
    return define_again("\n".join(lines) + "\n", "entry", namespace, "entry")


def _overlap_test(compiled: Compiled, args: tuple) -> str | None:
    """The entry's test that the arguments may share memory with one the code writes into
    in place (then `SHARED` decides exactly, shared_arguments.py); None when none can: no
    such parameter, or only numbers and strings passed for them (`n += 1` rebinds). Each
    argument's type is fixed by the entry's own tests; a container or object is looked into
    on every call."""
    plain = NUMBER_TYPES | set(FUNCTION_TYPES) | {str}
    written = [i for i, (p, value) in enumerate(zip(compiled.params, args))
               if p in compiled.written and type(value) not in plain]
    if not written:
        return None
    if any(type(value) not in plain and type(value) is not np.ndarray for value in args):
        return "True"
    arrays = [i for i, value in enumerate(args[:len(compiled.params)])  # (not tangents)
              if type(value) is np.ndarray]
    pairs = sorted({tuple(sorted((i, j))) for i in written for j in arrays if j != i})
    return " or ".join(f"MAY_SHARE(a{i}, a{j})" for i, j in pairs) if pairs else None


def no_entry(transform, args) -> object:
    """The entry of a transform not called yet: it never applies."""
    return MISS
