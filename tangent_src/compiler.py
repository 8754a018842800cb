"""Generation of every function a gradient needs, into one module.

`ModuleBuilder` runs the stages of pipeline.py for a function and for every user
function it calls (each differentiated once per set of active arguments and shape
classes); its ModuleAssembly half (backend/assemble.py) binds their free names and
prints the module.
"""
from __future__ import annotations

import builtins
import copy
import functools
import re
from dataclasses import dataclass, field

import gast

from . import rules, runtime  # noqa: F401  (rules: importing it registers the rule tables)
from .analysis.complexity import complex_facts, respecialize_transform_call, split_complex_args
from .analysis.kinds import Tree, kind_of, tests_types
from .analysis.shapes import (
    ShapeInference,
    derivative_classes,
    is_binding,
    is_container,
    is_object,
    mutable_scalars,
    start_class,
)
from .backend import emit
from .backend.assemble import ModuleAssembly
from .core.dataflow import all_names, assigned
from .core.helpers import CORE_HELPERS
from .core.walk import clone, walk
from .errors import TangentError
from .frontend.alias_facts import inlined_sites
from .frontend.inplace_sites import check_inplace_sites
from .frontend.lower.kind_tests import tested_parameters
from .frontend.resolve import lookup
from .frontend.source import ParsedFunction, is_user_function, parse_function
from .naming import Namer
from .pipeline import Options, back_end, front_end
from .request import Params, resolve_wrt
from .transform.forward import Forward
from .transform.inline import inline_calls, writes_in_place
from .transform.reverse import Reverse
from .transform.slice_chains import fuse_slice_chains
from .transform.split import split_function

# The most assignments a callee inlined into first-order code has (ModuleBuilder._small).
SMALL_CALLEE = 12


@dataclass
class GeneratedFunction:
    name: str
    node: gast.FunctionDef
    parsed: ParsedFunction
    seed: str
    wrt: list[str]
    fwd_name: str = ""
    bwd_name: str = ""
    tangent_params: dict = field(default_factory=dict)  # forward mode: param -> tangent name
    nodes: list = field(default_factory=list)   # what is emitted: [node] or [fwd, bwd]
    containers: frozenset = frozenset()  # reverse mode: parameters whose adjoint may be a tree
    complex_output: bool = False  # the result may be complex (so its tangent, its seed)
    classes: dict = field(default_factory=dict)  # shape classes of its names (shapes.py)


@dataclass
class ModuleBuilder(ModuleAssembly):
    """Generates gradient functions into one module namespace."""

    functions: list[GeneratedFunction] = field(default_factory=list)
    by_key: dict = field(default_factory=dict)
    in_progress: set = field(default_factory=set)
    module_names: set = field(default_factory=set)
    cores: dict = field(default_factory=dict)
    class_cache: dict = field(default_factory=dict)
    item_cache: dict = field(default_factory=dict)  # like class_cache: tuple items' classes
    expanding: set = field(default_factory=set)  # functions being inlined (recursion check)
    inplace: dict = field(default_factory=dict)  # front-end key -> `z op= v` sites to decide
    options: Options = field(default_factory=Options)  # optimizer on/off, inlining
    renamed: dict = field(default_factory=dict)  # generated name -> the user's name
    namers: list = field(default_factory=list)  # of the functions being generated
    root: object = None  # the function asked for (front-ended first); the rest are callees
    tested: dict = field(default_factory=dict)  # function -> parameters it type-tests
    _bindings: dict | None = None

    def _front_key(self, func, arg_classes: tuple) -> frozenset:
        """What the front end of `func` is specialized on, of these (parameter, class)
        pairs: dicts, objects, functions, strings (bindings), and the kinds of the
        parameters it tests with `isinstance` (frontend/lower/kind_tests.py)."""
        if func not in self.tested:
            self.tested[func] = tested_parameters(parse_function(func).node) \
                if tests_types(func) else frozenset()
        tested = self.tested[func]
        kinds = {(p, ("kind", kind_of(c))) for p, c in arg_classes
                 if p in tested and kind_of(c) is not None}
        return _dicts(arg_classes) | kinds

    def _recursion(self, func):
        parsed = parse_function(func)
        return parsed.unsupported(parsed.node, f"recursion ({parsed.node.name} calls itself)",
                                  "write the recursion as a loop")

    def front_end(self, func, dicts: frozenset = frozenset()):
        """Parse, lower and flatten `func` (cached): (parsed, core function, namer).
        `dicts` names the parameters known to be dicts (iterating one yields its keys)."""
        if func in self.expanding:
            raise self._recursion(func)
        key = (func, dicts)
        if key not in self.cores:
            parsed = parse_function(func)
            # runtime helpers too: a generated `cumsum_t = np.cumsum(t)` would hide the
            # helper cumsum_t that the derivative calls
            namer = Namer(all_names(parsed.node) | set(self.module_names) | set(dir(builtins))
                          | set(parsed.namespace) | set(emit.runtime.HELPERS))
            if self.root is None:
                self.root = func
            core, sites = front_end(parsed, namer, dicts, callee=func is not self.root)
            *body, ret = core.body
            self.expanding.add(func)

            def callee_front_end(callee):
                found = self.front_end(callee)
                sites.extend(inlined_sites(found[0], self.inplace[(callee, frozenset())]))
                return found
            # (a transform's code is inlined once its callers' kinds are known)
            inlined = _inlined_now if self.options.inline else \
                (lambda f: _inlined_now(f) and self._small(f))
            try:  # then adjacent slices' elementwise chains as one (slice_chains.py)
                body = inline_calls(parsed, body, namer, resolver(parsed),
                                    callee_front_end, inlined)
                core.body = fuse_slice_chains(body, resolver(parsed), namer) + [ret]
            finally:
                self.expanding.discard(func)
            self.cores[key] = (parsed, core, namer)
            self.inplace[key] = sites
        parsed, core, namer = self.cores[key]
        return parsed, core, copy.deepcopy(namer)

    def _small(self, func) -> bool:
        """Whether first-order code inlines a call of `func` rather than calling a
        forward/backward pair: a user function of a few assignments, no branches or loops
        (a pair costs two calls and a saved tuple, more than a small body's operations),
        that reads no attribute or item (an object's or a container's adjoint reads
        better, and costs less, as one contribution to the argument), not one being
        front-ended (recursion) and whose own front end succeeds."""
        from .frontend.source import is_user_function
        if not self.options.inline_small or not is_user_function(func) or \
                func in self.expanding:
            return False
        try:
            parsed, core, _ = self.front_end(func)
        except TangentError:
            return False  # reported where its gradient is generated
        if writes_in_place(parsed.node):
            return False  # may update an argument: decided per call, as a pair
        *body, ret = core.body
        return len(body) <= SMALL_CALLEE and isinstance(ret, gast.Return) and \
            isinstance(ret.value, gast.Name) and \
            all(isinstance(stmt, gast.Assign) and not isinstance(
                stmt.value, (gast.Attribute, gast.Subscript)) for stmt in body)

    def infer_classes(self, func, arg_classes: tuple) -> dict:
        """Shape classes of every name in `func`'s core form, given (param, class) pairs."""
        key = (func, arg_classes)
        if key not in self.class_cache:
            self.class_cache[key] = {}  # recursion: unknown
            self.item_cache[key] = {}
            parsed, core, _ = self.front_end(func, self._front_key(func, arg_classes))
            given = dict(arg_classes)
            start = {p: None if is_container(given.get(p)) or is_binding(given.get(p))
                     else start_class(given.get(p)) for p in _params(core)}
            inference = ShapeInference(resolver(parsed), self.return_class, self.return_items)
            inference.param_items = {p: c.item for p, c in given.items()
                                     if isinstance(c, Tree) and c.item is not None}
            self.class_cache[key] = inference.run(core, start)
            self.item_cache[key] = inference.items
        return self.class_cache[key]

    def mutable_scalars(self, func, arg_classes: tuple) -> frozenset:
        """Scalar-class names of `func`'s core that may hold a 0-d array (see
        analysis/shapes.py: mutable_scalars)."""
        parsed, core, _ = self.front_end(func, self._front_key(func, arg_classes))
        return frozenset(mutable_scalars(core, self.infer_classes(func, arg_classes),
                                         arg_classes, resolver(parsed)))

    def return_class(self, func, classes: tuple):
        """The shape class of a user function's result, for inference in its callers."""
        if not is_user_function(func):
            return None
        try:
            _, core, _ = self.front_end(func)
        except TangentError:
            return None  # reported when its gradient is generated
        found = self.infer_classes(func, tuple(zip(_params(core), classes)))
        return found.get(core.body[-1].value.id)

    def return_items(self, func, classes: tuple):
        """The shape classes of the items of a user function's tuple result (None: not
        known to be a tuple), for `h, c = cell(...)` in its callers."""
        if not is_user_function(func):
            return None
        try:
            _, core, _ = self.front_end(func)
        except TangentError:
            return None
        key = (func, tuple(zip(_params(core), classes)))
        self.infer_classes(*key)
        return self.item_cache[key].get(core.body[-1].value.id)

    def output_kind(self, func, arg_classes: tuple, has_aux: bool = False) -> str:
        """What `func` returns, as far as the source and shape inference tell: "scalar",
        "tuple" (a tuple display; for has_aux, one that is not a pair), "pair" (has_aux: a
        pair whose first item is a scalar) or "unknown". The output checks of grad use it
        so that they need not run the function."""
        _, core, _ = self.front_end(func, self._front_key(func, arg_classes))
        ret = core.body[-1]
        if not (isinstance(ret, gast.Return) and isinstance(ret.value, gast.Name)):
            return "unknown"
        name = ret.value.id
        classes = self.infer_classes(func, arg_classes)
        defs = [n.value for n in walk(core) if isinstance(n, gast.Assign) and
                isinstance(n.targets[0], gast.Name) and n.targets[0].id == name]
        if defs and all(isinstance(v, gast.Tuple) for v in defs):
            if not has_aux or any(len(v.elts) != 2 for v in defs):
                return "tuple"
            first = [v.elts[0] for v in defs]
            if all(isinstance(f, gast.Name) and classes.get(f.id) == () for f in first):
                return "pair"
            return "unknown"
        if classes.get(name) == ():
            return "scalar"
        return "unknown"

    def gradient(self, func, wrt: tuple, name: str | None = None,
                 return_value: bool = False, arg_classes: tuple = (),
                 split: bool = False, has_aux: bool = False,
                 check_output: bool = False,
                 seed_from_output: bool = False) -> GeneratedFunction:
        """Generate the gradient of `func`; `split` makes a forward/backward pair instead
        (`f_fwd(args) -> (value, saved)`, `f_bwd(saved, seed) -> gradients`).
        `arg_classes` may carry the parameters that receive complex values
        (analysis/complexity.py: split_complex_args)."""
        arg_classes = tangent_classes(func, arg_classes)
        key = (func, tuple(wrt), return_value, arg_classes, split, has_aux, check_output,
               seed_from_output)
        if key in self.by_key:
            return self.by_key[key]
        arg_classes, complex_params = split_complex_args(
            arg_classes, _params(self.front_end(func, self._front_key(func, arg_classes))[1]))
        parsed, core, namer, wrt_names, classes, name = self._start(
            key, func, wrt, name, arg_classes, "d", complex_params)

        def subroutine(callee, active, call_ranks):
            return self.gradient(callee, active, arg_classes=call_ranks, split=True)

        trees = _trees(arg_classes, classes)  # (and `classes` without them)
        reverse = Reverse(parsed, core, wrt_names, namer, resolver(parsed), subroutine, name,
                          return_value=return_value or split, classes=classes, trees=trees,
                          has_aux=has_aux, objects={p for p, c in arg_classes if is_object(c)},
                          mutable=self.mutable_scalars(func, arg_classes),
                          recompute_arrays=self.options.recompute_arrays,  # (numba)
                          known=frozenset(p for p, c in arg_classes if c is not None),
                          check_output=check_output, seed_from_output=seed_from_output)
        reverse.complex_params = complex_params
        reverse.tuple_items = self.item_cache.get((func, arg_classes), {})  # (shape_items.py)
        result = reverse.build()
        protected = self._protected(parsed, core, reverse.adjoints, namer)
        protected.add(result.seed)
        back_end(result.node, result.inplace, protected, self.options)
        generated = GeneratedFunction(name, result.node, parsed, result.seed, wrt_names,
                                      nodes=[result.node], containers=result.containers,
                                      complex_output=result.complex_output,
                                      classes=derivative_classes(classes, reverse.adjoints))
        if split:
            generated.fwd_name = self.function_name(parsed.node.name + "_fwd")
            generated.bwd_name = self.function_name(parsed.node.name + "_bwd")
            generated.nodes = split_function(result.node, result.seed, generated.fwd_name,
                                             generated.bwd_name, namer,
                                             views=self.options.recompute_arrays)
        self.functions.append(generated)
        self.by_key[key] = generated
        self.in_progress.discard(key)
        return generated

    def _inline_transform_calls(self, parsed, core, namer, complex_params: frozenset):
        """`core` with the calls of transforms' generated code (frontend/lower/nested.py,
        left by the front end) inlined, each first pointed at the code generated for the
        complex values it is passed (analysis/complexity.py): inlined as generated for real
        arguments, its real rules would meet them unchecked."""
        resolve = resolver(parsed)
        calls = [node for node in walk(core) if isinstance(node, gast.Assign) and
                 isinstance(node.value, gast.Call) and _transform_code(node.value, resolve)]
        if not calls:
            return core
        core = clone(core)
        *body, ret = core.body
        facts = complex_facts(body, resolve, complex_params, parsed)
        for node in walk(gast.Module(body=body, type_ignores=[])):
            func = _transform_code(node.value, resolve) if isinstance(node, gast.Assign) and \
                isinstance(node.value, gast.Call) else None
            if func is not None and func.__tangent_src_complex__ == frozenset():
                respecialize_transform_call(parsed, node.value, func, facts, namer)
        core.body = inline_calls(parsed, body, namer, resolve,
                                 lambda callee: self.front_end(callee),
                                 is_user_function) + [ret]
        return core

    def _start(self, key, func, wrt, name, arg_classes, prefix: str,
               complex_params: frozenset = frozenset()):
        """What both modes do first: front end, wrt check, shape classes, function name."""
        if key in self.in_progress:
            raise self._recursion(func)
        self.in_progress.add(key)
        front_key = self._front_key(func, arg_classes)
        parsed, core, namer = self.front_end(func, front_key)
        for used in self.module_names:
            namer.reserve(used)
        self.namers.append(namer)
        # the entries the user's signature could not resolve (a transform of a transform),
        # and the callee's active parameters, are names of the lowered function's parameters
        wrt_names = list(resolve_wrt(wrt, Params.of_definition(core)))
        classes = dict(self.infer_classes(func, arg_classes))  # (_trees edits it)
        check_inplace_sites(parsed, core, self.inplace[(func, front_key)], classes,
                            self.mutable_scalars(func, arg_classes))
        if self.options.inline:
            core = self._inline_transform_calls(parsed, core, namer, complex_params)
        if name is None:
            name = self.function_name(prefix + parsed.node.name)
        else:
            self.module_names.add(name)
        namer.reserve(name)
        return parsed, core, namer, wrt_names, classes, name

    def tangent(self, func, wrt: tuple, name: str | None = None, return_value: bool = False,
                arg_classes: tuple = ()) -> GeneratedFunction:
        """Generate the forward-mode (tangent) function of `func` for the `wrt` arguments."""
        arg_classes = tangent_classes(func, arg_classes)
        key = ("forward", func, tuple(wrt), return_value, arg_classes)
        if key in self.by_key:
            return self.by_key[key]
        arg_classes, complex_params = split_complex_args(
            arg_classes, _params(self.front_end(func, self._front_key(func, arg_classes))[1]))
        parsed, core, namer, wrt_names, classes, name = self._start(
            key, func, wrt, name, arg_classes, "jvp_", complex_params)

        def subroutine(callee, active, call_classes):
            return self.tangent(callee, active, return_value=True, arg_classes=call_classes)

        trees = _trees(arg_classes, classes)  # (and `classes` without them)
        forward = Forward(parsed, core, wrt_names, namer, resolver(parsed), subroutine, name,
                          return_value=return_value, classes=classes, trees=trees,
                          objects={p for p, c in arg_classes if is_object(c)},
                          mutable=self.mutable_scalars(func, arg_classes))
        forward.complex_params = complex_params
        node = forward.build()
        protected = self._protected(parsed, core, forward.tangents, namer)
        protected |= set(forward.tangent_params.values())
        back_end(node, forward.inplace, protected, self.options)
        generated = GeneratedFunction(name, node, parsed, "", wrt_names, nodes=[node],
                                      tangent_params=forward.tangent_params,
                                      complex_output=forward.complex_output,
                                      classes=derivative_classes(classes, forward.tangents))
        self.functions.append(generated)
        self.by_key[key] = generated
        self.in_progress.discard(key)
        return generated

    def _protected(self, parsed, core, derivative_names: dict, namer: Namer) -> set:
        """User-visible names: the user's and their versions (h2 of h; not a temporary
        t2 of a user's `t`), and their derivatives' names, which inlining keeps."""
        user = set(_params(core)) | assigned(parsed.node.body)
        protected = {n for n in all_names(core) if n in user or (
            n not in namer.temporaries and re.sub(r"\d+$", "", n) in user)}
        return protected | {derivative_names[v] for v in protected if v in derivative_names}

    def function_name(self, base: str) -> str:
        """A fresh name for a generated function: not one generated before, nor one that
        user code being differentiated can read (`square_fwd` beside a `square`)."""
        user = {n for parsed, core, _ in self.cores.values() for n in parsed.namespace}
        used = set().union(*(n.used for n in self.namers)) if self.namers else set()
        name = Namer(self.module_names | user | used).fresh(base)
        self.module_names.add(name)
        for namer in self.namers:  # locals named later must not shadow it
            namer.reserve(name)
        return name



def tangent_classes(func, arg_classes: tuple) -> tuple:
    """`arg_classes` with, for forward-mode code generated by tangent_src (a transform
    differentiated again), each tangent parameter given its primal's container class: the
    tangent of a list is a list, and its adjoint must add with plus() (`+` concatenated)."""
    pairs = getattr(func, "__tangent_src_tangents__", None)
    if not pairs:
        return arg_classes
    have = dict(arg_classes)
    extra = tuple((t, have[p]) for p, t in pairs.items()
                  if t not in have and is_container(have.get(p)))
    return arg_classes + extra


def _transform_code(call, resolve):
    """The generated code of a transform `call` calls (frontend/lower/nested.py), or None."""
    try:
        func = resolve(call.func)
    except Exception:  # noqa: BLE001 - an unresolvable callee is no transform's code
        return None
    return func if hasattr(func, "__tangent_src_respecialize__") else None


def _inlined_now(func) -> bool:
    """Whether the front end inlines a call of `func`: a user function's, but not a
    transform's generated code (ModuleBuilder._inline_transform_calls inlines that)."""
    return is_user_function(func) and not hasattr(func, "__tangent_src_respecialize__")


def _trees(arg_classes: tuple, classes: dict) -> dict:
    """The names holding pytrees whose class is known: container parameters, and lists
    that are items of a list parameter (analysis/kinds.py), which `classes` then has."""
    trees = {p: c for p, c in arg_classes if is_container(c)}
    items = {n: c for n, c in classes.items() if isinstance(c, Tree)}
    for name in items:
        classes[name] = None  # a list, not an array: no shape class
    return trees | items


def _dicts(arg_classes: tuple) -> frozenset:
    """(parameter, class) pairs the front end specializes on: dicts, objects, functions."""
    return frozenset((p, c) for p, c in arg_classes if is_binding(c))


def _params(core) -> list[str]:
    return [a.id for a in core.args.posonlyargs + core.args.args + core.args.kwonlyargs]


def resolver(parsed: ParsedFunction):
    """Find what a name or dotted name in `parsed` refers to (frontend/resolve.py), where
    the helpers lowering writes (core/helpers.py) mean the runtime functions."""
    return functools.partial(lookup, parsed, strict=True, helpers=_CORE_HELPER_FUNCTIONS)


_CORE_HELPER_FUNCTIONS = {name: getattr(runtime, name) for name in CORE_HELPERS}


