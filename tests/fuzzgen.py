"""A seeded generator of random differentiable Python/NumPy programs, and the differential
checks that compare tangent_src's derivatives of them with central finite differences.

Why: hand-written corpora only hold the programs their authors thought of; the bugs that
give silently wrong gradients hide in combinations (a variable first assigned inside a
loop and read after it, a closure over a local that shares a module global's name, a
parameter written in place, a view of an argument). `generate(seed)` writes one small
program mixing such constructs as module source, `load(program)` imports it from a real
file (so `inspect.getsource` works), and `check(program)` runs reverse mode, forward mode
and a Hessian-vector product against finite differences written here (independent of
tangent_src), and compares every input and global array before and after each call.

Everything is a pure function of the seed: `generate(seed)` always returns the same text
and the same inputs, so a failure is reproduced from its seed alone.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import importlib.util
import os
import random
import re
import string
import sys
import tempfile
import traceback

import numpy as np

# Outcome categories, worst first.
WRONG, CRASH, MUTATION, REFUSED, OK = "WRONG", "CRASH", "MUTATION", "refused", "ok"
INVALID, UNSTABLE = "invalid", "fd-unstable"   # generator faults / FD reference unreliable
SEVERITY = [WRONG, CRASH, MUTATION, INVALID, UNSTABLE, REFUSED, OK]

EPS = 1e-6
RTOL = 1e-4
ATOL = 1e-6
HVP_STEP = 1e-4
HVP_RTOL = 1e-3


# ----------------------------------------------------------------------------------------
# Program representation
# ----------------------------------------------------------------------------------------
@dataclasses.dataclass
class Program:
    """One generated program: module source, the entry function's name, how to build its
    inputs, and the constructs it uses (for counting findings by feature)."""
    seed: int
    source: str
    entry: str
    arg_specs: list
    features: set
    boundary: bool = False

    def make_args(self) -> list:
        """Fresh inputs (a new copy on every call), a pure function of the seed."""
        rng = np.random.default_rng(self.seed)
        return [_build(spec, rng, self.boundary) for spec in self.arg_specs]


def _build(spec, rng, boundary: bool):
    kind = spec[0]
    if kind == "int":
        return spec[1]
    if kind == "float":
        return float(np.round(rng.uniform(-1.0, 1.0), 3))
    if kind == "array":
        value = rng.uniform(-1.0, 1.0, size=spec[1])
        if boundary and value.size > 1:
            value.flat[0] = 0.0             # a value on a rule's boundary (x**k at 0, ...)
        return value
    if kind == "tuple":
        return tuple(_build(s, rng, boundary) for s in spec[1])
    if kind == "list":
        return [_build(s, rng, boundary) for s in spec[1]]
    if kind == "dict":
        return {k: _build(s, rng, boundary) for k, s in spec[1]}
    raise ValueError(spec)


@dataclasses.dataclass
class Var:
    """A name in scope during generation: its shape and a bound on its absolute value."""
    shape: tuple
    bound: float = 1.0
    param: bool = False          # an entry argument (writing it mutates the caller's array)
    writable: bool = False       # an ndarray the program may write into
    is_int: bool = False         # a loop index (usable as an index or a small factor)
    shared: bool = False         # may be a module global's array: never written in place
    alias: bool = False          # shares its array with another name (a view or `b = a`)


UNARY = [  # (template, bound of the result given bound b of the argument)
    ("np.sin({})", lambda b: 1.0),
    ("np.cos({})", lambda b: 1.0),
    ("np.tanh({})", lambda b: 1.0),
    ("np.exp(np.tanh({}))", lambda b: 2.72),
    ("np.log(2.0 + np.sin({}))", lambda b: 1.1),
    ("np.log1p({} ** 2)", lambda b: np.log1p(b * b)),
    ("np.sqrt(1.0 + {} ** 2)", lambda b: np.sqrt(1 + b * b)),
    ("np.arctan({})", lambda b: 1.6),
    ("({}) ** 2", lambda b: b * b),
    ("np.square({})", lambda b: b * b),
    ("np.power({}, 3)", lambda b: b ** 3),
    ("np.abs({}) ** 2", lambda b: b * b),
    ("(0.5 * {})", lambda b: 0.5 * b),
    ("(-{})", lambda b: b),
]
BOUNDARY_UNARY = [
    ("({}) ** 2", lambda b: b * b),
    ("np.power({}, 2)", lambda b: b * b),
    ("np.power({}, 3.0)", lambda b: b ** 3),
    ("({}) ** 3", lambda b: b ** 3),
    ("np.sqrt({} ** 2 + 1.0)", lambda b: np.sqrt(1 + b * b)),
]
NAMES = ["a", "b", "c", "h", "s", "t", "u", "v", "w", "z", "acc", "tot", "y", "r", "q", "k2",
         "scale", "c0", "buf"]


class _Gen:
    """Builds one program; all randomness comes from `self.r`."""

    def __init__(self, seed: int, avoid: frozenset = frozenset()):
        self.avoid = avoid
        self.r = random.Random(seed)
        self.seed = seed
        self.n = self.r.randint(2, 4)
        self.m = self.r.randint(2, 3)
        self.features: set = set()
        self.module: list[str] = ["import numpy as np", ""]
        self.globals: dict[str, Var] = {}
        self.helpers: list[tuple] = []    # (name, arity, has_default)
        self.factories: list[str] = []
        self.lines: list[str] = []
        self.indent = 1
        self.env: dict[str, Var] = {}
        self.funcs: list[str] = []        # callable locals (lambdas, nested defs, made closures)
        self.counter = 0
        self.boundary = self.r.random() < 0.1
        self.loop_depth = 0
        self.used: set = {"x", "y", "p", "q", "steps", "alpha", "shift", "f", "np", "W", "bias",
                          "item", "z", "inner"}

    # -- small helpers ---------------------------------------------------------------
    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def fresh(self, base: str | None = None) -> str:
        self.counter += 1
        if base is None:
            base = self.r.choice(NAMES)
        name = base if base not in self.used else f"{base}{self.counter}"
        self.used.add(name)
        return name

    def const(self) -> str:
        return repr(round(self.r.uniform(-1.0, 1.0), 2))

    def emit(self, text: str) -> None:
        for line in text.split("\n"):
            self.lines.append("    " * self.indent + line)

    def shapes(self) -> list[tuple]:
        n, m = self.n, self.m
        return [(), (n,), (m,), (m, n), (n, n), (1, n), (m, 1)]

    def vars_of(self, shape, *, arrays_only=False) -> list[str]:
        return [k for k, v in self.env.items()
                if v.shape == shape and not v.is_int and (v.shape or not arrays_only)]

    def global_array(self, shape) -> str:
        for name, var in self.globals.items():
            if var.shape == shape and self.chance(0.7):
                return name
        name = self.fresh("C")
        values = np.round(np.random.default_rng(self.r.randint(0, 2**31)).uniform(
            -1, 1, size=shape), 2)
        self.module.append(f"{name} = np.array({values.tolist()!r})")
        self.globals[name] = Var(shape)
        self.features.add("global_array")
        return name

    # -- expressions -----------------------------------------------------------------
    def leaf(self, shape) -> tuple[str, float]:
        names = self.vars_of(shape)
        if names and self.chance(0.85):
            name = self.r.choice(names)
            return name, self.env[name].bound
        if shape == ():
            ints = [k for k, v in self.env.items() if v.is_int]
            if ints and self.chance(0.4):
                self.features.add("loop_index_value")
                return f"(0.3 * {self.r.choice(ints)})", 1.5
            if self.chance(0.6):
                return self.scalar_op()
            return self.const(), 1.0
        if self.chance(0.25):
            return self.global_array(shape), 1.0
        return self.derive(shape)

    def derive(self, shape) -> tuple[str, float]:
        """An expression of `shape` built from variables of other shapes."""
        n, m = self.n, self.m
        options = []
        if shape == (n,):
            options += [("(np.linspace(-1.0, 1.0, {n}) * {s})", [()]),
                        ("np.sum({M}, axis=0)", [(m, n)]), ("np.mean({M}, axis=0)", [(m, n)]),
                        ("({M}.T @ {w})", [(m, n), (m,)]), ("({Q} @ {v})", [(n, n), (n,)]),
                        ("{M}[{i}]", [(m, n)]), ("{R}[0]", [(1, n)]),
                        ("np.dot({v}, {Q})", [(n,), (n, n)])]
        elif shape == (m,):
            options += [("np.sum({M}, axis=1)", [(m, n)]), ("({M} @ {v})", [(m, n), (n,)]),
                        ("{M}[:, {j}]", [(m, n)]), ("{C}[:, 0]", [(m, 1)]),
                        ("(np.linspace(0.5, 1.5, {m}) * {s})", [()])]
        elif shape == (m, n):
            options += [("np.outer({w}, {v})", [(m,), (n,)]),
                        ("({w}[:, None] * {v}[None, :])", [(m,), (n,)]),
                        ("({M} @ {Q})", [(m, n), (n, n)])]
        elif shape == (n, n):
            options += [("np.outer({v}, {v2})", [(n,), (n,)]), ("({Q}.T)", [(n, n)])]
        elif shape == (1, n):
            options += [("np.sum({M}, axis=0, keepdims=True)", [(m, n)]),
                        ("np.mean({M}, axis=0, keepdims=True)", [(m, n)]),
                        ("{v}[None, :]", [(n,)]), ("np.reshape({v}, (1, {n}))", [(n,)])]
        elif shape == (m, 1):
            options += [("np.sum({M}, axis=1, keepdims=True)", [(m, n)]),
                        ("np.max({M}, axis=1, keepdims=True)", [(m, n)]),
                        ("{w}[:, None]", [(m,)])]
        elif shape == ():
            return self.scalar_op()
        if not options:
            return self.global_array(shape), 1.0
        template, needs = self.r.choice(options)
        if self.boundary:   # a zero input makes whole rows of np.outer tie (seed 70056)
            template = template.replace("np.max(", "np.sum(")
        parts = {"n": n, "m": m, "i": self.r.randrange(m), "j": self.r.randrange(n)}
        bound = 1.0
        holes = []
        for _, field, _, _ in string.Formatter().parse(template):
            if field and field not in parts and field not in holes:
                holes.append(field)
        for key, need in zip(holes, needs):
            names = self.vars_of(need)
            if names:
                code = self.r.choice(names)
                b = self.env[code].bound
            elif need == ():
                code, b = self.const(), 1.0
            else:
                code, b = self.global_array(need), 1.0
            parts[key] = code
            bound *= b
        if "@" in template or "dot" in template or "sum" in template:
            bound *= max(n, m)
        if "mean" in template or "[" in template and "@" not in template:
            bound = max(1.0, bound)
        return template.format(**parts), bound

    def scalar_op(self) -> tuple[str, float]:
        """A scalar made from any array in scope (reductions, indexing, concatenation)."""
        arrays = [k for k, v in self.env.items() if v.shape and not v.is_int]
        if not arrays:
            return self.const(), 1.0
        a = self.r.choice(arrays)
        var = self.env[a]
        same = [k for k in arrays if self.env[k].shape == var.shape]
        b = self.r.choice(same)
        size = int(np.prod(var.shape))
        choice = self.r.randrange(13)
        if choice == 0:
            return f"np.sum({a})", var.bound * size
        if choice == 1:
            return f"np.mean(np.sin({a}))", 1.0
        if choice == 2 and len(var.shape) == 1:
            self.features.add("slice")
            return f"np.sum({a}[1:] * {b}[:-1])", var.bound * self.env[b].bound * size
        if "np_r_" in self.avoid and choice in (3, 11):
            choice = 12
        if choice == 3 and len(var.shape) == 1:
            self.features.add("np_r_")
            return f"np.sum(np.tanh(np.r_[{a}, {b}]))", 2.0 * size
        if choice == 4:
            self.features.add("concatenate")
            return (f"np.sum(np.concatenate([np.ravel({a}), np.ravel({b})]) ** 2)",
                    2 * size * var.bound ** 2)
        if choice == 5:
            return f"{a}[{', '.join(str(self.r.randrange(d)) for d in var.shape)}]", var.bound
        if choice == 6:
            self.features.add("max")
            return f"np.{'sum' if self.boundary else 'max'}({a})", var.bound * \
                (size if self.boundary else 1)
        if choice == 7 and len(var.shape) == 1:
            return f"np.dot({a}, {b})", var.bound * self.env[b].bound * size
        if choice == 8:
            self.features.add("std_var")
            return f"np.{self.r.choice(['std', 'var'])}({a})", var.bound * var.bound + 1
        if choice == 9 and len(var.shape) == 2:
            self.features.add("reduce_axis")
            return f"np.sum(np.mean({a}, axis={self.r.randrange(2)}) ** 2)", \
                var.bound ** 2 * size
        if choice == 10 and len(var.shape) == 1:
            self.features.add("reversed_slice")
            return f"np.sum({a}[::-1] * {b})", var.bound * self.env[b].bound * size
        if choice == 11 and len(var.shape) == 1:
            self.features.add("np_r_")
            return f"np.sum(np.r_[{a}[:1], 2.0 * {b}] ** 2)", 4 * size * var.bound ** 2
        return f"np.sum(np.tanh({a}))", size

    def expr(self, shape, depth: int) -> tuple[str, float]:
        if depth <= 0 or self.chance(0.25):
            code, bound = self.leaf(shape)
        else:
            code, bound = self.compound(shape, depth)
        if bound > 6.0:
            code, bound = f"np.tanh({code})", 1.0
        return code, max(bound, 1e-3)

    def compound(self, shape, depth: int) -> tuple[str, float]:
        k = self.r.randrange(10)
        if k <= 2:
            table = BOUNDARY_UNARY if self.boundary and self.chance(0.5) else UNARY
            template, fb = self.r.choice(table)
            if self.boundary and template.startswith("np.abs"):
                # |z| ** 2 at z = 0: every AD convention (sign(0) = 0, as in JAX and
                # autograd) gives second derivative 0 there, the true value is 2; not a bug
                template = "({}) ** 2"
            inner, b = self.expr(shape, depth - 1)
            if self.boundary and table is BOUNDARY_UNARY:
                self.features.add("boundary")
            return template.format(inner), fb(b)
        if k <= 5:
            op = self.r.choice(["+", "-", "*", "*", "/"])
            left, bl = self.expr(shape, depth - 1)
            other = self.broadcast_partner(shape)
            right, br = self.expr(other, depth - 1)
            if other != shape:
                self.features.add("broadcast")
            if op == "/":
                return f"({left} / (2.0 + np.sin({right})))", bl
            if op == "*":
                return f"({left} * {right})", bl * br
            return f"({left} {op} {right})", bl + br
        if k == 6 and shape and self.chance(0.5):
            self.features.add("where")
            mask = self.global_mask(shape)
            a, ba = self.expr(shape, depth - 1)
            b, bb = self.expr(shape, depth - 1)
            return f"np.where({mask}, {a}, {b})", max(ba, bb)
        if k == 7 and self.funcs:
            name = self.r.choice(self.funcs)
            a, ba = self.expr(shape, depth - 1)
            return f"{name}({a})", 2.0 * ba + 2.0
        if k == 8 and self.helpers:
            name, arity, has_default = self.r.choice(self.helpers)
            args = [self.expr(shape, depth - 1)[0] for _ in range(arity)]
            if has_default and self.chance(0.5):
                args.append(f"k={self.const()}")
            self.features.add("helper_call")
            return f"{name}({', '.join(args)})", 3.0
        if shape == () and self.chance(0.6):
            return self.scalar_op()
        return self.derive(shape) if shape else self.leaf(shape)

    def broadcast_partner(self, shape):
        n, m = self.n, self.m
        choices = [shape, shape, ()]
        if shape == (m, n):
            choices += [(n,), (1, n), (m, 1)]
        if shape == (n, n):
            choices += [(n,), (1, n)]
        if shape == (1, n):
            choices += [(n,)]
        return self.r.choice(choices)

    def global_mask(self, shape) -> str:
        name = self.fresh("MASK")
        values = np.random.default_rng(self.r.randint(0, 2**31)).random(shape) < 0.5
        self.module.append(f"{name} = np.array({values.tolist()!r})")
        return name

    # -- statements ------------------------------------------------------------------
    def assign_new(self, depth: int = 2) -> str:
        shape = self.r.choice(self.shapes())
        code, bound = self.expr(shape, depth)
        name = self.fresh()
        if name in {g for g in self.globals} or name in ("scale", "c0"):
            self.features.add("shadows_global")
        self.emit(f"{name} = {code}")
        self.env[name] = Var(shape, bound, writable=False, shared=self.is_shared(code),
                             alias=self.mark_alias(code))
        return name

    def mark_alias(self, code: str) -> bool:
        """Whether `code` is a name (or a view of a name) whose array a new name would share;
        if so both names are marked as aliases."""
        match = re.fullmatch(r"\(?(\w+)(\[[^\]]*\]|\.T)?\)?", code)
        var = self.env.get(match.group(1)) if match else None
        if var is None or not var.shape:
            return False
        var.alias = True
        return True

    def is_shared(self, code: str) -> bool:
        """Whether `code` may evaluate to a module global's array (or a view of one)."""
        if re.match(r"\(?np\.(reshape|ravel|squeeze|transpose|asarray)\(", code):
            names = set(re.findall(r"\w+", code))
            return any(n in self.globals or (n in self.env and self.env[n].shared)
                       for n in names)
        match = re.fullmatch(r"\(?(\w+)(\[[^\]]*\]|\.T)?\)?", code)
        if not match:
            return False
        if match.group(1) in self.globals:
            return True
        var = self.env.get(match.group(1))
        return var is not None and var.shared

    def reassign(self) -> None:
        names = [k for k, v in self.env.items() if not v.is_int and k != "shift"]
        if not names:
            self.assign_new()
            return
        name = self.r.choice(names)
        var = self.env[name]
        code, b = self.expr(var.shape, 2)
        if self.loop_depth:
            kind = self.r.randrange(3 if not var.shared and self.may_write(var) else 2)
            if kind == 0:
                self.emit(f"{name} = {name} + 0.5 * np.tanh({code})")
            elif kind == 1:
                self.emit(f"{name} = np.sin({name} * {code})")
            else:
                self.features.add("augassign")
                op = "+=" if not var.shape or not var.param else "+="
                if var.shape and var.param:
                    self.features.add("arg_mutation")
                self.emit(f"{name} {op} 0.5 * np.tanh({code})")
            var.bound = var.bound + 2.0
        else:
            if self.chance(0.3) and not var.shared and self.may_write(var):
                self.features.add("augassign")
                if var.shape and var.param:
                    self.features.add("arg_mutation")
                self.emit(f"{name} {self.r.choice(['+=', '-=', '*='])} {code}")
                var.bound = var.bound * b + var.bound + b
            else:
                self.emit(f"{name} = {code}")
                self.env[name] = Var(var.shape, b, shared=self.is_shared(code),
                                     alias=self.mark_alias(code))

    def may_write(self, var: Var) -> bool:
        """In-place updates allowed on `var` under the `avoid` knobs."""
        if not var.shape:
            return True
        if var.param and "arg_mutation" in self.avoid:
            return False
        return not (var.alias and "alias_write" in self.avoid)

    def array_write(self) -> None:
        """`a[i] = ...`, `a[1:] = ...` into a fresh buffer, an alias, or a parameter."""
        n, m = self.n, self.m
        targets = [k for k, v in self.env.items() if v.writable and len(v.shape) in (1, 2)
                   and self.may_write(v)]
        if not targets or self.chance(0.35):
            shape = self.r.choice([(n,), (m,), (m, n)])
            name = self.fresh("buf")
            source = self.vars_of(shape)
            if source and self.chance(0.5):
                src = self.r.choice(source)
                self.emit(f"{name} = {src}.copy()" if self.chance(0.5) else
                          f"{name} = np.array({src})")
                bound = self.env[src].bound
            else:
                self.emit(f"{name} = np.{self.r.choice(['zeros', 'ones'])}({shape!r})")
                bound = 1.0
            self.env[name] = Var(shape, max(bound, 1.0), writable=True)
            targets = [name]
        name = self.r.choice(targets)
        var = self.env[name]
        if var.param:
            self.features.add("arg_mutation")
        self.features.add("array_write")
        ints = [k for k, v in self.env.items() if v.is_int and v.bound <= var.shape[0]]
        kind = self.r.randrange(3)
        if kind == 0:
            idx = self.r.choice(ints) if ints and self.chance(0.6) else \
                str(self.r.randrange(var.shape[0]))
            if idx in ints:
                self.features.add("index_by_loop_var")
            sub = var.shape[1:]
            code, _ = self.expr(sub, 2)
            self.emit(f"{name}[{idx}] = np.tanh({code})")
        elif kind == 1 and len(var.shape) == 1:
            self.features.add("slice_write")
            code, _ = self.expr(var.shape, 2)
            self.emit(f"{name}[1:] = np.tanh({code})[:-1]")
        else:
            code, _ = self.expr((), 1)
            self.features.add("elem_augassign")
            self.emit(f"{name}[{', '.join('0' for _ in var.shape)}] += np.tanh({code})")
        var.bound = var.bound + 1.0

    def alias(self) -> None:
        arrays = [k for k, v in self.env.items() if len(v.shape) in (1, 2) and not v.is_int]
        if not arrays:
            self.assign_new()
            return
        src = self.r.choice(arrays)
        var = self.env[src]
        name = self.fresh()
        kind = self.r.randrange(4)
        self.features.add("alias")
        writable = (var.writable or var.param) and not var.shared
        var.alias = True
        if kind == 0:
            self.emit(f"{name} = {src}")
            self.env[name] = Var(var.shape, var.bound, param=var.param, writable=writable,
                                 shared=var.shared, alias=True)
        elif kind == 1 and len(var.shape) == 2:
            self.emit(f"{name} = {src}[0]")
            self.features.add("view")
            self.env[name] = Var(var.shape[1:], var.bound, param=var.param, writable=writable,
                                 shared=var.shared, alias=True)
        elif kind == 2 and len(var.shape) == 2:
            self.emit(f"{name} = {src}.T")
            self.features.add("transpose")
            self.env[name] = Var(var.shape[::-1], var.bound, param=var.param, shared=var.shared,
                                 writable=writable, alias=True)
        elif len(var.shape) == 1 and var.shape[0] > 1:
            self.emit(f"{name} = {src}[1:]")
            self.features.add("view")
            self.env[name] = Var((var.shape[0] - 1,), var.bound, param=var.param,
                                 writable=writable, shared=var.shared, alias=True)
        else:
            self.emit(f"{name} = {src}")
            self.env[name] = Var(var.shape, var.bound, param=var.param, writable=writable,
                                 shared=var.shared, alias=True)

    def block(self, count: int) -> None:
        for _ in range(count):
            self.statement()

    def statement(self) -> None:
        k = self.r.randrange(100)
        deep = self.indent >= 3
        if self.loop_depth and "nested_loop" in self.avoid and (36 <= k < 51 or k >= 89):
            k = 0
        if k < 22 or (deep and k < 60):
            self.assign_new()
        elif k < 36 or deep:
            self.reassign()
        elif k < 46:
            self.for_loop()
        elif k < 51:
            self.while_loop()
        elif k < 61:
            self.branch()
        elif k < 69:
            self.array_write()
        elif k < 75:
            self.alias()
        elif k < 83:
            self.local_function()
        elif k < 89:
            self.tuple_swap()
        else:
            self.iterate_container()

    def promote(self, before: dict, inner: dict) -> None:
        """Names first assigned inside a block that surely ran become visible after it."""
        for name, var in inner.items():
            if name not in before:
                self.features.add("first_assigned_in_block")
            before[name] = var
        self.env = before

    def for_loop(self) -> None:
        trips = self.r.randint(1, 3)
        i = self.fresh("i")
        start = self.r.choice([0, 0, 1]) if trips > 1 else 0
        self.features.add("for_range")
        self.emit(f"for {i} in range({start}, {trips}):" if start else
                  f"for {i} in range({trips}):")
        before = dict(self.env)
        self.env = dict(self.env)
        self.env[i] = Var((), float(trips), is_int=True)
        funcs = list(self.funcs)
        self.indent += 1
        self.loop_depth += 1
        if trips - start >= 2 and self.chance(0.15):
            self.features.add("continue")
            self.emit(f"if {i} == {start}:")
            self.emit("    continue")
        self.block(self.r.randint(1, 3))
        if self.chance(0.1):
            self.early_return(in_loop=True)
        breaks = trips > 1 and self.chance(0.3)
        if breaks:
            self.features.add("break")
            if self.chance(0.5):
                self.emit(f"if {i} == {trips - 2}:")
            else:
                self.features.add("data_dependent_break")
                code, b = self.expr((), 1)
                self.emit(f"if {code} > {round(self.r.uniform(-0.5, 0.5), 3)}:")
            self.emit("    break")
        self.loop_depth -= 1
        self.indent -= 1
        del self.env[i]
        if start < trips and "loop_first_assign" not in self.avoid:
            self.promote(before, self.env)
        else:
            self.env = before
            self.funcs = funcs

    def while_loop(self) -> None:
        k = self.fresh("k")
        self.features.add("while")
        self.emit(f"{k} = 0")
        limit = self.r.randint(1, 3)
        do_while = self.chance(0.5)
        self.emit("while True:" if do_while else f"while {k} < {limit}:")
        before = dict(self.env)
        funcs = list(self.funcs)
        self.env = dict(self.env)
        self.indent += 1
        self.loop_depth += 1
        self.block(self.r.randint(1, 2))
        self.emit(f"{k} += 1")
        if do_while:
            self.features.add("break")
            if self.chance(0.5):
                self.features.add("data_dependent_break")
                code, _ = self.expr((), 1)
                self.emit(f"if {k} >= {limit} or {code} > {round(self.r.uniform(-1, 1), 3)}:")
            else:
                self.emit(f"if {k} >= {limit}:")
            self.emit("    break")
        self.loop_depth -= 1
        self.indent -= 1
        if "loop_first_assign" in self.avoid:
            self.env = before
            self.funcs = funcs
        else:
            self.promote(before, self.env)

    def branch(self) -> None:
        data = self.chance(0.6)
        if data:
            self.features.add("if_data")
            code, _ = self.expr((), 2)
            test = f"{code} > {round(self.r.uniform(-0.8, 0.8), 3)}"
        else:
            self.features.add("if_static")
            ints = [k for k, v in self.env.items() if v.is_int]
            test = f"{self.r.choice(ints)} % 2 == 0" if ints else \
                f"{self.n} > {self.r.randint(1, 4)}"
        arms = self.r.choice([1, 2, 2, 3])
        before = dict(self.env)
        funcs = list(self.funcs)
        shape = self.r.choice(self.shapes())
        new = self.fresh()
        arm_envs = []
        for arm in range(arms):
            if arm == 0:
                self.emit(f"if {test}:")
            elif arm == arms - 1:
                self.emit("else:")
            else:
                self.features.add("elif")
                self.env = dict(before)
                code, _ = self.expr((), 1)
                self.emit(f"elif {code} < {round(self.r.uniform(-0.5, 0.5), 3)}:")
            self.env = dict(before)
            self.indent += 1
            self.block(self.r.randint(1, 2))
            code, b = self.expr(shape, 2)
            self.emit(f"{new} = {code}")
            self.env[new] = Var(shape, b, shared=self.is_shared(code),
                                alias=self.mark_alias(code))
            self.indent -= 1
            self.funcs = list(funcs)        # a function defined in an arm stays there
            arm_envs.append(self.env)
        self.env = dict(before)
        # mutation of outer variables in an arm changes bounds; take the loosest
        for name, var in before.items():
            for env in arm_envs:
                if name in env:
                    var.bound = max(var.bound, env[name].bound)
                    var.shared = var.shared or env[name].shared
                    var.writable = var.writable and env[name].writable
        if arms >= 2:
            self.env[new] = Var(shape, max(e[new].bound for e in arm_envs),
                                shared=any(e[new].shared for e in arm_envs),
                                alias=any(e[new].alias for e in arm_envs))

    def early_return(self, in_loop: bool = False) -> None:
        """`if <data-dependent test>: return ...` (lowered by the front end)."""
        self.features.add("early_return_in_loop" if in_loop else "early_return")
        code, _ = self.expr((), 1)
        self.emit(f"if {code} > {round(self.r.uniform(-0.8, 0.8), 3)}:")
        self.emit(f"    return {self.final()}")

    def local_function(self) -> None:
        """A lambda, a nested def closing over locals, or a closure made by a factory."""
        if "closure" in self.avoid:
            self.assign_new()
            return
        kind = self.r.randrange(4)
        name = self.fresh("g")
        scalars = self.vars_of(())
        captured = self.r.choice(scalars) if scalars else None
        cap = captured or self.const()
        if kind == 0:
            self.features.add("lambda")
            self.emit(f"{name} = lambda z: np.tanh(z) * {cap} + 0.1 * z")
        elif kind == 1:
            self.features.add("nested_def")
            if captured:
                self.features.add("closure_over_local")
            self.emit(f"def {name}(z):")
            self.emit(f"    return np.sin(z * {cap}) + z * 0.5")
        elif kind == 2:
            self.features.add("default_arg_capture")
            self.emit(f"{name} = lambda z, c={cap}: np.tanh(z + c)")
        else:
            self.features.add("factory_closure")
            factory = self.factory()
            self.emit(f"{name} = {factory}({cap})")
        self.funcs.append(name)

    def factory(self) -> str:
        name = f"make{len(self.factories)}"
        body = self.r.choice(["np.tanh(z * c) + c", "np.sin(z) * c + z * 0.5",
                              "z * np.cos(c) + 0.25 * z ** 2"])
        self.module += ["", "", f"def {name}(c):", "    def inner(z):",
                        f"        return {body}", "    return inner", ""]
        self.factories.append(name)
        return name

    def tuple_swap(self) -> None:
        shape = self.r.choice(self.shapes())
        names = [k for k in self.vars_of(shape) if k != "shift"]
        if len(names) < 2:
            self.assign_new()
            return
        a, b = self.r.sample(names, 2)
        code, _ = self.expr(shape, 1)
        self.features.add("tuple_assign")
        self.emit(f"{a}, {b} = {b}, np.tanh({a} * 0.5 + {code})")
        self.env[b].alias = True
        self.env[a], self.env[b] = (Var(shape, self.env[b].bound, shared=self.env[b].shared,
                                        alias=True), Var(shape, 1.0))

    def iterate_container(self) -> None:
        """`for row in M`, `enumerate`, `zip` over rows of matrices in scope."""
        mats = [k for k, v in self.env.items() if len(v.shape) == 2 and not v.is_int]
        if not mats:
            self.for_loop()
            return
        mat = self.r.choice(mats)
        shape = self.env[mat].shape
        row = self.fresh("row")
        acc = self.fresh("acc")
        self.emit(f"{acc} = np.zeros({shape[1]})")
        kind = self.r.randrange(3)
        if kind == 0:
            self.features.add("for_over_array")
            self.emit(f"for {row} in {mat}:")
            extra = "0.0"
        elif kind == 1:
            self.features.add("enumerate")
            idx = self.fresh("j")
            self.emit(f"for {idx}, {row} in enumerate({mat}):")
            extra = f"0.2 * {idx}"
        else:
            self.features.add("zip")
            other = self.fresh("row")
            partner = [k for k in mats if self.env[k].shape == shape]
            self.emit(f"for {row}, {other} in zip({mat}, {self.r.choice(partner)}):")
            extra = f"0.5 * np.sin({other})"
        self.emit(f"    {acc} = {acc} + np.tanh({row} + {extra})")
        self.env[acc] = Var((shape[1],), float(shape[0]))

    # -- the module ------------------------------------------------------------------
    def helper(self) -> None:
        name = f"helper{len(self.helpers)}"
        arity = self.r.randint(1, 2)
        params = ["p", "q"][:arity]
        has_default = self.chance(0.4)
        signature = ", ".join(params + (["k=0.5"] if has_default else []))
        if has_default:
            self.features.add("default_arg")
        body = self.r.choice([
            "    t = np.tanh({p}) * {k}\n    return t + {q} * 0.5",
            "    t = np.sin({p})\n    for _ in range(2):\n        t = t * 0.5 + {q} * {k}\n"
            "    return t",
            "    if {k} > 0.0:\n        return np.tanh({p} + {q})\n    return {p} * {k}",
            "    out = {p} * {k}\n    out = out + np.cos({q})\n    return out",
        ])
        q = "q" if arity == 2 else "p"
        k = "k" if has_default else "0.5"
        self.module += ["", "", f"def {name}({signature}):",
                        body.format(p="p", q=q, k=k), ""]
        self.helpers.append((name, arity, has_default))

    def params(self) -> tuple[list[str], list]:
        n, m = self.n, self.m
        names, specs = [], []
        count = self.r.randint(1, 3)
        for k in range(count):
            kind = self.r.randrange(12)
            name = ["x", "y", "p"][k]
            if kind <= 4:
                shape = self.r.choice([(n,), (n,), (m, n), (m,)])
                specs.append(("array", shape))
                self.env[name] = Var(shape, 1.0, param=True, writable=True)
            elif kind <= 6:
                specs.append(("float",))
                self.env[name] = Var((), 1.0, param=True)
            elif kind == 7:
                self.features.add("tuple_arg")
                specs.append(("tuple", [("array", (n,)), ("float",)]))
                a, b = self.fresh("ta"), self.fresh("tb")
                self.prologue.append(f"{a}, {b} = {name}" if self.chance(0.5) else
                                     f"{a} = {name}[0]\n{b} = {name}[1]")
                self.env[a], self.env[b] = Var((n,), 1.0, param=True, writable=True), \
                    Var((), 1.0)
            elif kind == 8:
                self.features.add("dict_arg")
                specs.append(("dict", [("w", ("array", (m, n))), ("b", ("array", (m,)))]))
                a, b = self.fresh("dw"), self.fresh("db")
                self.prologue.append(f"{a} = {name}['w']\n{b} = {name}['b']")
                self.env[a] = Var((m, n), 1.0, param=True, writable=True)
                self.env[b] = Var((m,), 1.0, param=True, writable=True)
            elif kind == 9:
                self.features.add("params_loop")
                layers = self.r.randint(1, 3)
                specs.append(("list", [("tuple", [("array", (n, n)), ("array", (n,))])] * layers))
                h = self.fresh("h")
                start = self.r.choice([f"np.linspace(-0.5, 0.5, {n})", f"np.ones({n})"])
                act = self.r.choice(["np.tanh", "np.sin"])
                form = self.r.choice(["{W} @ {h} + {b}", "np.dot({W}, {h}) + {b}"])
                self.prologue.append(
                    f"{h} = {start}\nfor W, bias in {name}:\n"
                    f"    {h} = {act}({form.format(W='W', h=h, b='bias')})")
                self.env[h] = Var((n,), 1.0)
            elif kind == 10:
                self.features.add("int_arg")
                specs.append(("int", self.r.randint(1, 3)))
                name = f"steps{k}" if self.int_loop else "steps"
                self.int_loop = name
            else:
                self.features.add("list_arg")
                specs.append(("list", [("array", (n,))] * self.r.randint(1, 3)))
                acc = self.fresh("lacc")
                self.prologue.append(
                    f"{acc} = np.zeros({n})\nfor item in {name}:\n"
                    f"    {acc} = {acc} + np.sin(item)")
                self.env[acc] = Var((n,), 3.0)
            names.append(name)
        if all(spec[0] == "int" for spec in specs):    # something to differentiate
            name = ["x", "y", "p", "q"][len(names)]
            specs.append(("array", (n,)))
            self.env[name] = Var((n,), 1.0, param=True, writable=True)
            names.append(name)
        return names, specs

    def build(self) -> Program:
        self.prologue: list[str] = []
        self.int_loop = None
        for _ in range(self.r.choice([0, 0, 1, 2])):
            self.helper()
        if self.chance(0.3):                         # a module scalar a local may shadow
            self.module.append(f"scale = {self.const()}")
            self.globals["scale"] = Var(())
        closure = self.chance(0.15) and "closure" not in self.avoid
        if closure:
            self.env["shift"] = Var((), 1.0)
        names, specs = self.params()
        default = self.chance(0.15)
        if default:
            self.features.add("default_param")
            self.env["alpha"] = Var((), 1.0)
        for line in self.prologue:
            self.emit(line)
        if self.int_loop:
            acc = self.fresh("ia")
            base = self.r.choice(self.vars_of(()) or [self.const()])
            self.emit(f"{acc} = {base} * 1.0")
            self.emit(f"for _ in range({self.int_loop}):")
            self.emit(f"    {acc} = np.sin({acc}) + 0.5")
            self.env[acc] = Var((), 1.5)
        self.block(self.r.randint(2, 6))
        if self.chance(0.1):
            self.early_return()
            self.block(1)
        self.emit(f"return {self.final()}")
        signature = ", ".join(names + (["alpha=0.7"] if default else []))
        if closure:
            self.features.add("entry_is_closure")
            self.module += ["", "", "def make_f(shift):", f"    def f({signature}):"]
            self.module += ["    " + line for line in self.lines]
            self.module += ["    return f", "", "", f"f = make_f({self.const()})"]
        else:
            self.module += ["", "", f"def f({signature}):"] + self.lines
        source = "\n".join(self.module) + "\n"
        return Program(self.seed, source, "f", specs, set(self.features), self.boundary)

    def final(self) -> str:
        live = [k for k, v in self.env.items() if not v.is_int]
        picks = self.r.sample(live, min(len(live), self.r.randint(1, 3)))
        terms = []
        for name in picks:
            var = self.env[name]
            if var.shape:
                terms.append(self.r.choice([f"np.sum({name})", f"np.sum(np.sin({name}))",
                                            f"np.sum({name} ** 2)", f"np.mean({name})"]))
            else:
                terms.append(name)
        return " + ".join(terms) if terms else "0.0"


AVOIDABLE = ("loop_first_assign", "closure", "arg_mutation", "np_r_", "alias_write",
             "nested_loop")


def generate(seed: int, avoid=()) -> Program:
    """The program of `seed` (deterministic). `avoid` leaves out constructs (names in
    AVOIDABLE) whose bugs are already known, so a run can look for other ones."""
    unknown = set(avoid) - set(AVOIDABLE)
    if unknown:
        raise ValueError(f"cannot avoid {sorted(unknown)}; choose from {AVOIDABLE}")
    gen = _Gen(seed, frozenset(avoid))
    return gen.build()


# ----------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------
_DIR = None


def load(program: Program):
    """Write the program to a real file and import it (so tangent_src can read its source)."""
    global _DIR
    if _DIR is None:
        _DIR = tempfile.mkdtemp(prefix="tangent_fuzz_")
    name = f"fuzz_prog_{program.seed}"
    path = os.path.join(_DIR, f"{name}.py")
    with open(path, "w") as f:
        f.write(program.source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def unload(program: Program) -> None:
    sys.modules.pop(f"fuzz_prog_{program.seed}", None)


# ----------------------------------------------------------------------------------------
# Pytrees and finite differences (independent of tangent_src)
# ----------------------------------------------------------------------------------------
def _is_float_leaf(value) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f"
    return isinstance(value, float)


def flatten(tree) -> list:
    """The float leaves of a pytree (tuples, lists, dicts; ints are not leaves)."""
    if isinstance(tree, dict):
        return [leaf for key in sorted(tree) for leaf in flatten(tree[key])]
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in flatten(item)]
    return [tree] if _is_float_leaf(tree) else []


def unflatten(tree, leaves: list):
    """`tree` with its float leaves replaced, in order, by copies of `leaves`."""
    it = iter(leaves)

    def rebuild(node):
        if isinstance(node, dict):
            return {key: rebuild(node[key]) for key in sorted(node)}
        if isinstance(node, tuple):
            return tuple(rebuild(item) for item in node)
        if isinstance(node, list):
            return [rebuild(item) for item in node]
        if _is_float_leaf(node):
            value = next(it)
            return float(value) if isinstance(node, float) else np.array(value, dtype=float)
        return node
    return rebuild(tree)


def _scalar_output(value) -> float:
    if isinstance(value, tuple) or np.ndim(value) != 0:
        raise _Invalid(f"output is not a scalar: {type(value).__name__} {np.shape(value)}")
    return float(value)


class _Invalid(Exception):
    """The generated program itself is unusable (a generator fault, not a compiler bug)."""


def fd_gradient(f, args: list, eps: float = EPS) -> list:
    """Central differences of scalar f with respect to every float leaf of `args`."""
    leaves = flatten(args)
    out = []
    for k, leaf in enumerate(leaves):
        base = np.array(leaf, dtype=float)
        grad = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            vals = []
            for sign in (1.0, -1.0):
                moved = [np.array(x, dtype=float) for x in leaves]
                moved[k] = base.copy()
                moved[k][idx] += sign * eps
                vals.append(_scalar_output(f(*unflatten(args, moved))))
            grad[idx] = (vals[0] - vals[1]) / (2 * eps)
        out.append(grad)
    return out


def fd_directional(f, args: list, tangents: list, eps: float = EPS) -> float:
    leaves = flatten(args)
    vals = []
    for sign in (1.0, -1.0):
        moved = [np.array(x, dtype=float) + sign * eps * t for x, t in zip(leaves, tangents)]
        vals.append(_scalar_output(f(*unflatten(args, moved))))
    return (vals[0] - vals[1]) / (2 * eps)


def fd_hvp(f, args: list, index: int, v, h: float = HVP_STEP):
    """H v for the Hessian of f in argument `index` (an array or float), from f alone:
    (H v)_j = [f(x+hv+he_j) - f(x+hv-he_j) - f(x-hv+he_j) + f(x-hv-he_j)] / (4 h^2)."""
    base = np.array(args[index], dtype=float)
    out = np.zeros_like(base)

    def at(x):
        moved = list(copy.deepcopy(args))
        moved[index] = float(x) if isinstance(args[index], float) else x
        return _scalar_output(f(*moved))
    for idx in np.ndindex(base.shape):
        e = np.zeros_like(base)
        e[idx] = h
        total = 0.0
        for s1, s2, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
            total += sign * at(base + s1 * h * v + s2 * e)
        out[idx] = total / (4 * h * h)
    return out


def _close(got, ref, rtol: float = RTOL) -> bool:
    got = np.asarray(got, dtype=float)
    ref = np.asarray(ref, dtype=float)
    if got.shape != ref.shape:
        return False
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    atol = ATOL + 10 * ATOL * scale
    return bool(np.all(np.isfinite(got)) and np.all(np.abs(got - ref) <= atol + rtol *
                                                     np.abs(ref)))


def _same_tree(a, b) -> bool:
    """Exact equality of two pytrees of arrays/numbers (for the mutation check)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and set(a) == set(b) and all(_same_tree(a[k], b[k])
                                                                 for k in a)
    if isinstance(a, (tuple, list)):
        return isinstance(b, (tuple, list)) and len(a) == len(b) and all(
            _same_tree(x, y) for x, y in zip(a, b))
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


# ----------------------------------------------------------------------------------------
# The checks
# ----------------------------------------------------------------------------------------
@dataclasses.dataclass
class Outcome:
    """The result of checking one program: the worst category, and per check (name ->
    (category, detail))."""
    seed: int
    category: str
    checks: dict
    features: set
    source: str

    def report(self) -> str:
        lines = [f"seed {self.seed}: {self.category}"]
        for name, (cat, detail) in self.checks.items():
            lines.append(f"  {name}: {cat}" + (f" -- {detail}" if detail else ""))
        return "\n".join(lines)


def refusal_key(exc: BaseException) -> str:
    """A short key to count refusals by: error class and the message's first words."""
    text = re.sub(r"^(\S+:\d+:\d+: *)?(\S+\.py(:\d+)*: *)?", "", str(exc).split("\n")[0])
    text = re.sub(r"'[^']*'", "'…'", text)
    return f"{type(exc).__name__}: {text[:70]}"


def _crash_detail(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {os.path.basename(tb[-1].filename)}:{tb[-1].lineno}" if tb else ""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}{where}"


def _globals_snapshot(module, f) -> dict:
    snap = {k: copy.deepcopy(v) for k, v in vars(module).items()
            if isinstance(v, (np.ndarray, float, int)) and not k.startswith("__")}
    for k, cell in enumerate(getattr(f, "__closure__", None) or ()):
        with contextlib.suppress(ValueError):   # an empty cell
            snap[f"<closure {k}>"] = copy.deepcopy(cell.cell_contents)
    return snap


class _Runner:
    """Runs the checks of one program and records each check's outcome."""

    def __init__(self, program: Program, module, ts):
        self.program, self.module, self.ts = program, module, ts
        self.f = getattr(module, program.entry)
        self.checks: dict = {}
        self.globals0 = _globals_snapshot(module, self.f)

    def args(self) -> list:
        return self.program.make_args()

    def record(self, name: str, category: str, detail: str = "") -> None:
        self.checks[name] = (category, detail)

    def guarded(self, name: str, body) -> None:
        """Run one check; classify exceptions (TangentError = refusal, others = crash),
        then check that no input (beyond what f itself does) and no global changed."""
        from tangent_src.errors import TangentError
        try:
            body()
        except TangentError as exc:
            self.record(name, REFUSED, refusal_key(exc))
        except _Invalid as exc:
            self.record(name, UNSTABLE, str(exc))
        except Exception as exc:  # noqa: BLE001 - every other exception is a crash
            self.record(name, CRASH, _crash_detail(exc))
        now = _globals_snapshot(self.module, self.f)
        if not _same_tree(list(now.values()), list(self.globals0.values())):
            changed = [k for k in now if not _same_tree(now[k], self.globals0.get(k))]
            self.record(name + "/globals", MUTATION, f"module/closure values changed: {changed}")
            for k in changed:                     # restore, so later checks are meaningful
                if not k.startswith("<"):
                    setattr(self.module, k, copy.deepcopy(self.globals0[k]))

    def check_inputs(self, name: str, passed: list) -> None:
        """Inputs after a derivative call must be unchanged or changed exactly as f does."""
        if _same_tree(passed, self.args()) or _same_tree(passed, self.after_f):
            return
        self.record(name + "/inputs", MUTATION,
                    "a derivative call changed its inputs differently from f itself")

    def compare(self, name: str, got, ref_fn, rtol: float = RTOL) -> None:
        """got vs ref_fn(eps) for the default eps; a mismatch is WRONG only when two other
        step sizes agree with each other (otherwise the reference itself is unreliable)."""
        ref = ref_fn(None)
        if all(_close(g, r, rtol) for g, r in zip(got, ref)) and len(got) == len(ref):
            self.record(name, OK)
            return
        ref2, ref3 = ref_fn(10.0), ref_fn(0.1)
        stable = all(_close(a, b, rtol * 10) for a, b in zip(ref2, ref3))
        if any(all(_close(g, r, rtol) for g, r in zip(got, alt)) for alt in (ref2, ref3)):
            self.record(name, OK)
        elif not stable:
            self.record(name, UNSTABLE, "finite differences disagree between step sizes")
        else:
            worst = _worst_pair(got, ref)
            self.record(name, WRONG, worst)

    # -- the checks --------------------------------------------------------------------
    def primal(self) -> bool:
        args = self.args()
        try:
            with np.errstate(over="raise", divide="raise", invalid="raise"):
                self.value = _scalar_output(self.f(*args))
        except Exception as exc:  # noqa: BLE001 - a generator fault
            self.record("primal", INVALID, _crash_detail(exc))
            return False
        if not np.isfinite(self.value) or abs(self.value) > 1e6:
            self.record("primal", INVALID, f"value {self.value}")
            return False
        self.after_f = args
        if not _same_tree(list(_globals_snapshot(self.module, self.f).values()),
                          list(self.globals0.values())):
            self.record("primal", INVALID, "the program itself changes a global")
            return False
        self.wrt = tuple(k for k, a in enumerate(self.args()) if flatten([a]))
        return bool(self.wrt)

    def reverse(self, light: bool = False) -> None:
        """grad (first and cached call) and value_and_grad; `light`: value_and_grad only,
        called twice (one compile instead of two)."""
        ts = self.ts
        wrt = self.wrt

        def ref(scale):
            return fd_gradient(self.f, [a for a in self.args()], EPS * (scale or 1.0))

        def fd_wrt(scale):
            full = ref(scale)
            return full

        def grads_of(result):
            return flatten([result[k] for k in range(len(wrt))]) if len(wrt) > 1 else \
                flatten([result])

        def run_grad(label):
            args = self.args()
            result = ts.grad(self.f, wrt=wrt)(*args) if label != "grad#2" else \
                self.grad_fn(*args)
            self.check_inputs(label, args)
            self.compare(label, grads_of(result), fd_wrt)

        def first():
            self.grad_fn = ts.grad(self.f, wrt=wrt)
            args = self.args()
            result = self.grad_fn(*args)
            self.check_inputs("grad", args)
            self.compare("grad", grads_of(result), fd_wrt)
        if not light:
            self.guarded("grad", first)
            if self.checks.get("grad", (None,))[0] in (OK, WRONG):
                self.guarded("grad#2", lambda: run_grad("grad#2"))
        vg_fn = ts.value_and_grad(self.f, wrt=wrt)

        def vg(label):
            args = self.args()
            value, result = vg_fn(*args)
            self.check_inputs(label, args)
            if not _close(value, self.value, 1e-9):
                self.record(label + "/value", WRONG,
                            f"value {float(value)!r}, f gives {self.value!r}")
            self.compare(label, grads_of(result), fd_wrt)
        self.guarded("value_and_grad", lambda: vg("value_and_grad"))
        if light and self.checks.get("value_and_grad", (None,))[0] in (OK, WRONG):
            self.guarded("value_and_grad#2", lambda: vg("value_and_grad#2"))

    def forward(self) -> None:
        rng = np.random.default_rng(self.program.seed + 7)
        leaves = flatten(self.args())
        tangents = [rng.uniform(-1, 1, size=np.shape(x)) for x in leaves]

        def tangent_tree(args):
            out = unflatten(args, tangents)
            return [t if flatten([a]) else a for a, t in zip(args, out)]

        def body():
            args = self.args()
            tangent = tangent_tree(args)
            before = copy.deepcopy(tangent)
            value, deriv = self.ts.jvp(self.f, args, tangent)
            self.check_inputs("jvp", args)
            if not _same_tree(tangent, before):
                self.record("jvp/tangents", MUTATION, "jvp changed the caller's tangents")
            if not _close(value, self.value, 1e-9):
                self.record("jvp/value", WRONG, f"value {float(value)!r}, f gives {self.value!r}")
            self.compare("jvp", [deriv], lambda s: [fd_directional(
                self.f, self.args(), tangents, EPS * (s or 1.0))])
        self.guarded("jvp", body)

    def second_order(self) -> None:
        args0 = self.args()
        index = next((k for k in self.wrt if isinstance(args0[k], (np.ndarray, float))), None)
        if index is None:
            return
        rng = np.random.default_rng(self.program.seed + 11)
        v = rng.uniform(-1, 1, size=np.shape(args0[index]))
        v = float(v) if isinstance(args0[index], float) else v

        def body():
            args = self.args()
            v_in = copy.deepcopy(v)
            got = self.ts.hvp(self.f, wrt=index)(*args, v_in)
            self.check_inputs("hvp", args)
            if not _same_tree(v_in, v):
                self.record("hvp/v", MUTATION, "hvp changed the caller's vector v")
            self.compare("hvp", [got], lambda s: [fd_hvp(
                self.f, self.args(), index, np.asarray(v, dtype=float),
                HVP_STEP * (s or 1.0))], rtol=HVP_RTOL)
        self.guarded("hvp", body)


def _worst_pair(got, ref) -> str:
    lines = []
    for k, (g, r) in enumerate(zip(got, ref)):
        g, r = np.asarray(g, dtype=float), np.asarray(r, dtype=float)
        if not _close(g, r):
            lines.append(f"leaf {k}: got {np.round(g, 6).tolist()} expected "
                         f"{np.round(r, 6).tolist()}")
    if len(got) != len(ref):
        lines.append(f"{len(got)} gradients, expected {len(ref)}")
    return "; ".join(lines[:2])


def check(program: Program, modes=("rev", "fwd", "hvp"), backend: str = "python") -> Outcome:
    """Run the differential checks of one program and classify the result."""
    import tangent_src as ts
    module = load(program)
    try:
        runner = _Runner(program, module, ts)
        if runner.primal():
            if "rev" in modes or "rev-light" in modes:
                runner.reverse(light="rev" not in modes)
            if "fwd" in modes:
                runner.forward()
            if "hvp" in modes:
                runner.second_order()
            if backend == "numba":
                runner.numba()
    finally:
        unload(program)
    cats = [c for c, _ in runner.checks.values()] or [OK]
    worst = min(cats, key=SEVERITY.index)
    return Outcome(program.seed, worst, runner.checks, program.features, program.source)


def _numba(self) -> None:
    """The numba back end's gradient (slow to compile: only on request)."""
    def body():
        args = self.args()
        result = self.ts.grad(self.f, wrt=self.wrt, backend="numba")(*args)
        self.check_inputs("numba", args)
        grads = flatten([result[k] for k in range(len(self.wrt))]) if len(self.wrt) > 1 \
            else flatten([result])
        self.compare("numba", grads, lambda s: fd_gradient(self.f, self.args(),
                                                           EPS * (s or 1.0)))
    self.guarded("numba", body)


_Runner.numba = _numba


# ----------------------------------------------------------------------------------------
# Minimizing a failing program (line-based delta debugging)
# ----------------------------------------------------------------------------------------
def _signature_of(outcome: Outcome) -> set:
    """What a failure looks like, to keep while shrinking: (check, category[, crash type])."""
    sig = set()
    for name, (cat, detail) in outcome.checks.items():
        if cat in (WRONG, CRASH, MUTATION):
            sig.add((name.split("#")[0], cat, detail.split(":")[0] if cat == CRASH else ""))
    return sig


def _block_end(lines: list, k: int) -> int:
    """The index after the block that line k opens (or after line k itself)."""
    indent = len(lines[k]) - len(lines[k].lstrip())
    end = k + 1
    if lines[k].rstrip().endswith(":"):
        while end < len(lines) and (not lines[end].strip() or
                                    len(lines[end]) - len(lines[end].lstrip()) > indent):
            end += 1
    return end


def _candidates(lines: list):
    """Smaller versions of a program: a line or block removed, a block header removed with
    its body dedented (a loop or branch flattened)."""
    for k in range(len(lines) - 1, -1, -1):
        line = lines[k]
        if not line.strip() or line.startswith(("import", "def f", "def make_f")):
            continue
        end = _block_end(lines, k)
        yield lines[:k] + lines[end:]
        if end > k + 1 and not line.lstrip().startswith(("def ", "else", "elif")):
            body = [x[4:] if x.startswith("    ") else x for x in lines[k + 1:end]]
            yield lines[:k] + body + lines[end:]


def minimize(program: Program, modes=("rev", "fwd", "hvp"), budget: int = 300,
             log=None) -> Program:
    """The smallest program (by lines) reachable by removals that still fails the same way."""
    target = _signature_of(check(program, modes))
    if not target:
        return program
    lines = program.source.split("\n")
    tries = 0
    changed = True
    while changed and tries < budget:
        changed = False
        for candidate in _candidates(lines):
            tries += 1
            trial = dataclasses.replace(program, source="\n".join(candidate))
            try:
                compile(trial.source, "<fuzz>", "exec")
            except SyntaxError:
                continue
            try:
                outcome = check(trial, modes)
            except Exception:  # noqa: BLE001 - a broken candidate
                continue
            if outcome.checks.get("primal", (OK,))[0] == OK and \
                    target & _signature_of(outcome):
                lines = candidate
                changed = True
                if log:
                    log(f"  {len(lines)} lines")
                break
            if tries >= budget:
                break
    return dataclasses.replace(program, source="\n".join(lines))
