"""Which values may be complex, and which statements differentiate a complex value.

A name may be complex when a complex constant, an FFT (`REGISTRY.complex_sources`) or an
operation on a maybe-complex operand assigns it, unless the operation returns real values
(np.real, np.abs, np.fft.irfft: `REGISTRY.real_results`). Flow-insensitive, so conservative
in loops. A statement that assigns a differentiated name and reads a maybe-complex value is
*complex*: its rule must be one audited for complex values (`REGISTRY.complex_audited`),
otherwise ComplexValueError is raised at it. Everything else keeps the real rules, so code
without complex values is generated exactly as before.

    z = np.fft.rfft(x)      # complex (a source)
    p = np.abs(z)           # real result; a complex statement (abs's complex rule)
    q = np.arcsin(z)        # refused: arcsin's rule is not audited for complex values

Complex arguments: the specialization key (the arguments' shape classes) carries a
`(COMPLEX_ARGS, names)` entry naming the parameters that receive complex values; those are
sources too, as are complex globals and closure values. Real calls have no such entry, so
their key and their code are unchanged.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import gast
import numpy as np

from ..core.walk import walk
from ..errors import ComplexValueError
from ..frontend.bindings import FixedRef, ShapeGuard
from ..frontend.source import is_user_function
from ..rules.registry import COPY, REGISTRY
from .activity import is_nondifferentiable

_METADATA = ("shape", "ndim", "size", "dtype", "real", "imag")  # real/imag are lowered
# no-derivative functions whose result has their argument's dtype
_LIKE = (np.zeros_like, np.ones_like, np.empty_like, np.full_like)
_HINT = ("complex values may flow through the rules audited for them (docs/conventions.md "
         "'Complex numbers': np.fft, holomorphic functions, powers, products, sums, "
         "shaping, norms...); write the rest in real arithmetic (real and imaginary parts)")


COMPLEX_ARGS = "<complex arguments>"  # the key entry naming the complex parameters


def with_complex_args(classes: tuple, names) -> tuple:
    """`classes` (a specialization key) marked with the parameters that are complex."""
    return classes + ((COMPLEX_ARGS, frozenset(names)),) if names else classes


def split_complex_args(classes: tuple, params: list | None = None) -> tuple[tuple, frozenset]:
    """(the shape classes without the mark, the complex parameters) of a key. The mark
    names parameters, or gives the positions of extra arguments (a seed or tangents that
    a generated function being differentiated again takes): `params` names those."""
    marks = [c for c in classes if c[0] == COMPLEX_ARGS]
    if not marks:
        return classes, frozenset()
    marked = marks[0][1]  # (entries may have been added after it)
    names = {p for p in marked if isinstance(p, str)}
    if params is not None:
        names |= {params[p] for p in marked if isinstance(p, int) and p < len(params)}
    return tuple(c for c in classes if c[0] != COMPLEX_ARGS), frozenset(names)


@dataclass
class ComplexFacts:
    names: set = field(default_factory=set)        # names that may hold complex values
    statements: set = field(default_factory=set)   # ids of complex statements

    def involved(self, stmt) -> bool:
        return id(stmt) in self.statements


def _key(value, resolve):
    """The rule key of an assignment's value (None for structure: containers, reads)."""
    if isinstance(value, gast.Name):
        return COPY
    if isinstance(value, (gast.BinOp, gast.UnaryOp)):
        return type(value.op)
    if isinstance(value, gast.Call):
        try:
            return resolve(value.func)
        except Exception:  # noqa: BLE001 - an unresolvable callee has no rule anyway
            return None
    return None


def _like_operand(value, key):
    """The operand whose kinds the result of a `REGISTRY.like_kinded` helper has
    (`real_like(g, like)`: real where `like` is real, whatever `g` is), else None."""
    if not isinstance(value, gast.Call) or key is None:
        return None
    for func, position in REGISTRY.like_kinded:
        if key is func and len(value.args) > position:
            return value.args[position]
    return None


def _has_complex_constant(expr) -> bool:
    return any(isinstance(c, gast.Constant) and isinstance(c.value, complex)
               for c in walk(expr))


def _result_complex(value, key, operands: bool) -> bool:
    if isinstance(value, (gast.Compare, gast.BoolOp)) or (
            isinstance(value, gast.UnaryOp) and isinstance(value.op, gast.Not)):
        return False
    if isinstance(value, gast.Attribute) and value.attr in _METADATA:
        return False  # .shape, .ndim...
    if key is not None and _safe_in(key, REGISTRY.real_results):
        return False
    if isinstance(value, gast.Call) and is_nondifferentiable(key):
        return operands and any(key is f for f in _LIKE)
    if key is not None and _safe_in(key, REGISTRY.complex_sources):
        return True
    return operands or _has_complex_constant(value)


def _safe_in(key, table) -> bool:
    try:
        return key in table
    except TypeError:
        return False


def complex_facts(body: list, resolve, params_complex: set = frozenset(),
                  parsed=None) -> ComplexFacts:
    """The names that may be complex (a fixed point over every assignment): the complex
    parameters, free names of `parsed` bound to complex values (a global or closure
    array), and what they flow into."""
    free = _free_complex(body, parsed, bool(params_complex)) if parsed is not None else set()
    facts = ComplexFacts(names=set(params_complex) | free)
    changed = True
    while changed:
        changed = False
        for node in walk(gast.Module(body=body, type_ignores=[])):
            target = None
            if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name):
                target, value = node.targets[0].id, node.value
                if isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) \
                        and value.func.attr == "pop":
                    value = value.func.value  # x = tape.pop(): complex if the tape is
            elif isinstance(node, gast.Expr) and isinstance(node.value, gast.Call) and \
                    isinstance(node.value.func, gast.Attribute) and \
                    node.value.func.attr == "append" and node.value.args:
                target, value = build_name(node.value.func.value), node.value.args[0]
            if target is None or target in facts.names:
                continue
            reads = {n.id for n in walk(value) if isinstance(n, gast.Name)}
            key = _key(value, resolve)
            like = _like_operand(value, key)
            if like is not None:  # the kinds of `like`: complex only where it is
                reads = {n.id for n in walk(like) if isinstance(n, gast.Name)}
            if _result_complex(value, key, bool(reads & facts.names)):
                facts.names.add(target)
                changed = True
    return facts


def _free_complex(body: list, parsed, guard_real: bool) -> set:
    """Names read but never assigned in `body` whose value (a global or closure cell)
    holds a complex number: sources, like a complex argument. Code specialized to complex
    arguments (`guard_real`) is regenerated when a real one of them becomes complex (the
    real arguments' code needs no guard: a complex gradient of a real argument is refused
    after the call)."""
    module = gast.Module(body=body, type_ignores=[])
    assigned = {n.id for n in walk(module) if isinstance(n, gast.Name)
                and isinstance(n.ctx, (gast.Store, gast.Param))}
    found = set()
    for name in sorted({n.id for n in walk(module) if isinstance(n, gast.Name)} - assigned):
        value = parsed.namespace.get(name)
        if not isinstance(value, (complex, float, np.number, np.ndarray, tuple, list, dict)):
            continue
        if holds_complex_value(value):
            found.add(name)
        ref = parsed.ref(name)
        if ref is not None and (guard_real or name in found):
            parsed.guards.append(ShapeGuard(ref, value, holds_complex_value))
    return found


def holds_complex_value(value) -> bool:
    """A complex number or array, or a tuple/list of them (a module, a function: no)."""
    if isinstance(value, (complex, np.complexfloating)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "c"
    if isinstance(value, (tuple, list)):
        return any(holds_complex_value(v) for v in value)
    if isinstance(value, dict):
        return any(holds_complex_value(v) for v in value.values())
    return False


def build_name(node) -> str | None:
    return node.id if isinstance(node, gast.Name) else None


def check_complex_statements(parsed, body: list, varied: set, resolve,
                             facts: ComplexFacts, namer=None) -> None:
    """Record the complex statements of `body` in `facts`; refuse one whose rule is not
    audited for complex values (ComplexValueError, located at the statement). A call of a
    transform's code generated for real arguments that is passed complex values calls
    the code generated for them instead (`respecialize_transform_call`, given `namer`)."""
    for node in walk(gast.Module(body=body, type_ignores=[])):
        if not (isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name)
                and node.targets[0].id in varied):
            continue
        value = node.value
        reads = {n.id for n in walk(value) if isinstance(n, gast.Name)}
        key = _key(value, resolve)
        source = key is not None and _safe_in(key, REGISTRY.complex_sources)
        if not (reads & facts.names or _has_complex_constant(value) or source):
            continue
        if not reads & varied or isinstance(value, (gast.Compare, gast.Constant)):
            continue
        facts.statements.add(id(node))
        if _structural(value) or (key is not None and REGISTRY.complex_audited(key)) or \
                (isinstance(value, gast.Call) and is_nondifferentiable(key)):
            continue
        if isinstance(value, gast.Call) and is_user_function(key) and \
                REGISTRY.lookup(REGISTRY.adjoints, key) is None and \
                getattr(key, "__tangent_src_complex__", None) != frozenset():
            continue  # generated for the complex values it is passed (call_classes)
        if getattr(key, "__tangent_src_complex__", None) == frozenset():
            if namer is not None and respecialize_transform_call(parsed, value, key, facts,
                                                                 namer):
                continue
            raise parsed.error(
                ComplexValueError, value, "a complex value is passed to the generated code "
                "of a transform called here, which was generated for real arguments",
                construct="call of a transform", hint="take the derivative outside the "
                "function instead: grad(grad(f)), hvp(f), jvp(grad(f), ...)")
        label = build_label(value)
        raise parsed.error(
            ComplexValueError, value,
            f"a complex value meets a differentiated value in {label}, whose derivative "
            "rule is written for real arguments", construct=label, hint=_HINT)


def respecialize_transform_call(parsed, call, generated, facts: ComplexFacts, namer) -> bool:
    """Point `call` of a transform's generated code (frontend/lower/nested.py: written
    for real arguments) at the code the same transform generates for the parameters that
    receive maybe-complex values here, bound to a fresh fixed name of `parsed`: its
    statements then use the complex rules, and the caller differentiates it as a callee
    specialized to complex arguments. False when `generated` cannot be regenerated."""
    respecialize = getattr(generated, "__tangent_src_respecialize__", None)
    if respecialize is None or not isinstance(call.func, gast.Name):
        return False
    params = list(inspect.signature(generated).parameters)
    maybe = [(params[k] if k < len(params) else None, arg) for k, arg in enumerate(call.args)]
    maybe += [(kw.arg, kw.value) for kw in call.keywords]
    names = frozenset(param for param, arg in maybe if param is not None and (
        _has_complex_constant(arg) or
        any(isinstance(n, gast.Name) and n.id in facts.names for n in walk(arg))))
    if not names:
        return False
    replacement = respecialize(names)
    name = namer.fresh(f"{call.func.id}_complex")
    namer.reserve(name)
    old = parsed.ref(call.func.id)
    parsed.fixed[name] = FixedRef(replacement, getattr(old, "what", ""),
                                  getattr(old, "func", None))
    parsed.namespace[name] = replacement
    call.func = gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)
    gast.copy_location(call.func, call)
    return True


def _structural(value) -> bool:
    """Reads and containers: their adjoints move values without arithmetic."""
    if isinstance(value, (gast.Subscript, gast.Tuple, gast.List, gast.Name)):
        return True
    if isinstance(value, gast.Attribute):
        return True  # .T, or an object's field
    return isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) and \
        value.func.attr == "pop"


def build_label(value) -> str:
    if isinstance(value, gast.Call):
        func = value.func
        parts = []
        while isinstance(func, gast.Attribute):
            parts.append(func.attr)
            func = func.value
        if isinstance(func, gast.Name):
            parts.append(func.id)
        return ".".join(reversed(parts)) or "a call"
    if isinstance(value, (gast.BinOp, gast.UnaryOp)):
        return f"the operator {type(value.op).__name__}"
    return type(value).__name__
