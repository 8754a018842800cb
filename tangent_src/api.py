"""Public transforms: grad, value_and_grad, autodiff, jvp, source, standalone_source.

Every transform returns a `Transform`: a callable that generates its code on the first
call (specialized to the shape classes of the arguments) and that is itself
differentiable, which is how higher derivatives work: `grad(grad(f))` differentiates the
generated source of `grad(f)`.
"""
from __future__ import annotations

import functools
import sys

from . import binding, call_entry, guards
from . import compiled as cache
from .analysis.complexity import with_complex_args
from .analysis.kinds import tests_types
from .arity import fixed_arity
from .call_entry import MISS, fast_key
from .compiled import (
    Compiled,
    clear_cache,  # noqa: F401  (part of the public API, exported by __init__)
    compiled_module,
    is_cached,
)
from .display import Displayed, source  # noqa: F401  (source: public, from here too)
from .dtypes import cast, common_narrow, dtype_plan, restore, widen
from .errors import NotDifferentiableError
from .request import Request, make_request
from .tracebacks import generation_errors_short
from .values import arg_classes, known_classes, not_differentiable, output_seed

_UNKNOWN = object()  # a signature not computed yet


def _innermost(func):
    while isinstance(func, Transform):
        func = func.func
    return func


def _unbind(func, wrt: tuple) -> tuple:
    """(function, wrt, the bound arguments passed first): see binding.unbind_method."""
    if isinstance(func, Transform) and func._bound:
        return func, binding.shifted(wrt, len(func._bound)), func._bound
    return binding.unbind_method(func, wrt)


class Transform(Displayed):
    """What grad/value_and_grad/autodiff return: call it like the function it transforms.

    Built from a validated `Request`; `func` and `wrt` are the function it generates code
    from (a bound method unbound, its object passed first) and the entries for it."""

    def __init__(self, request: Request, verbose: int = 0):
        self.request = request
        self.func, self.wrt, self._bound = _unbind(request.func, request.wrt)
        self.verbose = verbose
        inner = _innermost(self.func)
        functools.update_wrapper(self, inner)  # (copies inner's __dict__: set ours after)
        del self.__wrapped__  # so inspect does not mistake this for the function itself
        self.__name__ = f"{request.kind}_{getattr(inner, '__name__', 'f')}"
        self._signature_of: tuple = (None, (), _UNKNOWN)  # (defaults, kwdefaults, signature)
        self._last = None
        self._fast: dict = {}  # fast_key(arguments) -> that specialization's entry
        self._entry = call_entry.no_entry  # the entry of the specialization last run

    single = property(lambda self: self.request.single, doc="wrt was one entry")
    kind = property(lambda self: self.request.kind,
                    doc='"grad", "value_and_grad", "forward" or "reverse"')
    mode = property(lambda self: self.request.mode)
    return_value = property(lambda self: self.request.return_value)
    has_aux = property(lambda self: self.request.has_aux)
    backend = property(lambda self: self.request.backend)
    # whether the code tests types: then a list's class, and key, say its items' (kinds.py)
    _items = functools.cached_property(lambda self: tests_types(_innermost(self.func), True))

    def _generation(self, target, **changes) -> Request:
        """The request for the code generated from `target` (what `target()` returns)."""
        return self.request.with_func(target, wrt=self.wrt, **changes)

    @property
    def _sig(self):
        """The signature of the innermost function, with its current defaults: the shape
        classes of defaulted arguments (a function-valued default above all) key the
        generated code, and `f.__defaults__ = ...` replaces them after this transform was
        made (a signature taken once kept the old default: code for the old function)."""
        inner = _innermost(self.func)
        defaults = getattr(inner, "__defaults__", None)
        kwdefaults = getattr(inner, "__kwdefaults__", None)
        old_defaults, old_kwdefaults, sig = self._signature_of
        kwitems = tuple(kwdefaults.items()) if kwdefaults else ()
        if sig is _UNKNOWN or old_defaults is not defaults or \
                len(old_kwdefaults) != len(kwitems) or \
                any(k != j or a is not b for (k, a), (j, b) in zip(old_kwdefaults, kwitems)):
            sig = binding.signature(_innermost(self.func))  # None for a ufunc
            self._signature_of = (defaults, kwitems, sig)
        return sig

    def __reduce__(self):
        """Pickle as what the transform was built from: the function (by reference, as
        pickle stores functions), wrt and the options; the other side generates its code
        again. A transform bound to a module-level name (`@grad def df...`) is pickled as
        that name. Generated code, loaded modules and caches are never pickled."""
        module = sys.modules.get(getattr(self, "__module__", None) or "")
        found = module
        for part in getattr(self, "__qualname__", "").split("."):
            found = getattr(found, part, None)
        if found is self:
            return self.__qualname__
        return (Transform, (self.request, self.verbose))

    # -- generation ------------------------------------------------------------------
    def target(self, classes: tuple):
        """The Python function this transform differentiates (for a nested transform, the
        generated code of the inner one, specialized to `classes`)."""
        if isinstance(self.func, Transform):
            return self.func.differentiable(classes)
        return fixed_arity(guards.differentiable_target(self.func), classes)

    @generation_errors_short
    def differentiable(self, classes: tuple, **changes):
        """This transform's generated function, in the form another transform can read:
        user functions inlined (no forward/backward pairs), specialized to `classes`. It
        returns what calling the transform returns (value_and_grad: the value too); where
        the transform rearranges the generated result (has_aux, wrt=(k,)) it is refused
        rather than differentiated as something else."""
        if self.mode == "reverse" and (self.has_aux or (not self.single and
                                                        len(self.wrt) == 1)):
            what = "has_aux=True" if self.has_aux else f"wrt={self.wrt!r} (a 1-tuple)"
            raise NotDifferentiableError(
                f"cannot differentiate {self.__name__} built with {what}; differentiate "
                "the transform without it (wrt=k, no aux)")
        # generated for another transform to read: plain Python, no aux
        request = self._generation(self.target(classes), has_aux=False,
                                   backend="python", **changes)
        return compiled_module(request, classes, inline=True).function

    def __tangent_src_callee__(self, known: dict | None = None) -> tuple:
        """(the generated function a differentiated function calling this transform calls
        instead, the user function it was generated from, how its result is read): the
        general code, specialized to no shapes, differentiated again like grad(grad(f)).
        `known` maps argument positions to what the caller's front end knows they hold (a
        dict, an object of a class, a function, a string): the code is specialized to
        those, as it is for such arguments at top level (`sorted(d)` of a dict).
        A grad or value_and_grad gives its value too, "grad" or "value_and_grad", so the
        caller checks the value is a scalar as calling the transform does; else None."""
        inner = _innermost(self.func)
        classes = () if self._bound else known_classes(self._sig, known or {})
        changes = {"return_value": True, "seed_from_output": True} \
            if self.kind in ("grad", "value_and_grad") else {}  # seeded as grad seeds
        generated = self.differentiable(classes, **changes)
        # the code for complex values of the parameters `names` (complexity.py: a caller
        # passing them complex values calls it instead)
        generated.__tangent_src_respecialize__ = lambda names: self.differentiable(
            with_complex_args(classes, sorted(names)), **changes)
        return generated, inner, self.kind if changes else None

    @generation_errors_short
    def compile(self, classes: tuple = ()) -> Compiled:
        request = self._generation(self.target(classes),
                                   return_value=self.return_value or self.has_aux)
        fresh = not is_cached(request, classes)
        compiled = compiled_module(request, classes)
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
        if not kwargs:  # the last specialization run, if these arguments fit it (call_entry)
            result = self._entry(self, args)
            if result is not MISS:
                return result
        # (by the class: update_wrapper copies the function's attributes onto the instance)
        return Transform._call_general(self, args, kwargs)

    def _call_general(self, given: tuple, kwargs: dict):
        """A call the last specialization's entry did not take: another specialization's
        entry, found by the arguments' types, shapes and dtypes, else the general path
        (generates or finds the code, checks the inputs, makes the entry)."""
        args = self._bound + guards.real_scalars(given)
        key = None
        if not kwargs:
            key = fast_key(args, self._items)
            entry = self._fast.get(key)
            if entry is not None:
                result = entry(self, given)
                if result is not MISS:
                    self._entry = entry
                    return result
        if self.backend == "numba":  # float32 in: computed in float64, float32 out (never
            narrow = common_narrow((given, kwargs))  # on the fast path: not cached as such)
            if narrow is not None:
                return cast(self(*widen(given), **widen(kwargs)), narrow)
        if self.backend == "numba" and any(
                isinstance(a, dict) for a in (*args, *kwargs.values())):
            raise NotDifferentiableError(
                "backend='numba' does not take dict arguments; pass a tuple of arrays "
                "(numba compiles tuples of arrays)")
        classes = arg_classes(self._sig, args, kwargs, self._items)
        compiled = self.compile(classes)
        self._last = compiled
        guards.refuse_complex_arguments(self._name(), compiled.params, compiled.main.wrt,
                                        args, kwargs, compiled.complex_params)
        self._check_inputs(compiled, args, kwargs)
        result = self._checked_call(compiled, classes, args, kwargs)
        plan = None if self.mode == "forward" else \
            dtype_plan(compiled.params, compiled.main.wrt, args, kwargs)
        if key is not None and compiled.checked:  # numba: compiled and run once already
            if len(self._fast) >= cache.CACHE_SIZE:  # keyed by function arguments too: bounded
                self._fast.clear()
            self._entry = self._fast[key] = call_entry.entry(
                len(given), len(self._bound), args, key, compiled,
                self._output_checker(compiled, classes), plan, self._plain(compiled, plan),
                None if self.single else len(self.wrt))
        return self._finish(result, plan)

    def _plain(self, compiled: Compiled, plan) -> bool:
        """Whether `_finish` only checks that the result is real (the entry does that itself,
        call_entry.py): float64 gradients of a real function of real arguments, as generated."""
        return self.kind == "grad" and not (self.return_value or self.has_aux) and \
            plan is None and not (compiled.main.complex_output or compiled.complex_params) \
            and (self.single or len(self.wrt) > 1)

    def _output_checker(self, compiled: Compiled, classes: tuple):
        """The split (forward/backward) code through which a gradient whose output the
        source does not prove scalar runs on every call, so that its output is checked
        each time: it can depend on what the code reads live (a global axis, a shape), so
        one check per specialization returned the gradient of sum(f) for a function that
        had since become vector-valued. None when no check is needed."""
        if self.kind not in ("grad", "value_and_grad") or self.backend != "python":
            return None
        if compiled.output == ("pair" if self.has_aux else "scalar"):
            return None
        return self._split(classes)

    def _split_call(self, split: Compiled, args):
        """Forward half, output check, backward half (see `_output_checker`)."""
        value, saved = split.function(*args)
        self._check_output(value)
        grads = split.backward(saved, output_seed(value[0] if self.has_aux else value))
        return (value, grads) if self.return_value or self.has_aux else grads

    def call_with(self, args: tuple, extras: dict):
        """Call with the derivative's own inputs given by meaning rather than position:
        `extras` maps a wrt argument (index or name) to its tangent (forward mode), or
        "seed" to the output cotangent (reverse mode)."""
        args = self._bound + guards.real_scalars(args)
        extras = {key + len(self._bound) if isinstance(key, int) and key >= 0 else key: value
                  for key, value in extras.items()}
        compiled = self.compile(arg_classes(self._sig, args, {}, self._items))
        self._last = compiled
        guards.refuse_complex_arguments(self._name(), compiled.params, compiled.main.wrt,
                                        args, {}, compiled.complex_params)
        kwargs = {}
        for key, value in extras.items():
            (value,) = guards.real_scalars((value,))
            name = key if key == "seed" or not isinstance(key, int) else compiled.params[key]
            if not (compiled.main.complex_output if key == "seed"  # complex results and
                    else name in compiled.complex_params):  # arguments: complex ok
                guards.refuse_complex(value, f"{self._name()} along this " + (
                    "cotangent" if key == "seed" else f"tangent of '{name}'"))
            kwargs[compiled.main.seed if key == "seed" else
                   compiled.main.tangent_params[name]] = value
        plan = None if self.mode == "forward" else \
            dtype_plan(compiled.params, compiled.main.wrt, args, {})
        return self._finish(compiled.call(args, kwargs), plan)

    def _name(self) -> str:
        return getattr(_innermost(self.func), "__name__", "f")

    def _refuse_complex(self, result) -> None:
        """Derivatives (and a grad's loss) are real but for complex outputs and arguments."""
        compiled = self._last
        if self.kind in ("grad", "value_and_grad") and compiled.main.complex_output and \
                not compiled.complex_params:  # (else checked on the value: _check_output)
            raise NotDifferentiableError(
                f"{self.kind} of {self._name()}: its output may be complex (np.fft, a complex "
                "constant); differentiate a real loss (np.real, np.abs of it), or use vjp/jvp")
        if self.mode == "forward":
            if compiled.main.complex_output:
                return  # a complex result (an FFT of real inputs) has a complex tangent
            derivative = result[1] if self.return_value else result
        elif self.return_value or self.has_aux:
            value, derivative = result
            if not (compiled.main.complex_output and self.kind == "reverse"):  # a vjp's
                guards.refuse_complex_result(value[0] if self.has_aux else value,
                                             self._name())
        else:
            derivative = result
        if self.mode != "forward":  # complex arguments have complex gradients
            derivative = guards.real_gradients(derivative, compiled.main.wrt,
                                               compiled.complex_params)
        guards.refuse_complex_result(derivative, self._name())

    def _finish(self, result, plan: tuple | None = None):
        """The generated result in the transform's shape; gradients in their arguments'
        dtypes (`plan`, see dtypes.py)."""
        self._refuse_complex(result)
        if self.mode == "forward":
            return result
        if plan is not None:
            single = self.single or len(self.wrt) == 1
            result = (result[0], restore(result[1], plan, single)) \
                if self.return_value or self.has_aux else restore(result, plan, single)
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

    def _check_inputs(self, compiled: Compiled, args, kwargs) -> None:
        """Refuse a wrt argument that has no derivative: an integer/bool, a string, None,
        or a container or object with no float inside. Runs on every new combination of
        argument types, shapes and dtypes (the fast path's key), so the answer does not
        depend on what was called before."""
        values = dict(zip(compiled.params, args))
        values.update(kwargs)
        name_of = getattr(_innermost(self.func), "__name__", "f")
        for name in compiled.main.wrt:
            if name not in values:
                continue  # a default value: the generated code's own business
            problem = not_differentiable(values[name])
            if problem:
                raise NotDifferentiableError(
                    f"cannot differentiate {name_of} with respect to '{name}': {problem}")

    def _checked_call(self, compiled: Compiled, classes: tuple, args, kwargs):
        """Run the generated code for a new specialization, checking what `func` returned
        (a scalar for grad, a pair for has_aux) on the value the generated code computes:
        the user's function itself is never run, so a function that writes into its
        arguments or draws random numbers is evaluated exactly once."""
        if self.kind not in ("grad", "value_and_grad"):
            return compiled.call(args, kwargs)
        output = compiled.output
        if output == "tuple" or (output == "scalar" and self.has_aux):
            # known from the source: report it before running anything
            self._check_output(0.0 if self.has_aux else (None,))
        if output == ("pair" if self.has_aux else "scalar"):
            return compiled.call(args, kwargs)
        # not provably a scalar: compute the value, check it, then run the backward pass
        # (with the seed if one was passed by name: the forward half does not take it)
        seed_name = compiled.main.seed
        primal_kwargs = {k: v for k, v in kwargs.items() if k != seed_name}
        value, saved = self._forward_half(classes, args, primal_kwargs)
        self._check_output(value)
        if seed_name not in kwargs:  # a one-element array output: seeded in its shape
            kwargs = {**kwargs, seed_name: output_seed(value[0] if self.has_aux else value)}
        if self.backend != "python":  # the check ran the Python forward half; now numba's
            return compiled.call(args, kwargs)
        grads = self._split(classes).backward(saved, kwargs.get(seed_name, 1.0))
        return (value, grads) if self.return_value or self.has_aux else grads

    def _split(self, classes: tuple) -> Compiled:
        return compiled_module(self._generation(self.target(classes), mode="split",
                                          return_value=True, backend="python"), classes)

    def _forward_half(self, classes: tuple, args, kwargs):
        """(value, saved) from the forward half of this gradient: the function's value as
        the generated code computes it, and what the backward half needs. How an output
        that the source does not prove scalar is checked before any adjoint runs."""
        return self._split(classes).call(args, kwargs)

    def output_value(self, args: tuple):
        """What the differentiated function returns at `args`, for checking its kind:
        0.0 when the source proves a scalar, a tuple when it returns a tuple display, else
        the value as the generated gradient computes it. The user's function is not run."""
        args = self._bound + tuple(args)
        classes = arg_classes(self._sig, args, {}, self._items)
        output = self.compile(classes).output
        if output == "scalar":
            return 0.0
        if output == "tuple":
            return (None,)
        # computed each time: the kind can depend on values read live (see _output_checker)
        return self._forward_half(classes, args, {})[0]

    def _check_output(self, out) -> None:
        guards.check_grad_output(out, getattr(_innermost(self.func), "__name__", "f"),
                                 self.has_aux)


def grad(func=None, wrt=0, *, argnums=None, argnum=None, has_aux: bool = False,
         verbose: int = 0, backend: str = "python"):
    """The gradient of scalar-valued `func` with respect to argument(s) `wrt` (index or name).

    Arguments may be (nested) tuples, lists and dicts of arrays; the gradient has the same
    structure. With has_aux=True, `func` returns `(loss, aux)` and the result is
    `(gradient, aux)`. `argnums` (JAX's name) and `argnum` (autograd's) are aliases of
    `wrt`; giving two of them with different values is refused."""
    if func is None:
        return functools.partial(grad, wrt=wrt, argnums=argnums, argnum=argnum,
                                 has_aux=has_aux, verbose=verbose, backend=backend)
    return Transform(make_request(func, wrt, argnums=argnums, argnum=argnum, kind="grad",
                                  has_aux=has_aux, backend=backend), verbose)


def value_and_grad(func=None, wrt=0, *, argnums=None, argnum=None, has_aux: bool = False,
                   verbose: int = 0, backend: str = "python"):
    """Like `grad`, but returns `(value, gradient)` (`((value, aux), gradient)` with has_aux;
    `argnums`/`argnum` as grad's)."""
    if func is None:
        return functools.partial(value_and_grad, wrt=wrt, argnums=argnums, argnum=argnum,
                                 has_aux=has_aux, verbose=verbose, backend=backend)
    return Transform(make_request(func, wrt, argnums=argnums, argnum=argnum,
                                  kind="value_and_grad", return_value=True,
                                  has_aux=has_aux, backend=backend), verbose)


# transforms a differentiated function may build where it is written: grad(f)(x) there calls
# the generated code (frontend/lower/nested.py)
grad.__tangent_src_transform__ = True
value_and_grad.__tangent_src_transform__ = True


def autodiff(func, mode: str = "reverse", wrt=0, *, argnums=None, argnum=None,
             verbose: int = 0, backend: str = "python"):
    """The generated derivative function itself (`argnums`/`argnum` as grad's).
    mode="forward": `g(*args, *tangents) -> tangent of the output`, one tangent per `wrt`
    argument (each defaults to 1.0). mode="reverse": `g(*args, dout=1.0) -> gradient(s)`,
    where the seed is the cotangent of the output (any shape)."""
    return Transform(make_request(func, wrt, argnums=argnums, argnum=argnum, kind=mode,
                                  mode=mode, backend=backend), verbose)

