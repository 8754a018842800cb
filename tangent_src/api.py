"""Public transforms: grad, value_and_grad, source, standalone_source."""
from __future__ import annotations

import functools
import inspect
import threading

import numpy as np

from . import runtime
from .analysis.shapes import shape_class
from .backend.load import load_module
from .compiler import ModuleBuilder
from .errors import NotDifferentiableError

_CACHE: dict = {}
_LOCK = threading.RLock()


def clear_cache() -> None:
    """Forget every generated function (the next call regenerates it)."""
    with _LOCK:
        _CACHE.clear()


def _normalize_wrt(wrt, argnums):
    if argnums is not None:
        wrt = argnums
    single = not isinstance(wrt, (tuple, list))
    return (wrt,) if single else tuple(wrt), single


class _Compiled:
    """A generated gradient module: its source, its loaded function and facts about it."""

    def __init__(self, func, wrt: tuple, return_value: bool, ranks: tuple = ()):
        builder = ModuleBuilder()
        self.main = builder.gradient(func, wrt, return_value=return_value, arg_classes=ranks)
        self.builder = builder
        self.source = builder.source(self.main)
        fixed, live, user_modules = builder.live_globals()
        fixed.update({h: getattr(runtime, h) for h in runtime.HELPERS})
        module_ns, self.path = load_module(self.source, self.main.name, fixed, live,
                                           user_modules)
        self.function = module_ns[self.main.name]
        self.params = [a.id for a in self.main.parsed.node.args.posonlyargs +
                       self.main.parsed.node.args.args + self.main.parsed.node.args.kwonlyargs]


def _compiled(func, wrt, return_value, ranks=()) -> _Compiled:
    key = (func, wrt, return_value, ranks)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is None:
            hit = _CACHE[key] = _Compiled(func, wrt, return_value, ranks)
        return hit


def _signature(func):
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):
        return None


def arg_ranks(sig, args, kwargs) -> tuple:
    """(parameter, rank) pairs of a call: the key of one specialization."""
    if sig is None:
        return ()
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError:
        return ()
    bound.apply_defaults()
    return tuple((name, shape_class(value)) for name, value in bound.arguments.items())


class GradientFunction:
    """What `grad` returns: call it like the original function to get the gradient."""

    def __init__(self, func, wrt, single: bool, return_value: bool, verbose: int):
        self.func, self.wrt, self.single = func, wrt, single
        self.return_value, self.verbose = return_value, verbose
        self._checked = False
        self._sig = _signature(func)
        self._last = None
        self._fast: dict = {}
        functools.update_wrapper(self, func)
        self.__name__ = ("value_and_grad_" if return_value else "grad_") + func.__name__

    def compile(self, ranks: tuple = ()) -> _Compiled:
        fresh = (self.func, self.wrt, self.return_value, ranks) not in _CACHE
        compiled = _compiled(self.func, self.wrt, self.return_value, ranks)
        if self.verbose and fresh:
            print(compiled.source)
        return compiled

    @property
    def source(self) -> str:
        """The source last run (or, before any call, the general version for any shapes)."""
        return (self._last or self.compile()).source

    def __call__(self, *args, **kwargs):
        key = None
        if not kwargs:  # fast path: one dict lookup on the arguments' types and shapes
            key = tuple(a.shape if type(a) is np.ndarray else type(a) for a in args)
            function = self._fast.get(key)
            if function is not None:
                return self._finish(function(*args))
        compiled = self.compile(arg_ranks(self._sig, args, kwargs))
        self._last = compiled
        if not self._checked:
            self._check_inputs(compiled, args, kwargs)
        if key is not None:
            self._fast[key] = compiled.function
        return self._finish(compiled.function(*args, **kwargs))

    def _finish(self, result):
        if self.return_value:
            value, grads = result
            return value, (grads if self.single or len(self.wrt) > 1 else (grads,))
        if self.single or len(self.wrt) > 1:
            return result
        return (result,)

    def _check_inputs(self, compiled: _Compiled, args, kwargs) -> None:
        values = dict(zip(compiled.params, args))
        values.update(kwargs)
        for name in compiled.main.wrt:
            if name not in values:
                continue
            value = values[name]
            dtype = getattr(value, "dtype", None)
            if isinstance(value, (bool, int, np.integer, np.bool_)) or (
                    dtype is not None and dtype.kind in "biu"):
                raise NotDifferentiableError(
                    f"cannot differentiate {self.func.__name__} with respect to '{name}': it is "
                    f"an integer/bool value ({type(value).__name__}); pass a float")
        try:
            out = self.func(*args, **kwargs)
        except Exception:  # noqa: BLE001 - the gradient raises it, pointing into generated code
            return
        if np.ndim(out) != 0 or isinstance(out, tuple):
            raise NotDifferentiableError(
                f"grad requires {self.func.__name__} to return a scalar, but it returned "
                f"{'a tuple' if isinstance(out, tuple) else f'an array of shape {np.shape(out)}'};"
                " for array outputs use a vector-Jacobian product (tangent_src.vjp) or sum "
                "the output")
        self._checked = True


def grad(func=None, wrt=0, *, argnums=None, verbose: int = 0, backend: str = "python"):
    """The gradient of scalar-valued `func` with respect to argument(s) `wrt` (index or name)."""
    if backend != "python":
        raise NotImplementedError(f"backend={backend!r} is not available yet")
    if func is None:
        return functools.partial(grad, wrt=wrt, argnums=argnums, verbose=verbose)
    wrt, single = _normalize_wrt(wrt, argnums)
    return GradientFunction(func, wrt, single, False, verbose)


def value_and_grad(func=None, wrt=0, *, argnums=None, verbose: int = 0):
    """Like `grad`, but returns `(value, gradient)`."""
    if func is None:
        return functools.partial(value_and_grad, wrt=wrt, argnums=argnums, verbose=verbose)
    wrt, single = _normalize_wrt(wrt, argnums)
    return GradientFunction(func, wrt, single, True, verbose)


def source(df, *example_args, **example_kwargs) -> str:
    """The generated source of a gradient returned by `grad`/`value_and_grad`.

    With example arguments: the version specialized to their ranks (scalar vs array
    of each ndim), which is what a call with such arguments runs. Without: the
    version last run, or the general one if the gradient was never called."""
    if isinstance(df, GradientFunction):
        if example_args or example_kwargs:
            return df.compile(arg_ranks(df._sig, example_args, example_kwargs)).source
        return df.source
    raise TypeError(f"source() takes a function returned by grad(), got {type(df).__name__}")


def standalone_source(func, wrt=0, name: str | None = None) -> str:
    """A complete module defining the gradient of `func`, runnable without tangent_src."""
    wrt, _ = _normalize_wrt(wrt, None)
    builder = ModuleBuilder()
    main = builder.gradient(func, wrt, name=name)
    return builder.source(main, standalone=True)
