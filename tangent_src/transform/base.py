"""What both transforms (reverse and forward) share: the errors for constructs without a
rule, the choices of a boolean operator, which names hold containers, and the globals a
user's rule reads."""
from __future__ import annotations

import gast
import numpy as np

from ..analysis.complexity import with_complex_args
from ..analysis.shapes import call_class, default_function_classes, is_function_value
from ..core import build
from ..core.kinds import Tree
from ..core.tables import HOOK
from ..core.walk import all_nodes, clone, walk
from ..errors import NoDerivativeRuleError, TangentError
from ..frontend.lower import is_list_method
from ..frontend.resolve import lookup
from ..frontend.source import ParsedFunction
from .array_sums import mark_sums


def bool_op_choices(value) -> list:
    """`a or b or c` -> [(a, a), (b, b), (None, c)]: (the test under which the operand is
    the result, the operand); for `and` the tests are `not a`, `not b`."""
    out = []
    for operand in value.values[:-1]:
        test = clone(operand)
        if isinstance(value.op, gast.And):
            test = gast.UnaryOp(op=gast.Not(), operand=test)
        out.append((test, operand))
    return out + [(None, value.values[-1])]


def no_rule_for_subscript(parsed: ParsedFunction, value):
    """`obj[index]` with a varying index of an object no rule knows (np.r_ and np.c_ are
    lowered to calls with rules; a constant table read at a varying index is not)."""
    label = build.dotted(value.value) or "this object"
    return parsed.error(
        NoDerivativeRuleError, value,
        f"no derivative rule for indexing {label} with a varying value",
        construct=f"{label}[...]",
        hint="an integer index: say so with int(...) (or a function registered with "
             "tangent_src.nondifferentiable); values: compute them with NumPy functions that "
             "have rules (np.concatenate, np.take, ...), or register one with "
             "@tangent_src.adjoint and @tangent_src.tangent")


def constant_read(value, varied) -> bool:
    """`obj[index]` with neither `obj` nor the index varying: a constant, whatever the
    target (varying through another assignment: the other branch of `d.get(k, x)`, the
    tangent `dx[3, 0, 1]` read in generated code that is differentiated again)."""
    return not any(isinstance(n, gast.Name) and n.id in varied for n in gast.walk(value))


def no_rule_for_attribute(parsed: ParsedFunction, value):
    """`x.flat`, `x.imag`, ... of a varying array: an attribute with no rule."""
    label = f"{build.dotted(value) or value.attr}"
    return parsed.error(
        NoDerivativeRuleError, value, f"no derivative rule for the array attribute {label}",
        construct=f".{value.attr}",
        hint="use a NumPy function with a rule instead (np.ravel(x), np.real(x), x.T, "
             "...), or wrap the computation in a function registered with "
             "@tangent_src.adjoint and @tangent_src.tangent")


def sequence_names(stmts) -> set:
    """Names that certainly hold a list or tuple built in the function: literals, list()/
    tuple() results, copies and concatenations of those (so `+` there concatenates)."""
    found: set = set()
    changed = True
    while changed:
        changed = False
        for node in walk(gast.Module(body=stmts, type_ignores=[])):
            if not isinstance(node, gast.Assign) or not isinstance(node.targets[0], gast.Name):
                continue
            value, name = node.value, node.targets[0].id
            sequence = isinstance(value, (gast.List, gast.Tuple)) or (
                isinstance(value, gast.Call) and isinstance(value.func, gast.Name) and
                value.func.id in ("list", "tuple")) or (
                isinstance(value, gast.Name) and value.id in found) or (
                isinstance(value, gast.BinOp) and isinstance(value.op, gast.Add) and any(
                    isinstance(v, gast.Name) and v.id in found
                    for v in (value.left, value.right)))
            if sequence and name not in found:
                found.add(name)
                changed = True
    return found


ITERATING_CALLS = ("enumerate", "zip", "reversed", "list", "tuple", "sorted")


def iterated_names(stmts, candidates: set) -> set:
    """The `candidates` that the statements iterate over (`for a in p`, through enumerate/
    zip/reversed, or lowered: `for i in range(len(p))`), unpack (`a, b = p`,
    `a, b = p[i]`) or read by a string key (`p['b']`): in code generated for any
    argument, these may be lists, tuples or dicts (arrays too: their adjoints then add
    with plus(), which adds arrays as `+` does)."""
    found = set()
    nodes = list(walk(gast.Module(body=stmts, type_ignores=[])))
    lengths = {n.targets[0].id: _len_argument(n.value) for n in nodes  # n = len(p)
               if isinstance(n, gast.Assign) and isinstance(n.targets[0], gast.Name)
               and _len_argument(n.value) is not None}
    for node in nodes:
        if isinstance(node, gast.Subscript) and isinstance(node.slice, gast.Constant) and \
                isinstance(node.slice.value, str):
            sources = [node.value]  # d['b']: a dict (a seed of a dict-valued function)
        elif isinstance(node, (gast.For, gast.comprehension)):
            sources = [node.iter]
            if isinstance(node.iter, gast.Call) and isinstance(node.iter.func, gast.Name) \
                    and node.iter.func.id in ITERATING_CALLS + ("range",):
                sources = list(node.iter.args)
            sources = [_len_argument(s) or (lengths.get(s.id) if isinstance(s, gast.Name)
                                            else None) or s for s in sources]
        elif isinstance(node, gast.Assign) and isinstance(node.targets[0],
                                                           (gast.Tuple, gast.List)):
            value = node.targets and node.value
            sources = [value.value if isinstance(value, gast.Subscript) else value]
        else:
            continue
        found |= {s.id for s in sources if isinstance(s, gast.Name) and s.id in candidates}
    return found


def _len_argument(node):
    """`p` for `len(p)`, else None."""
    if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
            node.func.id == "len" and len(node.args) == 1:
        return node.args[0]
    return None


def tree_names(stmts, trees: set) -> set:
    """Names that may hold a tuple, list or dict: from pytree arguments, their items, copies
    and container literals (flow-insensitive, to a fixed point)."""
    trees = set(trees)
    changed = True
    while changed:
        changed = False
        for node in walk(gast.Module(body=stmts, type_ignores=[])):
            if isinstance(node, gast.Expr) and is_list_method(node.value, "append"):
                tape, item = node.value.func.value.id, node.value.args[0]
                if isinstance(item, gast.Name) and item.id in trees and \
                        f"{tape}<items>" not in trees:
                    trees.add(f"{tape}<items>")  # the tape holds containers
                    changed = True
                continue
            keyed = _keyed_container(node)
            if keyed is not None and keyed not in trees:
                trees.add(keyed)  # indexed by a string: a dict (a dict-valued output's seed)
                changed = True
                continue
            if not isinstance(node, gast.Assign) or not isinstance(node.targets[0], gast.Name):
                continue
            if is_list_method(node.value, "pop") and \
                    f"{node.value.func.value.id}<items>" in trees and \
                    node.targets[0].id not in trees:
                trees.add(node.targets[0].id)
                changed = True
                continue
            value, name = node.value, node.targets[0].id
            tree = isinstance(value, (gast.Tuple, gast.List, gast.Dict)) or (
                isinstance(value, gast.Call) and isinstance(value.func, gast.Name) and
                value.func.id in ("set_at", "zero_at", "plus", "add_at", "zeros_like",
                                  "copy_of") and value.args and
                _tree_atom(value.args[0], trees)) or (
                isinstance(value, gast.Call) and isinstance(value.func, gast.Name) and
                value.func.id in ("list", "tuple", "dict_keys")) or (
                isinstance(value, gast.Attribute) and isinstance(value.value, gast.Name)
                and value.value.id in trees and value.attr != "T") or (
                isinstance(value, gast.Name) and value.id in trees) or (
                isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name)
                and value.value.id in trees)
            if tree and name not in trees:
                trees.add(name)
                changed = True
            if name in trees:
                changed |= _same_structure(value, trees)
    return trees


def _same_structure(value, trees: set) -> bool:
    """Add to `trees` the names whose structure `value`, a container, has: the first
    argument of set_at/zero_at/add_at (they keep it) and both of plus (a container plus
    a container). Whether any was added."""
    if isinstance(value, gast.Name):
        if value.id in trees:
            return False
        trees.add(value.id)
        return True
    if not (isinstance(value, gast.Call) and isinstance(value.func, gast.Name)):
        return False
    if value.func.id in ("set_at", "zero_at", "add_at") and value.args:
        return _same_structure(value.args[0], trees)
    if value.func.id == "plus" and len(value.args) == 2:
        first = _same_structure(value.args[0], trees)
        return _same_structure(value.args[1], trees) or first
    return False


def _keyed_container(node) -> str | None:
    """The name `d` of a call `set_at(d, 'key', ...)` (zero_at, written_at, read_at): an
    index that is a string literal means d is a dict (or an object's fields)."""
    if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
            node.func.id in ("set_at", "zero_at", "written_at", "read_at") and \
            len(node.args) >= 2 and isinstance(node.args[0], gast.Name) and \
            isinstance(node.args[1], gast.Constant) and isinstance(node.args[1].value, str):
        return node.args[0].id
    return None


def _tree_atom(atom, trees: set) -> bool:
    """A name of `trees`, or zeros_like/copy_of of one (`set_at(zeros_like(d), k, g)`)."""
    if isinstance(atom, gast.Call) and isinstance(atom.func, gast.Name) and \
            atom.func.id in ("zeros_like", "copy_of") and len(atom.args) == 1:
        atom = atom.args[0]
    return isinstance(atom, gast.Name) and atom.id in trees


def describe(func) -> str:
    module = getattr(func, "__module__", None)
    kind = type(func).__name__
    return f"a {kind} from {module}" if module else f"a {kind}"


def adopt_globals(parsed: ParsedFunction, template, nodes) -> None:
    """A user's rule may read names of its own module (e.g. `math`): make them visible."""
    for node in nodes:
        for sub in walk(node):
            if isinstance(sub, gast.Name) and sub.id not in parsed.namespace and \
                    sub.id in template.namespace:
                parsed.namespace[sub.id] = template.namespace[sub.id]


class SharedQueries:
    """Questions both transforms ask of the function they transform (they set `classes`,
    `trees`, `tree_classes` and `mutable`)."""

    complex_params: frozenset = frozenset()  # parameters that receive complex values

    def shape(self, atom):
        """The shape class of an atom (see analysis/shapes.py)."""
        if isinstance(atom, gast.Name):
            return self.classes.get(atom.id)
        if isinstance(atom, gast.Constant) and isinstance(atom.value, (int, float, bool)):
            return ()
        return None

    def mark_user_sums(self, body: list) -> None:
        """The function's own np.sum calls of array-class names: ARRAY_SUM, so the Python
        back end prints them as `x.sum()` (transform/array_sums.py). Not in the body of a
        gradient-surgery hook, whose names may stand for adjoints the user replaced."""
        hooked = {id(n) for s in all_nodes(body) if s in HOOK for n in walk(s)}
        mark_sums(body, self.classes, is_sum=lambda call: id(call) not in hooked and
                  self._is_np_sum(call))

    def _is_np_sum(self, call) -> bool:
        dotted = build.dotted(call.func) or ""
        if dotted.rpartition(".")[2] != "sum" or dotted.split(".")[0] in self.classes:
            return False  # (a method of a local value, never NumPy's function)
        try:
            return self.resolve(call.func) is np.sum
        except TangentError:
            return False

    def _item_class(self, atom):
        """The class of `data[i]` when `data` is a list parameter (never rebound) whose
        items share a class (analysis/kinds.py), else None."""
        base = atom.value
        tree = self.tree_classes.get(base.id) if isinstance(base, gast.Name) else None
        if not isinstance(tree, Tree) or isinstance(atom.slice, gast.Slice) or \
                self.shape(atom.slice) != ():
            return None
        rebound = getattr(self, "_rebound", None)
        if rebound is None:
            rebound = self._rebound = {n.id for n in walk(self.core) if isinstance(
                n, gast.Name) and isinstance(n.ctx, gast.Store)}
        return None if base.id in rebound else tree.item

    def call_class(self, atom):
        """The class a user function called with `atom` is specialized to."""
        name = atom.id if isinstance(atom, gast.Name) else None
        cls = self._item_class(atom) if isinstance(atom, gast.Subscript) else self.shape(atom)
        return call_class(cls, name, self.trees, self.tree_classes, self.mutable)

    def call_classes(self, func, bound) -> tuple:
        """(parameter, class) of a call of the user function `func`: each argument's class,
        a function passed by its global name (`nonlinearity=softplus`) as that function,
        and the function-valued defaults the call leaves (`nonlinearity=np.tanh`); marked
        with the parameters that receive values that may be complex."""
        local = getattr(self, "_local_names", None)
        if local is None:
            local = self._local_names = {
                n.id for n in walk(self.core) if isinstance(n, gast.Name) and
                isinstance(n.ctx, (gast.Store, gast.Param, gast.Del))}
        out = []
        for p, v in bound.arguments.items():
            cls = self.call_class(v)
            dotted = build.dotted(v) if isinstance(v, (gast.Name, gast.Attribute)) else None
            if isinstance(v, gast.Constant) and type(v.value) is str:
                cls = ("string", v.value)  # layer(x, "tanh"): the callee's table key
            if cls is None and dotted and dotted.split(".")[0] not in local:
                value = lookup(self.parsed, v)
                if is_function_value(value):
                    cls = ("function", value)
            out.append((p, cls))
        complex_names = self.complex.names if hasattr(self, "complex") else ()
        maybe_complex = [p for p, v in bound.arguments.items() if
                         isinstance(v, gast.Name) and v.id in complex_names or
                         isinstance(v, gast.Constant) and isinstance(v.value, complex)]
        return with_complex_args(tuple(out) + default_function_classes(func, bound.arguments),
                                 maybe_complex)
