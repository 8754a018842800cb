"""Error types: one base class, and errors about user code that say what and where.

Every error tangent_src raises on purpose is a TangentError. Errors about a bad argument of
a public function also subclass the built-in error Python code would expect there
(InvalidArgumentError is a ValueError, InvalidArgumentTypeError a TypeError), so that
`except ValueError` around a call keeps working.

    TangentError
        UserCodeError                 located in the user's source (file, line, hint)
            UnsupportedSyntaxError
            NoDerivativeRuleError
            ComplexValueError         (also a NotDifferentiableError)
        NotDifferentiableError        the request is ill-posed
            DerivativeNotImplementedError   (also NotImplementedError)
            DerivativeUndefinedError        (also ValueError)
            UnsupportedTypeError            (also TypeError)
            OutputTypeError                 (also TypeError)
        SourceUnavailableError
            SourceChangedError
        InvalidArgumentError          (also ValueError)
            RequestError              a transform's wrt/mode/backend/order (also a
                                      NotDifferentiableError)
        InvalidArgumentTypeError      (also TypeError)
        TemplateError                 a call or a rule body does not fit its rule
        NumbaUnavailableError
        CLIError                      bad command-line input

Warnings: CacheWarning (the cache directory is unsafe or unusable: kept in memory),
OptimizerWarning (the optimizer stopped at its round limit: correct, less tidy code).
"""
from __future__ import annotations


class TangentError(Exception):
    """Base class of every error tangent_src raises on purpose."""


class UserCodeError(TangentError):
    """A problem in the user's source, located by file, line and column, with a hint."""

    def __init__(self, message: str, *, filename: str = "<unknown>", lineno: int = 0,
                 col: int = 0, source_line: str = "", construct: str = "", hint: str = ""):
        self.message = message
        self.filename = filename
        self.lineno = lineno
        self.col = col
        self.source_line = source_line
        self.construct = construct
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        text = f"{self.filename}:{self.lineno}:{self.col + 1}: {self.message}"
        if self.source_line:
            stripped = self.source_line.rstrip("\n")
            text += f"\n    {stripped}\n    {' ' * self.col}^"
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text

    def one_line(self) -> str:
        """The error as a single line (used by the CLI)."""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{self.filename}:{self.lineno}:{self.col + 1}: {self.message}{hint}"


class UnsupportedSyntaxError(UserCodeError):
    """The user's function uses a construct the compiler does not handle."""


class NoDerivativeRuleError(UserCodeError):
    """A call to a function with no derivative rule and no Python source."""


class NotDifferentiableError(TangentError):
    """The request itself is ill-posed (integer input, non-scalar output for grad, ...)."""


class SourceUnavailableError(TangentError):
    """The source of a function cannot be found (built in, or defined in a REPL without history)."""


class SourceChangedError(SourceUnavailableError):
    """The source found for a function is not the code Python runs for it: its file was
    edited after the function was defined (reload the module or re-run the cell)."""


class DerivativeNotImplementedError(NotDifferentiableError, NotImplementedError):
    """Raised while a generated derivative runs: the rule does not cover this case of its
    function (an `ord`, a mode, a shape combination); never a wrong value instead."""


class DerivativeUndefinedError(NotDifferentiableError, ValueError):
    """Raised while a generated derivative runs: the derivative is not defined for these
    arguments (e.g. singular vectors that are not unique)."""


class ComplexValueError(UserCodeError, NotDifferentiableError):
    """A complex constant (`1j`, `complex(...)`) meets a differentiated value in the user's
    code: every rule assumes real arguments, so this is refused where it is written."""


class UnsupportedTypeError(NotDifferentiableError, TypeError):
    """Raised while a generated derivative runs: a value of a type tangent_src does not
    differentiate met the computation (np.matrix, from np.r_['r', ...])."""


class OutputTypeError(NotDifferentiableError, TypeError):
    """grad's function returned what grad cannot differentiate (a tuple, an array of more
    than one element, a non-number, a complex number): a TypeError, as in JAX and
    autograd, so their users' `except TypeError` keeps working."""


class InvalidArgumentError(TangentError, ValueError):
    """An argument of a public function has a value it does not accept (an unknown mode
    or backend, an order below 1)."""


class InvalidArgumentTypeError(TangentError, TypeError):
    """An argument of a public function is of a type it does not accept (source() of
    something that is not a transform)."""


class TemplateError(TangentError):
    """A call does not fit its rule's parameters, or a rule's body is not a template of
    assignments (the message says why). The transforms report it at the user's call."""


class NumbaUnavailableError(TangentError):
    """backend="numba" was requested but numba is not installed."""


class CLIError(TangentError):
    """Bad command-line input: the command line prints it and exits with status 2."""


class CacheWarning(UserWarning):
    """The directory for generated modules cannot be used safely (not a directory, a
    symbolic link, owned by another user, writable by others, read-only or full): the
    generated code is kept in memory instead. Issued once per directory and problem; the
    derivatives are unaffected."""


class OptimizerWarning(UserWarning):
    """The optimizer reached its round limit without settling: the generated code is
    correct but may be less simplified than usual."""


class RequestError(InvalidArgumentError, NotDifferentiableError):
    """A transform's options are malformed: `wrt` names no parameter or one twice, an
    unknown mode or backend, an order below 1. Raised when the transform is built (by
    `request.make_request`), before any code is generated; a `ValueError` too, which is
    what these options raised before."""

    def __init__(self, message: str, *, field: str = ""):
        self.field = field  # the option at fault: "wrt", "mode", "backend", "order", ...
        super().__init__(message)
