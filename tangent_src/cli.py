"""Command-line interface: write a standalone derivative module for a function in a file.

    tangent-src grad path/to/mod.py:loss --wrt W,b -o dloss.py     # reverse mode
    tangent-src jvp path/to/mod.py:f --wrt x -o jvp_f.py           # forward mode
    tangent-src grad path/to/mod.py:f --order 2 -o ddf.py          # second derivative
    tangent-src show path/to/mod.py:loss --wrt W                   # the gradient beside loss
    tangent-src cache --info                                       # where generated code is cached
    tangent-src cache --clear                                      # delete it

Every failure the user can cause (bad arguments, a missing file or function, a module
that fails to import, code the compiler does not support) is reported as one line on
stderr, ``tangent-src: error: ...``, with exit status 2. An output file is written
atomically: on failure nothing is created and an existing file is left untouched.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.machinery
import importlib.util
import keyword
import os
import sys
import traceback
import warnings

from tangent_src.atomic_write import write_atomically
from tangent_src.errors import CLIError, RequestError, TangentError, UserCodeError

PROG = "tangent-src"
EXIT_USAGE = 2
EXIT_INTERNAL = 1


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are raised, so main() reports them on one line."""

    def error(self, message):
        raise CLIError(f"{message} (see '{self.prog} --help')")


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


# --------------------------------------------------------------------------- arguments


def parse_order(text: str) -> int:
    """--order: a whole number, at least 1."""
    try:
        order = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if order < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {order}")
    return order


def _add_common_arguments(command, default_name: str, what: str) -> None:
    command.add_argument(
        "target",
        metavar="PATH:FUNC",
        help="the Python file and the name of the function in it, e.g. model.py:loss; "
        "the file is imported (its top-level code runs) to find the function",
    )
    command.add_argument(
        "--wrt",
        metavar="ARGS",
        default=None,
        help="comma-separated argument names or positions to differentiate with "
        "respect to, e.g. 'W,b' or '0,1' (default: the first argument)",
    )
    command.add_argument(
        "--order",
        metavar="N",
        type=parse_order,
        default=1,
        help=f"differentiate N times: N > 1 differentiates the generated {what} again, "
        "with respect to the same --wrt arguments, N - 1 more times; each time appends "
        "its own seed arguments, default 1.0 (default: 1)",
    )
    command.add_argument(
        "--complex",
        metavar="ARGS",
        default=None,
        help="comma-separated argument names or positions that are complex: the "
        f"generated {what} is written for complex values there (JAX's convention; "
        "default: every argument real)",
    )
    command.add_argument(
        "--name",
        metavar="NAME",
        default=None,
        help=f"name of the generated function (default: {default_name})",
    )
    command.add_argument(
        "--numba",
        action="store_true",
        help="decorate the generated functions with numba.njit (the module then imports "
        "numba and carries numba versions of the helpers it calls)",
    )
    command.add_argument(
        "-o",
        "--output",
        metavar="OUT.py",
        default=None,
        help="file to write (default: standard output); written atomically",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Source-to-source automatic differentiation for Python/NumPy: "
        "writes readable derivative code that runs without tangent_src installed. "
        "PATH is imported to find FUNC, so its top-level code runs (anything it prints "
        "goes to stderr).",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    grad = commands.add_parser(
        "grad",
        help="write a standalone module with the reverse-mode gradient of a function",
        description="Write a standalone Python module containing the gradient (reverse "
        "mode) of FUNC, defined in the Python file PATH. The generated function takes "
        "FUNC's arguments followed by the output seed (default 1.0) and returns the "
        "gradient with respect to the --wrt arguments (a tuple when there are several). "
        "With --order 2 it differentiates that gradient again: for a scalar function of "
        "one argument x, the result is f''(x) (times the seeds), e.g. ddf(x, dout=1.0, "
        "dout2=1.0).",
    )
    _add_common_arguments(grad, "'d' + FUNC, e.g. dloss for loss; 'dd' + FUNC with "
                          "--order 2", "gradient")
    grad.set_defaults(handler=_cmd_grad)

    jvp = commands.add_parser(
        "jvp",
        help="write a standalone module with the forward-mode derivative (Jacobian-vector "
        "product) of a function",
        description="Write a standalone Python module containing the forward-mode "
        "derivative of FUNC, defined in the Python file PATH. The generated function takes "
        "FUNC's arguments followed by one tangent per --wrt argument (named 'd' + the "
        "argument, default 1.0; for an array argument pass a tangent of its shape) and "
        "returns the derivative of FUNC's output along those tangents, e.g. "
        "jvp_f(x, dx=1.0). FUNC's output may be an array. With --order 2 "
        "it differentiates that derivative again along a second set of tangents "
        "(e.g. jvp_jvp_f(x, dx=1.0, dx2=1.0), the second derivative of f along dx and "
        "dx2).",
    )
    _add_common_arguments(jvp, "'jvp_' + FUNC, e.g. jvp_f for f; 'jvp_jvp_' + FUNC "
                          "with --order 2", "derivative")
    jvp.set_defaults(handler=_cmd_jvp)

    show = commands.add_parser(
        "show",
        help="print the generated derivative with the original lines beside it",
        description="Print the derivative of FUNC (reverse mode unless --mode forward) with "
        "each original line of FUNC beside the generated code that stands for it.",
    )
    show.add_argument("target", metavar="PATH:FUNC",
                      help="the Python file and the function in it, e.g. model.py:loss; "
                      "the file is imported (its top-level code runs)")
    show.add_argument("--wrt", metavar="ARGS", default=None,
                      help="comma-separated argument names or positions (default: the "
                      "first argument)")
    show.add_argument("--mode", choices=("reverse", "forward"), default="reverse",
                      help="reverse (gradient, the default) or forward (tangent) mode")
    show.set_defaults(handler=_cmd_show)

    cache = commands.add_parser(
        "cache",
        help="show or clear the cache of generated modules",
        description="Generated derivative modules are cached in $TANGENT_SRC_CACHE if set, "
        "else $XDG_CACHE_HOME/tangent_src, else ~/.cache/tangent_src: a directory created "
        "mode 0700 and used only while it is a real directory owned by you that no one else "
        "can write to (otherwise the code is kept in memory, with a warning).",
    )
    action = cache.add_mutually_exclusive_group()
    action.add_argument("--info", action="store_true",
                        help="print where the cache is, whether it is usable, and its size "
                        "(the default)")
    action.add_argument("--clear", action="store_true",
                        help="delete the generated modules (and numba's cache of them); "
                        "nothing else in the directory is touched")
    cache.set_defaults(handler=_cmd_cache)
    return parser


def parse_target(target: str) -> tuple[str, str]:
    """Split 'path/to/mod.py:func' into its path and function name."""
    path, sep, func = target.rpartition(":")
    if not sep or not path or not func:
        raise CLIError(f"expected PATH:FUNC (e.g. model.py:loss), got {target!r}")
    parts = func.split(".")
    if not all(part.isidentifier() for part in parts):
        raise CLIError(f"{func!r} is not a valid function name")
    return path, func


def _as_tuple(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def parse_wrt(text: str | None) -> int | str | tuple[int | str, ...]:
    """'W,b' -> ('W', 'b'); 'x' -> 'x'; '0' -> 0; None -> 0 (the first argument)."""
    if text is None:
        return 0
    items: list[int | str] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            raise CLIError(f"--wrt: empty argument name in {text!r}")
        if item.isascii() and item.isdigit():
            items.append(int(item))
        elif item.isidentifier() and not keyword.iskeyword(item):
            items.append(item)
        else:
            raise CLIError(f"--wrt: {item!r} is neither an argument name nor a position")
    return items[0] if len(items) == 1 else tuple(items)


def check_name(name: str | None) -> None:
    if name is not None and (not name.isidentifier() or keyword.iskeyword(name)):
        raise CLIError(f"--name: {name!r} is not a valid Python identifier")


def check_request(func, wrt, mode: str, order: int, numba: bool) -> None:
    """Validate the options as the library does (the same `Request`, the same errors),
    before anything is compiled."""
    from tangent_src.standalone import standalone_request
    try:
        standalone_request(func, wrt, mode, order, numba)
    except RequestError as exc:
        raise CLIError(f"--{exc}" if exc.field in ("wrt", "order") else str(exc)) from None


# --------------------------------------------------------------------------- loading


def _module_name_for(path: str) -> str:
    """The stem of the file, unless that name is taken by a different module."""
    stem = os.path.splitext(os.path.basename(path))[0]
    name = stem if stem.isidentifier() else "_tangent_src_user_module"
    existing = sys.modules.get(name)
    if existing is not None:
        existing_file = getattr(existing, "__file__", None)
        if not (existing_file and os.path.exists(existing_file)
                and os.path.samefile(existing_file, path)):
            name = f"_tangent_src_user_{len(sys.modules)}_{name}"
    return name


@contextlib.contextmanager
def loaded_module(path: str):
    """Import the file at path (its directory first on sys.path) for the duration."""
    if not os.path.exists(path):
        raise CLIError(f"no such file: {path}")
    if not os.path.isfile(path):
        raise CLIError(f"not a file: {path}")
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    name = _module_name_for(path)
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)

    old_module = sys.modules.get(name)
    sys.path.insert(0, directory)
    sys.modules[name] = module
    try:
        try:
            # Anything the module prints must not end up in a gradient written to stdout.
            with contextlib.redirect_stdout(sys.stderr):
                spec.loader.exec_module(module)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - any import failure
            if isinstance(exc, SyntaxError):
                where = f"line {exc.lineno}" if exc.lineno else "unknown line"
                if exc.filename and os.path.abspath(exc.filename) != path:
                    where = f"{exc.filename}, {where}"
                detail = f"SyntaxError: {exc.msg} ({where})"
            else:
                detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise CLIError(f"cannot import {path}: {_one_line(detail)}") from None
        yield module
    finally:
        if old_module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = old_module
        with contextlib.suppress(ValueError):
            sys.path.remove(directory)


def find_function(module, path: str, func_name: str):
    obj = module
    for part in func_name.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise CLIError(f"{path} has no function {func_name!r}") from None
    if not callable(obj):
        raise CLIError(f"{func_name!r} in {path} is not a function "
                       f"(it is a {type(obj).__name__})")
    return obj


# --------------------------------------------------------------------------- commands


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _cmd_cache(args) -> int:
    from tangent_src.backend import cache_dir
    if args.clear:
        try:
            path, removed = cache_dir.clear()
        except OSError as exc:
            raise CLIError(exc.strerror or str(exc)) from None
        print(f"removed {removed} file(s) from {path}")
        return 0
    facts = cache_dir.info()
    status = ("usable" if facts["problem"] is None else
              "not created yet (created when first needed)"
              if facts["problem"] == "it does not exist" else f"not used: {facts['problem']}")
    print(f"cache directory: {facts['path']}")
    print(f"status: {status}")
    print(f"files: {facts['files']} ({facts['bytes'] / 2**20:.1f} MiB); pruned beyond "
          f"{facts['max_files']} files or {facts['max_bytes'] / 2**20:.0f} MiB")
    return 0


def _cmd_show(args) -> int:
    from tangent_src.show import beside
    args.name, args.order, args.numba, args.output = None, 1, False, None
    text = _derivative_text(args, args.mode)
    sys.stdout.write(beside(text))
    return 0


def _cmd_grad(args) -> int:
    return _write_derivative(args, mode="reverse")


def _cmd_jvp(args) -> int:
    return _write_derivative(args, mode="forward")


def _write_derivative(args, mode: str) -> int:
    text = _derivative_text(args, mode)
    if args.output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_atomically(args.output, text)
    return 0


def _derivative_text(args, mode: str) -> str:
    """The standalone module the options ask for (every user error a CLIError)."""
    import tangent_src  # looked up at call time, so tests can substitute the compiler

    path, func_name = parse_target(args.target)
    wrt = parse_wrt(args.wrt)
    complex_args = {} if getattr(args, "complex", None) is None else {
        "complex_args": _as_tuple(parse_wrt(args.complex))}
    check_name(args.name)
    what = "gradient" if mode == "reverse" else "derivative"
    if args.output is not None and _same_file(args.output, path):
        raise CLIError(f"refusing to overwrite the input module {path} with its {what}")

    with loaded_module(path) as module:
        func = find_function(module, path, func_name)
        check_request(func, wrt, mode, args.order, getattr(args, "numba", False))
        try:
            with contextlib.redirect_stdout(sys.stderr):
                text = tangent_src.standalone_source(func, wrt=wrt, name=args.name,
                                                     mode=mode, order=args.order,
                                                     numba=getattr(args, "numba", False),
                                                     **complex_args)
        except UserCodeError as exc:
            raise CLIError(_one_line(exc.one_line())) from None
        except TangentError as exc:
            raise CLIError(_one_line(str(exc)) or type(exc).__name__) from None

    return text if text.endswith("\n") else text + "\n"


def _version() -> str:
    import tangent_src
    return tangent_src.__version__


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (e.g. a cache directory that cannot be used) as one line on stderr."""
    print(f"{PROG}: warning: {_one_line(str(message))}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 user error, 1 internal error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return args.handler(args)
    except CLIError as exc:
        print(f"{PROG}: error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug in tangent_src, not in the input
        traceback.print_exc()
        print(f"{PROG}: internal error: {_one_line(f'{type(exc).__name__}: {exc}')} "
              f"(this is a bug in tangent_src; please report it)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
