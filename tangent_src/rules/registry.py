"""One registry of derivative rules, keyed by the Python object (or operator class) they cover.

A rule is a template: a function whose first parameter is the result and whose
other parameters are the call's arguments; `d[x]` names the adjoint (reverse
mode) or tangent (forward mode) of `x`. Templates are parsed once and
instantiated into generated code by substituting names.
"""
from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass, field

import gast


class _D:
    """`d[x]` placeholder so that templates are valid Python; never evaluated."""

    def __getitem__(self, key):  # pragma: no cover - templates are parsed, not run
        raise RuntimeError("rule templates are instantiated, not called")


d = _D()

# Keys for core-language operations that are not Python objects.
SUBSCRIPT = "subscript"
TUPLE = "tuple"
COPY = "copy"


@dataclass
class Template:
    """A parsed rule: parameter names, keyword defaults (as gast) and body statements."""

    key: object
    params: list[str]
    defaults: dict[str, object]
    body: list
    signature: inspect.Signature
    notes: str = ""
    namespace: dict = field(default_factory=dict)  # globals the template's code may read


# What defines a scipy.stats distribution's mathematics besides its class: its support and
# shape parameters (a frozen distribution's `.dist` is a new instance with the same ones).
_DISTRIBUTION_STATE = ("a", "b", "name", "shapes")


def _same_distribution(one, other) -> bool:
    missing = object()
    return all(getattr(one, k, missing) is not missing and
               getattr(one, k, missing) == getattr(other, k, missing)
               for k in _DISTRIBUTION_STATE)


class RuleTable(dict):
    """Rules by key. A bound method (`scipy.stats.norm.logpdf`) also finds the rule of the
    same method of another instance of its class with the same support and shapes: the copy
    a frozen distribution holds (`norm(0, 1).dist.logpdf`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.methods: dict = {}  # (class, function) -> registered bound methods

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        if inspect.ismethod(key) and not isinstance(key.__self__, type):
            self.methods.setdefault((type(key.__self__), key.__func__), []).append(key)

    def canonical(self, key):
        """The registered key `key` stands for (itself when it is registered or no copy)."""
        if dict.__contains__(self, key) or not inspect.ismethod(key):
            return key
        for known in self.methods.get((type(key.__self__), key.__func__), ()):
            if _same_distribution(known.__self__, key.__self__):
                return known
        return key

    def get(self, key, default=None):
        return dict.get(self, self.canonical(key), default)

    def __contains__(self, key) -> bool:
        return dict.__contains__(self, self.canonical(key))

    def __getitem__(self, key):
        return dict.__getitem__(self, self.canonical(key))


@dataclass
class Registry:
    adjoints: dict = field(default_factory=RuleTable)
    tangents: dict = field(default_factory=RuleTable)
    nondifferentiable: set = field(default_factory=set)
    # complex values (docs/conventions.md "Complex numbers"): in a statement where a value
    # may be complex, only these rules apply -- a key of complex_adjoints/complex_tangents
    # (its complex-correct rule), or of complex_safe (its own rule is complex-correct);
    # complex_sources may return complex values from real ones, real_results return real
    # values from complex ones.
    complex_adjoints: dict = field(default_factory=RuleTable)
    complex_tangents: dict = field(default_factory=RuleTable)
    complex_safe: set = field(default_factory=set)
    complex_sources: set = field(default_factory=set)
    real_results: set = field(default_factory=set)
    # (function, position): helpers whose result is complex only where the argument at
    # `position` is (real_like(g, like): the real part of g for a real `like`)
    like_kinded: list = field(default_factory=list)
    # rules whose result may be a tuple of arrays (np.gradient along several axes): forward
    # mode sums their tangent contributions item by item (`plus`), not with `+`, which
    # would concatenate the tuples
    sequence_results: set = field(default_factory=set)

    def complex_audited(self, key) -> bool:
        """Whether a statement of `key` may meet complex values (see the fields above)."""
        try:
            return key in self.complex_safe or key in self.complex_adjoints
        except TypeError:  # unhashable callee
            return False

    def lookup(self, table: dict, key):
        try:
            return table.get(key)
        except TypeError:  # unhashable callee
            return None


REGISTRY = Registry()


class _PlainD(gast.NodeTransformer):
    """`tangent_src.d[x]` in a user's template means `d[x]`."""

    def visit_Subscript(self, node):
        node = self.generic_visit(node)
        if isinstance(node.value, gast.Attribute) and node.value.attr == "d":
            node.value = gast.Name(id="d", ctx=gast.Load(), annotation=None, type_comment=None)
        return node


def _parse_template(key, func) -> Template:
    src = textwrap.dedent(inspect.getsource(func))
    node = _PlainD().visit(gast.parse(src).body[0])
    sig = inspect.signature(func)
    params = list(sig.parameters)
    defaults = {}
    for name, p in sig.parameters.items():
        if p.default is not inspect.Parameter.empty:
            defaults[name] = gast.Constant(value=p.default, kind=None) \
                if isinstance(p.default, (int, float, str, bool, type(None))) else p.default
    return Template(key, params, defaults, node.body, sig, inspect.getdoc(func) or "",
                    dict(func.__globals__))


def template_from_source(key, params: str, body: str) -> Template:
    """Build a template from a parameter list and body text (used by the rule tables)."""
    src = f"def _({params}):\n" + textwrap.indent(body, "    ")
    namespace: dict = {}
    exec(compile(src, "<rule>", "exec"), namespace)  # only to get an inspect.Signature
    func = namespace["_"]
    node = gast.parse(src).body[0]
    sig = inspect.signature(func)
    defaults = {n: gast.Constant(value=p.default, kind=None)
                for n, p in sig.parameters.items() if p.default is not inspect.Parameter.empty}
    return Template(key, list(sig.parameters), defaults, node.body, sig)


def adjoint(*keys):
    """Register a reverse-mode rule template for `keys`: `@adjoint(np.tanh) def _(y, x): ...`."""
    def register(func):
        for key in keys:
            REGISTRY.adjoints[key] = _parse_template(key, func)
        return func
    return register


def tangent(*keys):
    """Register a forward-mode rule template for `keys`."""
    def register(func):
        for key in keys:
            REGISTRY.tangents[key] = _parse_template(key, func)
        return func
    return register


def nondifferentiable(*keys):
    """Declare that `keys` have zero derivative (their results carry no gradient)."""
    for key in keys:
        REGISTRY.nondifferentiable.add(key)
    return keys[0] if len(keys) == 1 else keys


def register_template(table: dict, key, params: str, body: str) -> None:
    table[key] = template_from_source(key, params, body)
