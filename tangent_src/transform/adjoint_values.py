"""Adjoint variables of reverse mode: how one starts (a zero of its value's kind), how a
contribution is added (`+`, or plus() where the value may be a list, tuple or dict), and
which names have several definitions (their adjoint restarts from zero); where the
output's seed comes from, and the check standalone code makes of it."""
from __future__ import annotations

import gast

from ..core import build
from ..core.tables import ACCUMULATION, ARRAY_ZEROS, BASIC_ADD_AT, TUPLE_LENGTH
from ..core.walk import walk


def is_array_class(cls) -> bool:
    """Whether a shape class is an ndarray's of one or more axes (a tuple of "1", "N" and
    "?" flags), not a scalar's, a container's or a function's."""
    return isinstance(cls, tuple) and bool(cls) and all(f in ("1", "N", "?") for f in cls)


def output_check(name: str, func: str, result: str, seed: str) -> gast.If:
    """`if getattr(seed, "shape", ()) != getattr(result, "shape", ()): raise ValueError`:
    what grad's output check does, in standalone code (the CLI's), where no API runs it:
    the default seed 1.0 of a vector-valued function would give the gradient of its sum."""
    def shape(var):
        return build.call("getattr", [build.name(var), build.const("shape"),
                                      gast.Tuple(elts=[], ctx=gast.Load())])
    message = (f"{name}: {func} must return a scalar to have a gradient; for a "
               f"vector-Jacobian product pass {seed} with the shape of its output")
    test = gast.Compare(left=shape(seed), ops=[gast.NotEq()], comparators=[shape(result)])
    fail = gast.Raise(exc=build.call("ValueError", [build.const(message)]), cause=None)
    return gast.If(test=test, body=[fail], orelse=[])


class AdjointValues:
    """Zeros, accumulation and multiply-defined names of reverse mode's adjoints."""

    def _multi_defined(self) -> set[str]:
        """Names assigned by more than one statement: past the adjoint of one of their
        definitions, the adjoint belongs to the value before it, which starts from zero."""
        if not hasattr(self, "_multi"):
            counts: dict[str, int] = {p: 1 for p in self._params}
            for node in walk(self.core):
                if isinstance(node, gast.Assign):
                    name = node.targets[0].id
                    counts[name] = counts.get(name, 0) + 1
            self._multi = {n for n, c in counts.items() if c > 1}
        return self._multi

    def zeros(self, var: str):
        """A zero adjoint for `var`: 0.0 for a scalar, else an array of its shape."""
        cls = self.classes.get(var)
        if var in self.lists:
            # a tape: [] at that point; a list: zeros
            return build.call("zeros_like", [build.name(var)])
        if cls == ():
            return build.const(0.0)
        if cls:
            zero = gast.Call(func=gast.Attribute(value=build.name("np"), attr="zeros_like",
                                                 ctx=gast.Load()),
                             args=[build.name(var)], keywords=[])
            if is_array_class(cls):
                ARRAY_ZEROS[zero] = True
            return zero
        zero = build.call("zeros_like", [build.name(var)])
        items = self.tuple_items.get(var)
        if items:  # a plain tuple of known length (see optimize/tuple_adjoints.py)
            TUPLE_LENGTH[zero] = len(items)
        return zero

    def add_at(self, var: str, index, dtarget):
        """`add_at(dvar, index, dtarget)`, the adjoint of reading `var[index]`; marked
        BASIC_ADD_AT when var is an array and the index basic, so no element repeats."""
        add = build.call("add_at", [build.name(self.d(var)), build.index_value(index),
                                    dtarget])
        if is_array_class(self.classes.get(var)) and self._basic(index):
            BASIC_ADD_AT[add] = True
        return add

    def _basic(self, index) -> bool:
        """An index of ints, names of scalar class and slices with such bounds and step."""
        parts = index.elts if isinstance(index, gast.Tuple) else [index]
        for part in parts:
            bounds = [part.lower, part.upper, part.step] if isinstance(part, gast.Slice) \
                else [part]
            for b in bounds:
                if isinstance(b, gast.UnaryOp) and isinstance(b.op, gast.USub):
                    b = b.operand
                if b is None and isinstance(part, gast.Slice) or \
                        isinstance(b, gast.Constant) and type(b.value) is int:
                    continue
                if not (isinstance(b, gast.Name) and self.classes.get(b.id) == ()):
                    return False
        return True

    def accumulate(self, var: str, expr, container: bool = False):
        """`dvar = dvar + expr`; with plus() where var may hold a container (`container`:
        a callee says its parameter may)."""
        dvar = self.d(var)
        if container:
            self.maybe_trees.add(var)
        if var in self.trees or var in self.maybe_trees or \
                self.tuple_items.get(var) is not None:  # (a tuple: + would concatenate)
            return build.assign(dvar, build.call("plus", [build.name(dvar), expr]))
        added = build.assign(dvar, build.add(build.name(dvar), expr))
        ACCUMULATION[added] = True
        return added

    def seed_start(self, args, seed: str) -> list:
        """Where the output's seed comes from: a parameter `dout=1.0` added to `args`; or,
        for code that runs nested in another derivative (`grad(f)(x)` written inside a
        differentiated function: no caller passes a seed), when the output may be an
        array, the statement `dout = ones_seed(out)` that starts the backward pass: ones
        in a one-element output's shape (a scalar seed 1.0 would be summed or expanded
        along axes such an output does not have)."""
        if self.seed_from_output and self.classes.get(self.result) != ():
            return [build.assign(seed, build.call("ones_seed", [build.name(self.result)]))]
        seed_arg = build.name(seed, gast.Param())
        if args.kwonlyargs:
            args.kwonlyargs.append(seed_arg)
            args.kw_defaults.append(build.const(1.0))
        else:
            args.args.append(seed_arg)
            args.defaults.append(build.const(1.0))
        return []

    def returned_gradients(self) -> list:
        """The gradients returned, in wrt order; a complex argument's as `like_kinds(dp, p)`:
        complex, and its real leaves' (computed beside complex values) real, also when the
        code is differentiated again."""
        out = []
        for w in self.wrt:
            grad = build.name(self.d(w))
            if w in self.complex_params:
                grad = build.call("like_kinds", [grad, build.name(w)])
            out.append(grad)
        return out
