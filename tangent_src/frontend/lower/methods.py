"""Method calls and subscripts rewritten to the functions the rule tables know.

Before:  `x.sum(axis=0)`, `x.reshape(2, 3)`, `x.astype(float)`, `x.copy()`, `x.real`
After:   `np.sum(x, axis=0)`, `np.reshape(x, (2, 3))`, `1.0 * x`, `x`, `np.real(x)`
Also `model.predict(x)` (a user method) -> `Model_predict(model, x)`, a function passed
as an argument called by its own name, and `np.r_[a, 1:3]` -> `index_concat(np.r_, (a,
slice(1, 3)))`.
"""
from __future__ import annotations

import inspect
import operator
import re

import gast
import numpy

from ...core import build
from ...core.libraries import is_library_object
from ...core.walk import clone
from ..bindings import AttrRef, Guard
from .common import located

# NumPy's class of np.r_ and np.c_ (named here by its instance: its module moved in NumPy 2)
_AXIS_CONCATENATOR = type(numpy.r_).__mro__[1]


# array method -> how to call the NumPy function: (function, how the arguments pack)
ARRAY_METHODS = {
    "sum": ("sum", "same"), "mean": ("mean", "same"), "max": ("max", "same"),
    "min": ("min", "same"), "prod": ("prod", "same"), "std": ("std", "same"),
    "var": ("var", "same"), "cumsum": ("cumsum", "same"), "cumprod": ("cumprod", "same"),
    "all": ("all", "same"), "any": ("any", "same"), "argmax": ("argmax", "same"),
    "argmin": ("argmin", "same"), "ptp": ("ptp", "same"), "clip": ("clip", "same"),
    "dot": ("dot", "same"), "squeeze": ("squeeze", "same"), "round": ("round", "same"),
    "reshape": ("reshape", "shape"), "transpose": ("transpose", "shape"),
    "ravel": ("ravel", "flat"), "flatten": ("ravel", "flat"),
    "trace": ("trace", "same"), "diagonal": ("diagonal", "same"), "repeat": ("repeat", "same"),
    "take": ("take", "same"), "swapaxes": ("swapaxes", "same"), "conj": ("conjugate", "same"),
    "conjugate": ("conjugate", "same"), "nonzero": ("nonzero", "same"),
    "argsort": ("argsort", "same"),
}


# methods of np.random.RandomState / np.random.Generator that return new draws (not the
# in-place shuffle): on a local value they become random_draw(gen, "name", ...), which
# refuses any other object at run time
RANDOM_METHODS = frozenset(
    name for cls in (numpy.random.RandomState, numpy.random.Generator) for name in dir(cls)
    if not name.startswith("_") and name not in ARRAY_METHODS and name not in (
        "shuffle", "seed", "set_state", "get_state", "bit_generator", "spawn",
        "__getstate__", "__setstate__"))
_INTEGER_TYPES = ("int", "bool", "np.int64", "np.int32", "np.intp", "np.bool_", "np.int_",
                  "numpy.int64", "numpy.int32", "numpy.intp", "numpy.bool_", "numpy.int_")


def _dtype_kind(arg) -> str | None:
    """How `x.astype(arg)` is lowered: "float64" (`float`, `np.float64`, "float64": the
    value itself), "integer" (an integer or bool type or its name: no derivative), or None
    (another dtype: refused as a method call)."""
    dotted = build.dotted(arg)
    if dotted in ("float", "np.float64", "numpy.float64", "np.double", "numpy.double"):
        return "float64"
    if dotted in _INTEGER_TYPES:
        return "integer"
    if isinstance(arg, gast.Constant) and isinstance(arg.value, str):
        try:
            dtype = numpy.dtype(arg.value)
        except TypeError:
            return None
        if dtype == numpy.float64:
            return "float64"
        return "integer" if dtype.kind in "biu" else None
    return None


def _is_integer_type(obj) -> bool:
    """A NumPy integer or bool scalar type (np.int64, np.intp, np.bool_): calling one casts
    its argument (the builtins int and bool have rules of their own)."""
    return isinstance(obj, type) and issubclass(obj, (numpy.integer, numpy.bool_))


class _DictViews(gast.NodeTransformer):
    """See `Methods.dict_views`."""

    def __init__(self, methods: Methods):
        self.methods = methods

    def visit_Call(self, node):
        rewritten = self.methods.sorted_items(node)
        if rewritten is node:
            obj = self.methods.view_call(node)
            if obj is not None:
                keys = build.call(self.methods.lowerer.helper("dict_keys"), [obj])
                rewritten = self.methods.dict_items(obj, node.func.attr, keys, node)
        return self.generic_visit(rewritten)

    def visit_Lambda(self, node):
        return node  # its own scope: expanded (and rewritten) where it is called


# methods of scipy.stats distributions whose frozen form `dist(*p).f(x)` is `dist.f(x, *p)`
# (not rvs, expect, entropy: their own parameters come first or are keywords)
_DISTRIBUTION_METHODS = frozenset({"logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "logpmf",
                                   "pmf", "ppf", "isf"})


def _is_distribution(obj, frozen: bool) -> bool:
    """Whether `obj` is a scipy.stats distribution (frozen: one with fixed parameters),
    judged by its classes' names so the front end does not import SciPy."""
    names = {(c.__module__.split(".")[0], c.__name__) for c in type(obj).__mro__}
    if frozen:
        return ("scipy", "rv_frozen") in names or ("scipy", "multi_rv_frozen") in names
    return ("scipy", "rv_generic") in names or ("scipy", "multi_rv_generic") in names


class Methods(gast.NodeTransformer):
    """`x.sum(axis=0)` -> `np.sum(x, axis=0)`, `x.reshape(2, 3)` -> `np.reshape(x, (2, 3))`,
    `x.astype(float)` -> `1.0 * x`, `x.copy()` -> `x`: methods become the functions the
    rule tables know."""

    def __init__(self, lowerer):
        self.lowerer = lowerer

    def global_method(self, node):
        """`model.predict(x)` on a module-level object -> `Model_predict(model, x)`, so the
        method is differentiated like any user function (self.W reads the object)."""
        method = self.lowerer.resolve_dotted(node.func)
        if not (inspect.ismethod(method) and inspect.isfunction(method.__func__)):
            return node
        if _is_distribution(method.__self__, frozen=True):
            thawed = self.thaw(node, method.__self__)
            if thawed is not None:
                return thawed
            raise self.lowerer.parsed.unsupported(
                node, f"a method of the frozen distribution '{build.dotted(node.func.value)}'",
                "call the distribution's own method with the parameters, e.g. "
                "scipy.stats.norm.logpdf(x, loc, scale) instead of norm(loc, scale).logpdf(x) "
                "built outside the function")
        if is_library_object(method.__func__):  # a library method: needs a rule
            return node
        owner = type(method.__self__).__name__
        alias = f"{owner}_{method.__func__.__name__}"
        namespace = self.lowerer.parsed.namespace
        if namespace.setdefault(alias, method.__func__) is not method.__func__:
            return node
        call = gast.Call(func=build.name(alias), args=[node.func.value, *node.args],
                         keywords=node.keywords)
        return located(call, node)

    def dict_views(self, stmt) -> None:
        """Before hoisting (which turns comprehensions into loops): `d.items()` and
        `d.values()` of a local dict in the expressions `stmt` evaluates become list
        comprehensions over its keys, `sorted(d.items(), key=itemgetter(0))` one over its
        sorted keys. `for k, v in d.items():` itself stays (loops.py reads it by key)."""
        field = {gast.For: "iter", gast.If: "test", gast.While: "test"}.get(type(stmt),
                                                                            "value")
        expr = getattr(stmt, field, None)
        if not isinstance(expr, gast.AST) or not any(
                isinstance(n, gast.Attribute) and n.attr in ("items", "values")
                for n in gast.walk(expr)):
            return
        views = _DictViews(self)
        if isinstance(stmt, gast.For) and self.view_call(expr) is not None:
            expr.func.value = views.visit(expr.func.value)
            return
        setattr(stmt, field, views.visit(expr))

    def view_call(self, node):
        """The dict name of `d.items()` / `d.values()` (d a local name), or None."""
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and \
                node.func.attr in ("items", "values") and not node.args and \
                not node.keywords and isinstance(node.func.value, gast.Name) and \
                node.func.value.id in self.lowerer.locals:
            return node.func.value
        return None

    def dict_items(self, obj, method: str, keys, node):
        """`d.items()` -> `[(k, d[k]) for k in keys]`, `d.values()` -> `[d[k] for k in
        keys]`: a list whose values are read by key (each has its own derivative)."""
        key = self.lowerer.namer.fresh("key")
        self.lowerer.locals.add(key)
        read = gast.Subscript(value=clone(obj), slice=build.name(key), ctx=gast.Load())
        elt = read if method == "values" else gast.Tuple(elts=[build.name(key), read],
                                                          ctx=gast.Load())
        comp = gast.comprehension(target=build.name(key, gast.Store()), iter=keys, ifs=[],
                                  is_async=0)
        return located(gast.ListComp(elt=elt, generators=[comp]), node)

    def sorted_items(self, node):
        """`sorted(d.items())`, with `key=operator.itemgetter(0)` or `key=lambda kv: kv[0]`
        (the keys of a dict are distinct, so the order is the keys' order) -> `[(k, d[k])
        for k in sorted(dict_keys(d))]`; any other call as it is."""
        if not (isinstance(node.func, gast.Name) and len(node.args) == 1 and
                node.func.id not in self.lowerer.locals and
                self.lowerer.resolve_dotted(node.func) is sorted):
            return node
        inner = node.args[0]
        if self.view_call(inner) is None or inner.func.attr != "items":
            return node
        if any(k.arg != "key" or not self._first_item(k.value) for k in node.keywords):
            return node
        keys = build.call(build.name(node.func.id), [build.call(
            self.lowerer.helper("dict_keys"), [inner.func.value])])
        return self.dict_items(inner.func.value, "items", located(keys, inner), node)

    def _first_item(self, expr) -> bool:
        """`operator.itemgetter(0)` or `lambda p: p[0]`: a sort key reading item 0."""
        if isinstance(expr, gast.Lambda) and len(expr.args.args) == 1 and \
                isinstance(expr.body, gast.Subscript) and \
                isinstance(expr.body.value, gast.Name) and \
                expr.body.value.id == expr.args.args[0].id:
            index = build.index_value(expr.body.slice)
            return isinstance(index, gast.Constant) and index.value == 0
        if isinstance(expr, gast.Call) and len(expr.args) == 1 and not expr.keywords and \
                isinstance(expr.args[0], gast.Constant) and expr.args[0].value == 0 and \
                isinstance(expr.func, (gast.Name, gast.Attribute)) and \
                build.dotted(expr.func).split(".")[0] not in self.lowerer.locals:
            return self.lowerer.resolve_dotted(expr.func) is operator.itemgetter
        return False

    def unfreeze(self, node):
        """`norm(mu, sigma).logpdf(x)` -> `norm.logpdf(x, mu, sigma)`: a scipy.stats
        distribution frozen in the call is its module-level method with the frozen
        parameters after the method's own (None: not such a call)."""
        inner = node.func.value
        if not isinstance(inner, gast.Call) or self.is_method(inner.func) or \
                not isinstance(inner.func, (gast.Name, gast.Attribute)):
            return None
        dist = self.lowerer.resolve_dotted(inner.func)
        if node.func.attr not in _DISTRIBUTION_METHODS or \
                not _is_distribution(dist, frozen=False):
            return None
        func = gast.Attribute(value=inner.func, attr=node.func.attr, ctx=gast.Load())
        call = gast.Call(func=func, args=[*node.args, *inner.args],
                         keywords=[*node.keywords, *inner.keywords])
        return located(call, node)

    def thaw(self, node, frozen):
        """`RV.logpdf(x)` with a global `RV = norm(0, 2)` -> `RV.dist.logpdf(x, RV.args[0],
        RV.args[1])`: the distribution's own method with the frozen parameters read from
        the object (None: not a density/cdf method, or a multivariate frozen object)."""
        args, kwds = getattr(frozen, "args", None), getattr(frozen, "kwds", None)
        if node.func.attr not in _DISTRIBUTION_METHODS or not isinstance(args, tuple) or \
                not isinstance(kwds, dict) or not _is_distribution(
                    getattr(frozen, "dist", None), frozen=False):
            return None
        owner = node.func.value

        def field(name, key):
            return gast.Subscript(value=gast.Attribute(value=owner, attr=name, ctx=gast.Load()),
                                  slice=build.const(key), ctx=gast.Load())
        func = gast.Attribute(value=gast.Attribute(value=owner, attr="dist", ctx=gast.Load()),
                              attr=node.func.attr, ctx=gast.Load())
        call = gast.Call(func=func, args=[*node.args, *(field("args", i) for i in range(
            len(args)))], keywords=[*node.keywords, *(gast.keyword(arg=k, value=field(
                "kwds", k)) for k in kwds)])
        return located(call, node)

    def is_method(self, func) -> bool:
        if not isinstance(func, gast.Attribute):
            return False
        base = func.value
        while isinstance(base, gast.Attribute):
            base = base.value
        return not isinstance(base, gast.Name) or base.id in self.lowerer.locals

    def global_array_method(self, func) -> bool:
        """`X.dot(w)` with X a module-level ndarray (the data, as tutorials keep it): an
        array method, lowered as on a local array (`np.dot(X, w)`); the name X is
        recorded as resolved, so rebinding it makes the code stale."""
        return isinstance(func, gast.Attribute) and func.attr in ARRAY_METHODS and \
            isinstance(func.value, (gast.Name, gast.Attribute)) and \
            not self.is_method(func) and \
            type(self.lowerer.resolve_dotted(func.value)) is numpy.ndarray

    def bind(self, alias: str, value, node):
        namespace = self.lowerer.parsed.namespace
        if namespace.setdefault(alias, value) is not value:
            raise self.lowerer.parsed.unsupported(node, f"a call that needs the name '{alias}'",
                                                  f"rename the module's '{alias}'")
        self.lowerer.namer.reserve(alias)  # no temporary may shadow it
        return build.name(alias)

    def bind_function(self, target, node):
        """A name for a function passed as an argument (or a parameter's default): its own
        name unless a local variable or another global already has that name."""
        base = re.sub(r"\W", "_", getattr(target, "__name__", "") or "fn").strip("_") or "fn"
        if base in self.lowerer.locals or \
                self.lowerer.parsed.namespace.get(base, target) is not target:
            base = self.lowerer.namer.fresh(base)
        return self.bind(base, target, node)

    def visit_Subscript(self, node):
        """`np.r_[a, 1:3, b]` / `np.c_[...]` -> `index_concat(np.r_, (a, slice(1, 3), b))`:
        a call with rules, not a subscript of an object the transforms know nothing of."""
        node = self.generic_visit(node)
        if not isinstance(node.value, (gast.Name, gast.Attribute)) or \
                self.is_method(node.value) or (isinstance(node.value, gast.Name) and
                                               node.value.id in self.lowerer.locals):
            return node
        maker = self.lowerer.resolve_dotted(node.value)
        if not isinstance(maker, _AXIS_CONCATENATOR):
            return node
        items = build.index_value(node.slice)
        if not isinstance(items, gast.Tuple):
            items = gast.Tuple(elts=[items], ctx=gast.Load())
        for item in items.elts:
            if isinstance(item, gast.Constant) and item.value in ("r", "c"):
                raise self.lowerer.parsed.unsupported(
                    item,
                    f"'{item.value}' in {build.dotted(node.value)}[...] (it builds np.matrix)",
                    "use a directive such as '0,2' or '-1,2,0', which builds an ndarray")
        func = self.lowerer.helper("index_concat")
        return located(gast.Call(func=func, args=[node.value, items], keywords=[]), node)

    def visit_Attribute(self, node):
        """`x.real` / `x.imag` of a local value -> `np.real(x)` / `np.imag(x)` (np.real(obj)
        is obj.real for any obj), so the attribute goes through a rule like every other
        operation (and the complex ones: docs/conventions.md)."""
        node = self.generic_visit(node)
        if node.attr not in ("real", "imag") or not isinstance(node.ctx, gast.Load) or \
                not self.is_method(node):
            return node
        np_name = self.lowerer.numpy_name()
        call = gast.Call(func=gast.Attribute(value=build.name(np_name), attr=node.attr,
                                             ctx=gast.Load()), args=[node.value], keywords=[])
        return located(call, node)

    def visit_Call(self, node):
        node = self.generic_visit(node)
        func = node.func
        if isinstance(func, gast.Name) and func.id in self.lowerer.functions:
            target = self.lowerer.functions[func.id]  # a function passed as an argument
            call = gast.Call(func=self.bind_function(target, node), args=node.args,
                             keywords=node.keywords)
            return located(call, node)
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) and \
                func.value.id in self.lowerer.objects:
            cls = self.lowerer.objects[func.value.id]
            method = inspect.getattr_static(cls, func.attr, None)
            if inspect.isfunction(method):  # model.predict(x) -> Model_predict(model, x)
                alias = self.bind(f"{cls.__name__}_{func.attr}", method, node)
                # `Model.predict = ...` later makes the generated code stale
                self.lowerer.parsed.guards.append(Guard(AttrRef(cls, func.attr), method))
                call = gast.Call(func=alias, args=[func.value, *node.args],
                                 keywords=node.keywords)
                return located(call, node)
        on_global_array = self.global_array_method(func)  # (before resolving `X.dot`, a
        # new bound method at every read: guarded by identity, it would never match)
        if len(node.args) == 1 and not node.keywords and not on_global_array and \
                isinstance(func, (gast.Name, gast.Attribute)) and build.dotted(func) and \
                build.dotted(func).split(".")[0] not in self.lowerer.locals and \
                _is_integer_type(self.lowerer.resolve_dotted(func)):
            # np.int64(W[:, -1]): a cast to integers, piecewise constant (no derivative)
            call = build.call(self.lowerer.helper("as_integers"), [node.args[0], func])
            return located(call, node)
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Call):
            unfrozen = self.unfreeze(node)
            if unfrozen is not None:
                return unfrozen
        if isinstance(func, gast.Attribute) and not self.is_method(func) and \
                not on_global_array:
            return self.global_method(node)
        if not (self.is_method(func) or on_global_array) or (
                isinstance(func.value, gast.Name) and func.attr in ("append", "pop")):
            return node
        obj, method = func.value, func.attr
        np_name = None
        if method == "copy" and not node.args:
            return obj
        kind = _dtype_kind(node.args[0]) if method == "astype" and len(node.args) == 1 \
            and not node.keywords else None
        if kind == "float64":
            return gast.BinOp(left=build.const(1.0), op=gast.Mult(), right=obj)
        if kind == "integer":
            call = build.call(self.lowerer.helper("as_integers"), [obj, node.args[0]])
            return located(call, node)
        if method == "get" and 1 <= len(node.args) <= 2 and not node.keywords and \
                isinstance(obj, gast.Name) and isinstance(node.args[0], (gast.Name,
                                                                         gast.Constant)):
            # d.get(k, default) -> d[k] if dict_has(d, k) else default: each branch has
            # its own derivative, and the keys a dict holds are fixed when the code runs
            key = node.args[0]
            default = node.args[1] if len(node.args) > 1 else build.const(None)
            test = build.call(self.lowerer.helper("dict_has"), [obj, clone(key)])
            read = gast.Subscript(value=clone(obj), slice=clone(key), ctx=gast.Load())
            return located(gast.IfExp(test=test, body=read, orelse=default), node)
        if method == "keys" and not node.args and not node.keywords:
            return located(build.call(self.lowerer.helper("dict_keys"), [obj]), node)
        if method in RANDOM_METHODS:
            call = gast.Call(func=self.lowerer.helper("random_draw"),
                             args=[obj, build.const(method), *node.args],
                             keywords=node.keywords)
            return located(call, node)
        if method not in ARRAY_METHODS and method in _DISTRIBUTION_METHODS:
            raise self.lowerer.parsed.unsupported(
                node, f"method call '.{method}()' on a local value (a frozen distribution?)",
                f"call the scipy.stats distribution's method with its parameters, e.g. "
                f"scipy.stats.norm.{method}(x, loc, scale) instead of d = norm(loc, scale); "
                f"d.{method}(x)")
        if method not in ARRAY_METHODS:
            raise self.lowerer.parsed.unsupported(
                node, f"method call '.{method}()' on a local value",
                f"for an array call the NumPy function (np.{method}(x, ...)); for an object "
                f"call the class's function with it: ClassName.{method}(obj, ...)")
        np_name = self.lowerer.numpy_name()
        target, packing = ARRAY_METHODS[method]
        args = list(node.args)
        if packing == "shape" and len(args) > 1:
            args = [gast.Tuple(elts=args, ctx=gast.Load())]
        elif packing == "flat":
            target, args = "reshape", [gast.Tuple(elts=[build.const(-1)], ctx=gast.Load())]
        call = gast.Call(func=gast.Attribute(value=build.name(np_name), attr=target,
                                             ctx=gast.Load()),
                         args=[obj, *args], keywords=node.keywords)
        return located(call, node)
