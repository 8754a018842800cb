"""The pipeline, one pass after another: source -> lower -> ANF -> reverse -> optimize -> emit.

`ModuleBuilder` collects the gradient of a function and of every user function it
calls (each differentiated once per set of active arguments) into one module.
"""
from __future__ import annotations

import builtins
import copy
import os
import re
from dataclasses import dataclass, field

import gast

from . import rules  # noqa: F401  (registers the rule tables)
from .backend import emit
from .errors import UnsupportedSyntaxError
from .frontend.anf import assigned, to_anf
from .frontend.lower import _dotted, lower
from .frontend.source import ParsedFunction, parse_function
from .naming import Namer
from .optimize import optimize
from .analysis.shapes import RankInference
from .transform.reverse import Reverse, check_wrt


@dataclass
class GeneratedFunction:
    name: str
    node: gast.FunctionDef
    parsed: ParsedFunction
    seed: str
    wrt: list[str]


@dataclass
class ModuleBuilder:
    """Generates gradient functions into one module namespace."""

    functions: list[GeneratedFunction] = field(default_factory=list)
    by_key: dict = field(default_factory=dict)
    in_progress: set = field(default_factory=set)
    module_names: set = field(default_factory=set)
    cores: dict = field(default_factory=dict)
    rank_cache: dict = field(default_factory=dict)

    def front_end(self, func):
        """Parse, lower and flatten `func` (cached): (parsed, core function, namer)."""
        if func not in self.cores:
            parsed = parse_function(func)
            namer = Namer(_all_names(parsed.node) | set(self.module_names))
            lowered = lower(parsed, namer)
            core = to_anf(parsed, lowered, namer)
            self.cores[func] = (parsed, core, namer)
        parsed, core, namer = self.cores[func]
        return parsed, core, copy.deepcopy(namer)

    def infer_ranks(self, func, arg_ranks: tuple) -> dict:
        """Ranks of every name in `func`'s core form, given (param, rank) pairs."""
        key = (func, arg_ranks)
        if key not in self.rank_cache:
            self.rank_cache[key] = {}  # recursion: unknown
            parsed, core, _ = self.front_end(func)
            given = dict(arg_ranks)
            start = {p: given.get(p) for p in _params(core)}
            inference = RankInference(_resolver(parsed), self.return_rank)
            self.rank_cache[key] = inference.run(core, start)
        return self.rank_cache[key]

    def return_rank(self, func, ranks: tuple):
        """The rank of a user function's result, for rank inference in its callers."""
        from .transform.reverse import _is_user_function
        if not _is_user_function(func):
            return None
        try:
            parsed, core, _ = self.front_end(func)
        except Exception:
            return None
        params = _params(core)
        result = self.infer_ranks(func, tuple(zip(params, ranks)))
        return result.get(core.body[-1].value.id)

    def gradient(self, func, wrt: tuple, name: str | None = None,
                 return_value: bool = False, arg_ranks: tuple = ()) -> GeneratedFunction:
        key = (func, tuple(wrt), return_value, arg_ranks)
        if key in self.by_key:
            return self.by_key[key]
        if key in self.in_progress:
            raise UnsupportedSyntaxError(
                f"{func.__qualname__} calls itself; recursive functions are not supported yet")
        self.in_progress.add(key)
        parsed, core, namer = self.front_end(func)
        for used in self.module_names:
            namer.reserve(used)
        wrt_names = check_wrt(parsed, core, wrt)
        ranks = self.infer_ranks(func, arg_ranks)
        if name is None:
            base = "d" + parsed.node.name if len(self.functions) or True else name
            if any(w != _params(core)[0] for w in wrt_names) and self.functions:
                base += "_" + "_".join(wrt_names)
            name = self._function_name(base)
        else:
            self.module_names.add(name)
        namer.reserve(name)

        def subroutine(callee, active, call_ranks):
            generated = self.gradient(callee, active, arg_ranks=call_ranks)
            return generated.name, generated.seed

        reverse = Reverse(parsed, core, wrt_names, namer, _resolver(parsed), subroutine, name,
                          return_value=return_value, ranks=ranks)
        result = reverse.build()
        user = set(_params(core)) | assigned(parsed.node.body)
        protected = {n for n in _all_names(core) if n in user or (
            re.sub(r"\d+$", "", n) in user)}
        protected |= {reverse.adjoints[v] for v in protected if v in reverse.adjoints}
        protected.add(result.seed)
        if not os.environ.get("TANGENT_SRC_NO_OPT"):
            optimize(result.node, result.inplace, protected)
        generated = GeneratedFunction(name, result.node, parsed, result.seed, wrt_names)
        self.functions.append(generated)
        self.by_key[key] = generated
        self.in_progress.discard(key)
        return generated

    def _function_name(self, base: str) -> str:
        namer = Namer(self.module_names)
        name = namer.fresh(base)
        self.module_names.add(name)
        return name

    # -- output ------------------------------------------------------------------
    def namespace(self) -> dict:
        out: dict = {}
        for fn in self.functions:
            for name in emit.free_names([fn.node]):
                if name in fn.parsed.namespace:
                    out[name] = fn.parsed.namespace[name]
        return out

    def live_globals(self) -> tuple[dict, dict, tuple]:
        """(fixed values, name -> live globals dict, user module names) for loading."""
        fixed, live, modules = {}, {}, set()
        for fn in self.functions:
            modules.add(getattr(fn.parsed.func, "__module__", None) or "__main__")
            for name in emit.free_names([fn.node]):
                if name in fn.parsed.live_globals:
                    live[name] = fn.parsed.live_globals
                    value = fn.parsed.live_globals[name]
                    if isinstance(value, type(os)):
                        fixed[name] = value
                elif name in fn.parsed.namespace:
                    fixed[name] = fn.parsed.namespace[name]
        return fixed, live, tuple(sorted(modules))

    def source(self, main: GeneratedFunction, standalone: bool = False) -> str:
        nodes = [fn.node for fn in self.functions]
        names = emit.free_names(nodes)
        namespace = self.namespace()
        unknown = [n for n in names if n not in namespace and not hasattr(builtins, n)
                   and n not in emit.runtime.HELPERS]
        if unknown:
            raise UnsupportedSyntaxError(
                f"{main.parsed.filename}: name(s) {', '.join(unknown)} are not defined")
        user_module = getattr(main.parsed.func, "__module__", None)
        imports, helpers = emit.import_lines(names, namespace, user_module, standalone)
        chunks = []
        if standalone and helpers:
            chunks.append(emit.runtime_source(helpers))
            if "import numpy as np" not in imports:
                imports.insert(0, "import numpy as np")
        for fn in self.functions:
            chunks.append(emit.function_source(fn.node, fn.parsed.lines))
        where = f"{os.path.basename(main.parsed.filename)}:{main.parsed.node.lineno}"
        wrt = ", ".join(main.wrt)
        doc = (f"Gradient of {main.parsed.node.name} ({where}) with respect to {wrt}, "
               "generated by tangent_src.")
        return emit.module_source(doc, imports, chunks)


def _params(core) -> list[str]:
    return [a.id for a in core.args.posonlyargs + core.args.args + core.args.kwonlyargs]


def _all_names(node) -> set[str]:
    return {n.id for n in gast.walk(node) if isinstance(n, gast.Name)}


def _resolver(parsed: ParsedFunction):
    """Map a function reference in user code (a name or dotted name) to the Python object."""
    def resolve(expr):
        dotted = _dotted(expr)
        if dotted is None:
            return None
        head, *rest = dotted.split(".")
        if head in parsed.namespace:
            obj = parsed.namespace[head]
        elif hasattr(builtins, head):
            obj = getattr(builtins, head)
        else:
            raise parsed.error(UnsupportedSyntaxError, expr, f"name '{head}' is not defined",
                               construct="undefined name", hint="define or import it")
        for part in rest:
            try:
                obj = getattr(obj, part)
            except AttributeError:
                raise parsed.error(UnsupportedSyntaxError, expr,
                                   f"'{dotted}' does not exist", construct="undefined name",
                                   hint="check the spelling") from None
        return obj
    return resolve
