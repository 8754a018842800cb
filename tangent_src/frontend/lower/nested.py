"""Derivatives taken inside a differentiated function: a call of a transform (`dE(x)` with
`dE = tangent_src.grad(energy)`, or `tangent_src.grad(energy)(x)` written in place) calls the
transform's generated code instead -- plain Python read from its source like any user
function, so it is differentiated again (how `grad(grad(f))` works).

Before:  `g = tangent_src.grad(energy)(x)` (or `dE = tangent_src.grad(energy); g = dE(x)`);
         `penalty = np.sum(g ** 2)`
After:   `value_and_grad = denergy(x)`; `check_output(np.size(value_and_grad[0]) == 1, ...)`;
         `g = value_and_grad[1]` -- `denergy` the generated code of value_and_grad(energy)
         (general, specialized to no shapes), bound to a fixed name of the generated
         module; the value is checked to be a scalar (or one element) where
         grad(energy)(x) checks it, and the code seeds itself with ones in the value's
         shape, as grad does.

The transform is built where the differentiated function is lowered, so everything it is
built from must be fixed there: the callee and each argument a module-level name, a
dotted name or a constant (never a local value). A transform object exposes its code
through `__tangent_src_callee__`; a transform constructor (grad, value_and_grad) is
marked by `__tangent_src_transform__` -- so the front end needs no import of the API.
"""
from __future__ import annotations

import gast

from ...core import build
from ...errors import TangentError
from ..bindings import FixedRef, FunctionGuard
from .common import located
from .lift import as_def, free_names, lifted_function, thin_transform_wrapper


class NestedTransforms:
    """Lowerer's part for transforms called inside the function (see the module docstring)."""

    def hoist_transform_calls(self, node) -> list:
        """For each transform call the statement `node` evaluates itself (not under a
        lambda, comprehension or conditional: those become statements of their own and
        come back here): the statements computing it before `node`, the call replaced by
        their result. A grad's value is checked to be a scalar there, as grad checks."""
        field = {gast.For: "iter", gast.If: "test"}.get(type(node), "value")
        if not isinstance(node, (gast.Assign, gast.AugAssign, gast.AnnAssign, gast.Return,
                                 gast.Expr, gast.For, gast.If)) or \
                getattr(node, field, None) is None:
            return []
        pre: list = []
        setattr(node, field, _Replace(self, pre).visit(getattr(node, field)))
        return pre

    def transform_call(self, call, pre: list):
        """The expression standing for `call` of a transform (statements go to `pre`), or
        None when `call` calls no transform."""
        transform = self._transform_of(call.func)
        if transform is None:
            return None
        try:
            generated, source_function, reads = transform.__tangent_src_callee__(
                self._known_arguments(call))
        except TangentError as exc:
            raise self.parsed.unsupported(
                call.func, f"differentiating through {transform.__name__} ({exc})",
                "differentiate a function that calls the original function instead") from exc
        if source_function is not None and hasattr(source_function, "__code__"):
            self.parsed.guards.append(FunctionGuard(source_function))  # its code: stale
        name = self.namer.fresh(generated.__name__)
        self.namer.reserve(name)
        self.parsed.fixed[name] = FixedRef(generated, f"the generated code of "
                                           f"{transform.__name__}", source_function)
        self.parsed.namespace[name] = generated
        call.func = located(build.name(name), call.func)
        call.args = list(call.args) + [located(build.name(c), call)
                                       for c in self.__dict__.pop("lifted_captures", [])]
        if reads is None:
            return call
        pair = self.namer.fresh("value_and_grad")
        self.locals.add(pair)
        pre.append(located(build.assign(pair, call), call))
        value = gast.Subscript(value=build.name(pair), slice=build.const(0), ctx=gast.Load())
        # a scalar or an array of one element, as grad(f)(x) accepts (values.output_seed)
        scalar = gast.Compare(left=build.attr_call(self.numpy_name(), "size", [value]),
                              ops=[gast.Eq()], comparators=[build.const(1)])
        owner = getattr(source_function, "__name__", "f")
        message = build.const(f"{reads} requires {owner} to return a scalar")
        check = located(gast.Call(func=self.helper("check_output"), args=[scalar, message],
                                  keywords=[]), call)
        pre.extend(self.effect(call, check))
        if reads == "value_and_grad":
            return located(build.name(pair), call)
        return located(gast.Subscript(value=build.name(pair), slice=build.const(1),
                                      ctx=gast.Load()), call)

    def _known_arguments(self, call) -> dict:
        """Position -> class of the arguments of `call` that this function knows more of
        than their shapes (a parameter that is a dict, an object, a function or a string
        at this specialization; a name assigned a dict display): the transform's code is
        specialized to them (`sorted(d)` in it reads a dict's keys)."""
        known = {}
        for k, arg in enumerate(call.args):
            if isinstance(arg, gast.Starred):
                break
            name = arg.id if isinstance(arg, gast.Name) else None
            if name in self.dicts:
                known[k] = "dict"
            elif name in self.objects:
                known[k] = ("object", self.objects[name])
            elif name in self.functions:
                known[k] = ("function", self.functions[name])
            elif name in self.strings:
                known[k] = ("string", self.strings[name])
        return known

    def builds_transform(self, expr) -> bool:
        """`expr` calls a transform constructor (`grad(energy)`): a name assigned it once
        is an alias of the transform, built where the name is called (`dE(x)`)."""
        if not (isinstance(expr, gast.Call) and isinstance(expr.func,
                                                           (gast.Name, gast.Attribute))):
            return False
        maker = self._fixed_value(expr.func)
        if getattr(maker, "__tangent_src_transform__", False):
            return True
        memo = self.__dict__.setdefault("_thin_wrappers", {})  # each callee parsed once
        try:
            if maker not in memo:
                memo[maker] = self._is_maker(maker)
            return memo[maker]
        except TypeError:  # an unhashable value
            return self._is_maker(maker)

    def _transform_of(self, func):
        """The transform object `func` is: a name or dotted name bound to one, or a call
        of a transform constructor on fixed values (also through a local alias of that
        call, `dE = grad(energy)`); else None."""
        spec = self.aliases.get(func.id) if isinstance(func, gast.Name) else None
        if spec is not None:
            return self._transform_of(spec[1]) if spec[0] == "call" and \
                self.builds_transform(spec[1]) and not spec[2] and not spec[3] else None
        if isinstance(func, (gast.Name, gast.Attribute)):
            dotted = build.dotted(func)
            if not dotted or dotted.split(".")[0] in self.locals or \
                    dotted in self.local_functions:
                return None
            found = self.resolve_dotted(func)
            return found if hasattr(found, "__tangent_src_callee__") else None
        if not isinstance(func, gast.Call) or not isinstance(func.func,
                                                             (gast.Name, gast.Attribute)):
            return None
        maker = self._fixed_value(func.func)
        if not self._is_maker(maker):
            return None
        transform = self._built_transform(maker, func)
        return transform if hasattr(transform, "__tangent_src_callee__") else None

    def _built_transform(self, maker, func):
        """`maker(...)` (grad(f, wrt=1), grad(grad(f))) built now from its fixed values; a
        nested function or lambda as `f` is lifted (lift.py), the outer variables it reads
        passed at the call (`lifted_captures`)."""
        args = [self._fixed_value(a) for a in func.args]
        if args and args[0] is _UNFIXED and self._is_local_function(func.args[0]):
            args[0] = self._lift(func.args[0])
        keywords = {k.arg: self._fixed_value(k.value) for k in func.keywords}
        if any(a is _UNFIXED for a in args + list(keywords.values())) or None in keywords:
            raise self.parsed.unsupported(
                func, f"{build.dotted(func.func)}(...) of a value computed in the function",
                "build the transform from module-level functions and constants")
        try:
            transform = maker(*args, **keywords)
        except TangentError as exc:
            raise self.parsed.unsupported(func, f"this {build.dotted(func.func)}(...) "
                                          f"({exc})", "check its arguments") from exc
        return transform

    def _is_maker(self, maker) -> bool:
        """A transform constructor (grad, value_and_grad), or a user function that only
        returns one applied to its parameters (`def grad(fun, argnum=0): return
        tangent_src.grad(fun, wrt=argnum)`): calling it builds the transform."""
        if getattr(maker, "__tangent_src_transform__", False):
            return True
        if not thin_transform_wrapper(maker):
            return False
        self.parsed.guards.append(FunctionGuard(maker))  # its code changing: stale
        return True

    def _is_local_function(self, expr) -> bool:
        return isinstance(expr, gast.Lambda) or (
            isinstance(expr, gast.Name) and expr.id in self.local_functions)

    def _lift(self, expr):
        """The nested function (or lambda) `expr` as a function of its own whose trailing
        parameters are the outer function's variables it reads (recorded in
        `lifted_captures`, passed where the transform is called)."""
        node = self.local_functions[expr.id] if isinstance(expr, gast.Name) else expr
        name = expr.id if isinstance(expr, gast.Name) else "lambda_fn"
        args = node.args
        if args.vararg or args.kwarg or args.kwonlyargs or args.defaults or \
                getattr(node, "decorator_list", None):
            raise self.parsed.unsupported(
                expr, f"passing the nested function '{name}' (with defaults, *args, "
                "keyword-only parameters or decorators) to a transform",
                "list its parameters without defaults, or define it at module level")
        code = getattr(self.parsed.func, "__code__", None)
        cells = set(code.co_freevars) if code is not None else set()
        captured = []
        for free in free_names(node):
            if free in self.local_functions or free in self.aliases or \
                    free in getattr(self, "branch_functions", {}):
                raise self.parsed.unsupported(
                    expr, f"passing '{name}', which uses the nested function or function "
                    f"value '{free}', to a transform",
                    "define the functions it calls at module level")
            if free in self.locals or free in cells:
                captured.append(free)
        lifted = lifted_function(as_def(node, name), captured, self.parsed.live_globals,
                                 getattr(self.parsed.func, "__name__", "f"))
        self.__dict__.setdefault("lifted_captures", []).extend(captured)
        return lifted

    def _fixed_value(self, expr):
        """The value of a constant or a non-local (dotted) name; _UNFIXED otherwise."""
        if isinstance(expr, gast.Constant):
            return expr.value
        if isinstance(expr, gast.Call) and isinstance(expr.func, (gast.Name, gast.Attribute)):
            maker = self._fixed_value(expr.func)
            if self._is_maker(maker):  # grad(grad(f))
                return self._built_transform(maker, expr)
        if isinstance(expr, (gast.Name, gast.Attribute)) and build.dotted(expr) and \
                build.dotted(expr).split(".")[0] not in self.locals and \
                build.dotted(expr) not in self.local_functions:
            found = self.resolve_dotted(expr)
            return _UNFIXED if found is None else found
        return _UNFIXED


_UNFIXED = object()  # an expression whose value the lowering cannot know


class _Replace(gast.NodeTransformer):
    """Replaces the transform calls an expression evaluates exactly once (see
    `hoist_transform_calls`), innermost first, in evaluation order."""

    def __init__(self, lowerer, pre: list):
        self.lowerer, self.pre = lowerer, pre

    def visit_Call(self, node):
        node = self.generic_visit(node)
        found = self.lowerer.transform_call(node, self.pre)
        return node if found is None else found

    def skip(self, node):
        return node

    visit_Lambda = visit_ListComp = visit_SetComp = visit_DictComp = skip
    visit_GeneratorExp = visit_IfExp = visit_BoolOp = skip
