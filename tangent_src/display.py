"""How a transform presents itself: `repr`, `inspect.signature`, and in Jupyter/IPython
its generated source, syntax-highlighted.

A transform is called like the function it transforms plus, last, the output's seed
`dout` in reverse mode (its cotangent, default 1.0), or a tangent `d<name>` per
differentiated argument in forward mode. The signature says so; before the first call
the seed's name is the one generation will choose unless the function itself uses
`dout` (then it is read from the generated code once there is some)."""
from __future__ import annotations

import html
import inspect

from .errors import InvalidArgumentTypeError, TangentError
from .values import arg_classes

_KIND = {"grad": "gradient", "value_and_grad": "value and gradient",
         "reverse": "reverse-mode derivative", "forward": "forward-mode derivative"}


class Displayed:
    """Mixin for `Transform`: repr, signature and notebook display."""

    resolved_at_generation = True  # see request.Params.of

    def _wrt_names(self) -> list[str]:
        sig = self._sig
        names = list(sig.parameters) if sig is not None else []
        return [names[w] if isinstance(w, int) and -len(names) <= w < len(names) else str(w)
                for w in self.request.wrt]

    def __repr__(self) -> str:
        func = getattr(self.func, "__name__", repr(self.func))
        wrt = ", ".join(self._wrt_names())
        backend = "" if self.backend == "python" else f" (backend={self.backend!r})"
        return f"<{_KIND.get(self.kind, self.kind)} of {func} with respect to {wrt}{backend}>"

    @property
    def __signature__(self) -> inspect.Signature | None:
        sig = self._sig
        if sig is None:
            return None
        params = list(sig.parameters.values())
        taken = {p.name for p in params}
        if self.mode == "forward":
            extra = [f"d{name}" for name in self._wrt_names()]
        else:
            seed = self._last.main.seed if self._last is not None else "dout"
            k = 2
            while seed in taken:
                seed, k = f"dout{k}", k + 1
            extra = [seed]
        # as the generated function takes them: after the positional parameters, or
        # keyword-only after keyword-only ones (transforms of transforms pass them by
        # position: jvp(grad(f), (x, 1.0), (1.0, 0.0)))
        P = inspect.Parameter
        kind = P.KEYWORD_ONLY if any(p.kind in (P.KEYWORD_ONLY, P.VAR_POSITIONAL)
                                     for p in params) else P.POSITIONAL_OR_KEYWORD
        keep = [p for p in params if p.kind != P.VAR_KEYWORD]
        star_star = [p for p in params if p.kind == P.VAR_KEYWORD]
        added = [P(name, kind, default=1.0) for name in extra]
        return sig.replace(parameters=keep + added + star_star)

    def _display_source(self) -> str | None:
        """The generated source to show (None, with the reason kept, if it cannot be
        generated without arguments)."""
        try:
            return self.source
        except TangentError as exc:
            self._display_error = str(exc).splitlines()[0]
            return None

    def _repr_markdown_(self) -> str:
        text = self._display_source()
        body = f"```python\n{text}```" if text is not None else \
            f"(no source yet: {self._display_error})"
        return f"**{html.escape(repr(self))}**\n\n{body}"

    def _repr_html_(self) -> str:
        text = self._display_source()
        title = f"<p><b>{html.escape(repr(self))}</b></p>"
        if text is None:
            return f"{title}<p>(no source yet: {html.escape(self._display_error)})</p>"
        try:
            from pygments import highlight
            from pygments.formatters import HtmlFormatter
            from pygments.lexers import PythonLexer
        except ImportError:
            return f"{title}<pre>{html.escape(text)}</pre>"
        return title + highlight(text, PythonLexer(), HtmlFormatter(noclasses=True))


def source(df, *example_args, **example_kwargs) -> str:
    """The generated source of a function returned by a transform.

    With example arguments: the version specialized to their shape classes, which is
    what a call with such arguments runs. Without: the version last run, or the
    general one if it was never called."""
    if isinstance(df, Displayed):
        if example_args or example_kwargs:
            return df.compile(arg_classes(df._sig, example_args, example_kwargs,
                                          df._items)).source
        return df.source
    raise InvalidArgumentTypeError(
        f"source() takes a function returned by grad(), got {type(df).__name__}")
