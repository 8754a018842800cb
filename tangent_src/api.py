"""Public transforms: grad, value_and_grad, autodiff, jvp, source, standalone_source.

Every transform returns a `Transform`: a callable that generates its code on the first
call (specialized to the shape classes of the arguments) and that is itself
differentiable, which is how higher derivatives work: `grad(grad(f))` differentiates the
generated source of `grad(f)`.
"""
from __future__ import annotations

import functools
import inspect
import threading

import numpy as np

from . import runtime
from .analysis.shapes import FUNCTION_TYPES, shape_class
from .backend import numba as numba_backend
from .backend.load import load_module, load_real_module
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
    """A generated module: its source, its loaded function and facts about it."""

    def __init__(self, func, wrt: tuple, mode: str, return_value: bool, classes: tuple,
                 inline: bool, has_aux: bool = False, backend: str = "python"):
        if backend == "numba":
            numba_backend.require_numba()
        builder = ModuleBuilder(inline=inline)
        if mode == "reverse":
            self.main = builder.gradient(func, wrt, return_value=return_value,
                                         arg_classes=classes, has_aux=has_aux)
        else:
            self.main = builder.tangent(func, wrt, return_value=return_value,
                                        arg_classes=classes)
        self.builder = builder
        self.source = builder.source(self.main)
        fixed, live, user_modules = builder.live_globals()
        fixed.update({h: getattr(runtime, h) for h in runtime.HELPERS})
        fixed.setdefault("np", np)
        self.guards = builder.guards()
        if backend == "numba":
            self.guards += numba_backend.frozen_guards(live)
        loader = load_real_module if backend == "numba" else load_module
        module_ns, self.path = loader(self.source, self.main.name, fixed, live, user_modules,
                                      self.guards)
        self.function = module_ns[self.main.name]
        args = self.main.parsed.node.args
        self.params = [a.id for a in args.posonlyargs + args.args + args.kwonlyargs]
        self.backend = backend
        self.checked = backend == "python"
        if backend == "numba":
            names = [node.name for fn in builder.functions for node in fn.nodes]
            self.function = numba_backend.compile_module(module_ns, names, self.main.name,
                                                         user_modules)

    def stale(self) -> bool:
        """Whether a global or closure cell the code was generated (or, under numba,
        compiled) for has been rebound since: then it must be generated again."""
        for ref, value in self.guards:
            try:
                if ref.read() is not value:
                    return True
            except KeyError:
                return True
        return False

    def call(self, args, kwargs):
        """Run the generated function; under numba, a compilation failure (on the first
        call) becomes an error located at the user's line."""
        if self.checked:
            return self.function(*args, **kwargs)
        try:
            result = self.function(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - numba's errors have many classes
            if "numba" not in type(exc).__module__:
                raise
            parsed = self.main.parsed
            raise numba_backend.located_numba_error(exc, self.source, self.path,
                                                    parsed.filename, parsed.lines,
                                                    parsed.node.lineno) from None
        self.checked = True
        return result


def _compiled(func, wrt, mode, return_value, classes=(), inline=False,
              has_aux=False, backend="python") -> _Compiled:
    key = (func, wrt, mode, return_value, classes, inline, has_aux, backend)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is None or hit.guards and hit.stale():
            hit = _CACHE[key] = _Compiled(func, wrt, mode, return_value, classes, inline,
                                          has_aux, backend)
        return hit


def _innermost(func):
    while isinstance(func, Transform):
        func = func.func
    return func


def _signature(func):
    try:
        return inspect.signature(_innermost(func))
    except (TypeError, ValueError):
        return None


def arg_classes(sig, args, kwargs) -> tuple:
    """(parameter, shape class) pairs of a call: the key of one specialization."""
    if sig is None:
        return ()
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError:  # extra trailing arguments: tangents or a seed
        try:
            bound = sig.bind(*args[:len(sig.parameters)], **kwargs)
        except TypeError:
            return ()
    bound.apply_defaults()
    return tuple((name, shape_class(value)) for name, value in bound.arguments.items())


class Transform:
    """What grad/value_and_grad/autodiff return: call it like the function it transforms."""

    def __init__(self, func, wrt, single: bool, mode: str, return_value: bool, verbose: int,
                 kind: str, has_aux: bool = False, backend: str = "python"):
        self.func, self.wrt, self.single = func, wrt, single
        self.has_aux = has_aux
        if backend not in ("python", "numba"):
            raise ValueError(f"backend must be 'python' or 'numba', not {backend!r}")
        self.backend = backend
        self.mode, self.return_value, self.verbose = mode, return_value, verbose
        self.kind = kind                    # "grad", "value_and_grad", "forward", "reverse"
        self._checked = False
        self._sig = _signature(func)
        self._last = None
        self._fast: dict = {}
        inner = _innermost(func)
        functools.update_wrapper(self, inner)
        del self.__wrapped__  # so inspect does not mistake this for the function itself
        self.__name__ = f"{kind}_{getattr(inner, '__name__', 'f')}"

    # -- generation ------------------------------------------------------------------
    def target(self, classes: tuple):
        """The Python function this transform differentiates (for a nested transform, the
        generated code of the inner one, specialized to `classes`)."""
        if isinstance(self.func, Transform):
            return self.func.differentiable(classes)
        return self.func

    def differentiable(self, classes: tuple):
        """This transform's generated function, in the form another transform can read:
        user functions inlined (no forward/backward pairs), specialized to `classes`."""
        return _compiled(self.target(classes), self.wrt, self.mode, False, classes,
                         inline=True).function

    def compile(self, classes: tuple = ()) -> _Compiled:
        target = self.target(classes)
        returns_value = self.return_value or self.has_aux
        key = (target, self.wrt, self.mode, returns_value, classes, False, self.has_aux,
               self.backend)
        fresh = key not in _CACHE
        compiled = _compiled(target, self.wrt, self.mode, returns_value, classes,
                             has_aux=self.has_aux, backend=self.backend)
        if self.verbose and fresh:
            print(compiled.source)
        return compiled

    @property
    def signatures(self) -> list:
        """The argument types the compiled function was compiled for (numba back end)."""
        function = (self._last.function if self._last else None)
        return list(getattr(function, "signatures", []))

    @property
    def source(self) -> str:
        """The source last run (or, before any call, the general version for any shapes)."""
        return (self._last or self.compile()).source

    # -- calling ---------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if self.backend == "numba" and not self._checked and any(
                isinstance(a, dict) for a in (*args, *kwargs.values())):
            raise NotDifferentiableError(
                "backend='numba' does not take dict arguments; pass a tuple of arrays "
                "(numba compiles tuples of arrays)")
        key = None
        if not kwargs:  # fast path: one dict lookup on the arguments' types and shapes
            # a function argument is specialized on (the code calls it by name): by identity
            key = tuple(a.shape if type(a) is np.ndarray else a if type(a) in FUNCTION_TYPES
                        else type(a) for a in args)
            fast = self._fast.get(key)
            if fast is not None and not (fast.guards and fast.stale()):
                return self._finish(fast.function(*args))
        compiled = self.compile(arg_classes(self._sig, args, kwargs))
        self._last = compiled
        if not self._checked:
            self._check_inputs(compiled, args, kwargs)
        result = compiled.call(args, kwargs)
        if key is not None:
            self._fast[key] = compiled
        return self._finish(result)

    def call_with(self, args: tuple, extras: dict):
        """Call with the derivative's own inputs given by meaning rather than position:
        `extras` maps a wrt argument (index or name) to its tangent (forward mode), or
        "seed" to the output cotangent (reverse mode)."""
        compiled = self.compile(arg_classes(self._sig, args, {}))
        self._last = compiled
        kwargs = {}
        for key, value in extras.items():
            if key == "seed":
                kwargs[compiled.main.seed] = value
            else:
                name = compiled.params[key] if isinstance(key, int) else key
                kwargs[compiled.main.tangent_params[name]] = value
        return self._finish(compiled.call(args, kwargs))

    def _finish(self, result):
        if self.mode == "forward":
            return result
        if self.return_value or self.has_aux:
            value, grads = result
            grads = grads if self.single or len(self.wrt) > 1 else (grads,)
            if self.has_aux and not self.return_value:
                return grads, value[1]          # grad(f, has_aux=True): (gradient, aux)
            if self.has_aux:
                return (value[0], value[1]), grads
            return value, grads
        if self.single or len(self.wrt) > 1:
            return result
        return (result,)

    def _check_inputs(self, compiled: _Compiled, args, kwargs) -> None:
        values = dict(zip(compiled.params, args))
        values.update(kwargs)
        name_of = getattr(_innermost(self.func), "__name__", "f")
        for name in compiled.main.wrt:
            value = values.get(name)
            dtype = getattr(value, "dtype", None)
            if isinstance(value, (bool, int, np.integer, np.bool_)) or (
                    dtype is not None and dtype.kind in "biu"):
                raise NotDifferentiableError(
                    f"cannot differentiate {name_of} with respect to '{name}': it is an "
                    f"integer/bool value ({type(value).__name__}); pass a float")
        if self.kind not in ("grad", "value_and_grad"):
            self._checked = True
            return
        try:
            out = self.func(*args, **kwargs)
        except Exception:  # noqa: BLE001 - the gradient raises it, pointing into generated code
            return
        if self.has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise NotDifferentiableError(
                    f"has_aux=True requires {name_of} to return a pair (loss, aux)")
            out = out[0]
        if isinstance(out, tuple):
            raise NotDifferentiableError(
                f"grad requires {name_of} to return a scalar, but it returned a tuple; to "
                "return auxiliary values use has_aux=True (return (loss, aux)) or return only "
                "the loss")
        if np.ndim(out) != 0:
            raise NotDifferentiableError(
                f"grad requires {name_of} to return a scalar, but it returned an array of "
                f"shape {np.shape(out)}; for array outputs use a vector-Jacobian product "
                "(tangent_src.vjp) or sum the output")
        self._checked = True


def grad(func=None, wrt=0, *, argnums=None, has_aux: bool = False, verbose: int = 0,
         backend: str = "python"):
    """The gradient of scalar-valued `func` with respect to argument(s) `wrt` (index or name).

    Arguments may be (nested) tuples, lists and dicts of arrays; the gradient has the same
    structure. With has_aux=True, `func` returns `(loss, aux)` and the result is
    `(gradient, aux)`."""
    if func is None:
        return functools.partial(grad, wrt=wrt, argnums=argnums, has_aux=has_aux,
                                 verbose=verbose, backend=backend)
    wrt, single = _normalize_wrt(wrt, argnums)
    return Transform(func, wrt, single, "reverse", False, verbose, "grad", has_aux, backend)


def value_and_grad(func=None, wrt=0, *, argnums=None, has_aux: bool = False,
                   verbose: int = 0, backend: str = "python"):
    """Like `grad`, but returns `(value, gradient)` (`((value, aux), gradient)` with has_aux)."""
    if func is None:
        return functools.partial(value_and_grad, wrt=wrt, argnums=argnums, has_aux=has_aux,
                                 verbose=verbose, backend=backend)
    wrt, single = _normalize_wrt(wrt, argnums)
    return Transform(func, wrt, single, "reverse", True, verbose, "value_and_grad", has_aux,
                     backend)


def autodiff(func, mode: str = "reverse", wrt=0, *, verbose: int = 0,
             backend: str = "python"):
    """The generated derivative function itself.

    mode="forward": `g(*args, *tangents) -> tangent of the output`, one tangent per `wrt`
    argument (each defaults to 1.0). mode="reverse": `g(*args, seed=1.0) -> gradient(s)`,
    where the seed is the cotangent of the output (any shape)."""
    if mode not in ("forward", "reverse"):
        raise ValueError(f"mode must be 'forward' or 'reverse', not {mode!r}")
    wrt, single = _normalize_wrt(wrt, None)
    return Transform(func, wrt, single, mode, False, verbose, mode, backend=backend)


def source(df, *example_args, **example_kwargs) -> str:
    """The generated source of a function returned by a transform.

    With example arguments: the version specialized to their shape classes, which is
    what a call with such arguments runs. Without: the version last run, or the
    general one if it was never called."""
    if isinstance(df, Transform):
        if example_args or example_kwargs:
            return df.compile(arg_classes(df._sig, example_args, example_kwargs)).source
        return df.source
    raise TypeError(f"source() takes a function returned by grad(), got {type(df).__name__}")


def standalone_source(func, wrt=0, name: str | None = None, mode: str = "reverse",
                      order: int = 1, numba: bool = False) -> str:
    """A complete module defining the derivative of `func`, runnable without tangent_src.

    order > 1 differentiates the generated derivative again (the same `wrt` each time),
    e.g. order=2 with mode="reverse" gives d/dx of the gradient of a scalar function."""
    if order < 1:
        raise ValueError(f"order must be at least 1, not {order}")
    wrt, _ = _normalize_wrt(wrt, None)
    for _ in range(order - 1):
        func = _compiled(func, wrt, mode, False, (), inline=True).function
    builder = ModuleBuilder()
    if mode == "reverse":
        main = builder.gradient(func, wrt, name=name)
    else:
        main = builder.tangent(func, wrt, name=name)
    return builder.source(main, standalone=True, numba=numba)
