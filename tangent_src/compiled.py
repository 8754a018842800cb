"""The in-memory cache of generated modules: a request (and the shape classes of the
arguments) -> its generated source, the loaded function and the guards that say when it
is stale. Bounded (least recently used goes first), so it never keeps every closure ever
differentiated alive; thread-safe."""
from __future__ import annotations

import functools
import os
import threading
from collections import OrderedDict

import numpy as np

from . import runtime
from .analysis.complexity import split_complex_args
from .backend import numba as numba_backend
from .backend.load import load_module, load_real_module, release_with
from .backend.numba_fusion import fuse_elementwise
from .compiler import ModuleBuilder
from .frontend.aliases import written_parameters
from .frontend.bindings import FunctionGuard
from .frontend.depth import keeps_recursion_limit
from .frontend.find_def import unwrap
from .gcpause import pauses_gc
from .guard_check import quick_check
from .pipeline import Options
from .request import Request
from .shared_arguments import refuse_shared

# key -> Compiled, least recently used first. Bounded: an entry holds the user functions
# it was generated from (and any function passed as an argument), so an unbounded cache
# would keep every closure ever differentiated alive. A transform keeps the entries it
# uses itself, so eviction costs at most a regeneration.
_CACHE: OrderedDict = OrderedDict()
CACHE_SIZE = 256
_LOCK = threading.RLock()


def _new_lock_after_fork() -> None:
    """A child forked while another thread of the parent was generating code (holding the
    lock) would wait for that thread forever: it does not exist in the child. (The cache
    itself is consistent: it is only changed under the GIL, by whole assignments.)"""
    global _LOCK
    _LOCK = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_after_fork)


def clear_cache() -> None:
    """Forget every generated function (the next call regenerates it)."""
    with _LOCK:
        _CACHE.clear()


class Compiled:
    """A generated module: its source, its loaded function and facts about it."""

    _quick = None  # (number of guards, guard_check.quick_check of them)
    entries = None  # call_entry's entries into this code, by what they were made for

    @keeps_recursion_limit  # a deep expression raises it while the code is generated
    @pauses_gc
    def __init__(self, request: Request, classes: tuple, inline: bool):
        func, wrt, mode, backend = request.func, request.wrt, request.mode, request.backend
        return_value, has_aux = request.return_value, request.has_aux
        if backend == "numba":
            numba_backend.require_numba()
        builder = ModuleBuilder(options=Options(optimize=request.optimize, inline=inline,
                                                numpy_joins=backend == "python",
                                                fused_products=backend == "numba",
                                                recompute_arrays=backend == "numba"))
        if mode == "reverse":
            self.main = builder.gradient(func, wrt, return_value=return_value,
                                         arg_classes=classes, has_aux=has_aux,
                                         seed_from_output=request.seed_from_output)
        elif mode == "split":  # value, saved = fwd(args); gradients = bwd(saved, seed)
            self.main = builder.gradient(func, wrt, arg_classes=classes, split=True,
                                         has_aux=has_aux)
        else:
            self.main = builder.tangent(func, wrt, return_value=return_value,
                                        arg_classes=classes)
        kernels: list = []  # numba: elementwise runs as one loop each
        if backend == "numba" and request.optimize:
            for fn in builder.functions:
                fn.nodes = fuse_elementwise(fn.nodes, builder.function_name, kernels,
                                            fn.classes)
        # the complex arguments the code is specialized to (numba's refuses them)
        args = self.main.parsed.node.args
        self.params = [a.id for a in args.posonlyargs + args.args + args.kwonlyargs]
        classes, complex_params = split_complex_args(classes, self.params)
        # the parameters it writes into in place: checked for aliases on each call (code
        # generated from such a function, differentiated again, writes into none itself)
        writer, written = getattr(unwrap(func), "__tangent_src_written__", ("", frozenset()))
        written = written | written_parameters(self.main.parsed)
        self.written = tuple(p for p in self.params if p in written)
        self.writer = writer or self.main.parsed.node.name  # the user's function, for errors
        self.complex_params = complex_params if backend == "python" else frozenset()
        self.builder = builder
        # grad checks that func returns a scalar; where shape inference proves it, the
        # check costs nothing at run time
        self.output = builder.output_kind(func, classes, has_aux) if mode != "forward" \
            and not (complex_params and self.main.complex_output) else "unknown"
        self.source = builder.source(self.main)
        fixed, live, user_modules = builder.live_globals()
        fixed.update({h: getattr(runtime, h) for h in runtime.HELPERS})
        fixed.setdefault("np", np)
        self.guards = builder.guards()
        if hasattr(func, "__code__") and all(g.value is not func for g in self.guards):
            self.guards.insert(0, FunctionGuard(func))  # a wrapper, unwrapped when parsed
        loader = load_module
        if backend == "numba":
            self.guards = numba_backend.frozen_guards(live, self.guards, fixed, self.source)
            loader = functools.partial(load_real_module,
                                       salt=numba_backend.frozen_salt(self.guards))
        module_ns, self.path = loader(self.source, self.main.name, fixed, live, user_modules,
                                      self.guards)
        if mode == "split":
            self.function = module_ns[self.main.fwd_name]
            self.backward = module_ns[self.main.bwd_name]
        else:
            self.function = module_ns[self.main.name]
            if self.main.tangent_params:  # read when this code is differentiated again
                self.function.__tangent_src_tangents__ = dict(self.main.tangent_params)
        if inline:  # code another transform reads: which arguments it is written complex for
            self.function.__tangent_src_complex__ = complex_params
            self.function.__tangent_src_written__ = (self.writer, frozenset(self.written))
        self.backend = backend
        self.checked = backend == "python"
        if backend == "numba":
            names = [node.name for fn in builder.functions for node in fn.nodes
                     if node.name not in kernels]
            self.function = numba_backend.compile_module(module_ns, names, self.main.name,
                                                         user_modules, kernels)
            self.dispatchers = [module_ns[name] for name in names]
            release_with(self, module_ns)

    def stale(self) -> bool:
        """Whether something the code was generated (or, under numba, compiled) for has
        changed since (a callee rebound, a function's code or defaults replaced, a method
        monkeypatched, a module attribute's shape class): then it is generated again."""
        if self.quick_holds()():  # every guard certainly holds (one compiled identity test)
            return False
        for guard in self.guards:  # noqa: SIM110  (a loop: half the cost of all() here)
            if not guard.holds():
                return True
        return False

    def quick_holds(self):
        """guard_check.quick_check of the guards: True when they certainly all hold."""
        quick = self._quick
        if quick is None or quick[0] != len(self.guards):
            quick = self._quick = (len(self.guards), quick_check(self.guards))
        return quick[1]

    def refuse_shared(self, args: tuple, kwargs: dict | None = None) -> None:
        """Refuse arguments sharing memory with one the function writes into."""
        refuse_shared(self.writer, self.params, self.written, args, kwargs)

    def call(self, args, kwargs):
        """Run the generated function; under numba, a compilation failure (on the first
        call) becomes an error located at the user's line."""
        if self.written:
            self.refuse_shared(args, kwargs)
        if self.checked:
            return self.function(*args, **kwargs)
        try:
            result = self.function(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - numba's errors have many classes
            if "numba" not in type(exc).__module__ and not raised_compiling(exc):
                raise
            parsed = self.main.parsed
            raise numba_backend.located_numba_error(exc, self.source, self.path,
                                                    parsed.filename, parsed.lines,
                                                    parsed.node.lineno) from None
        self.checked = True
        for dispatcher in getattr(self, "dispatchers", ()):  # compiled now: cache written
            numba_backend.restrict_cache_files(dispatcher)
        return result


def raised_compiling(exc: BaseException) -> bool:
    """Whether `exc` came out of numba's compiler (an internal AssertionError or KeyError
    of its typing passes) rather than from the compiled code running: some frame of its
    traceback is in numba's own core package."""
    marker = os.sep + os.path.join("numba", "core") + os.sep
    tb = exc.__traceback__
    while tb is not None:
        if marker in tb.tb_frame.f_code.co_filename:
            return True
        tb = tb.tb_next
    return False


def cache_key(request: Request, classes: tuple, inline: bool) -> tuple:
    """The cache key of a generated module: what its code was generated from."""
    return (request.code_key(), classes, inline)


def is_cached(request: Request, classes: tuple, inline: bool = False) -> bool:
    """Whether the module of `request` for these classes is in the cache (fresh or not)."""
    return cache_key(request, classes, inline) in _CACHE


def compiled_module(request: Request, classes: tuple = (), inline: bool = False) -> Compiled:
    """The generated module of `request` (whose `func` is the function parsed) for
    arguments of these shape classes: cached while its guards hold."""
    key = cache_key(request, classes, inline)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is None or hit.guards and hit.stale():
            hit = _CACHE[key] = Compiled(request, classes, inline)
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
        else:
            _CACHE.move_to_end(key)
        return hit
