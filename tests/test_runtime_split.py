"""The runtime package, the error hierarchy and the home of check_grads (issue 12, item 7).

- tangent_src/runtime/ is a package of one module per family; every name generated code,
  golden files, rules and the numba overloads use resolves from `tangent_src.runtime`, and
  standalone modules still copy every helper a helper calls (across the family modules);
- every error tangent_src raises on purpose is a TangentError; a bad argument of a public
  function raises a TangentError that is also the built-in error it raised before;
- gradients pickle and run in numba through the re-exported helpers.
Derivatives are checked against central finite differences (tests/fdcheck.py).
"""
from __future__ import annotations

import ast
import inspect
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src import errors, runtime
from tangent_src.backend import emit

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tangent_src"


def _golden_runtime_names() -> set:
    """Every name a golden generated module imports from tangent_src.runtime."""
    names = set()
    for path in sorted((ROOT / "golden").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "tangent_src.runtime":
                names |= {alias.name for alias in node.names}
    return names


def _attribute_uses(path: Path, aliases: tuple) -> set:
    """Names read as `<alias>.<name>` in a module (`rt.unbroadcast`)."""
    tree = ast.parse(path.read_text())
    return {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name) and node.value.id in aliases}


# --------------------------------------------------------------------------- re-exports
def test_every_name_golden_code_imports_resolves_from_the_package():
    names = _golden_runtime_names()
    assert {"unbroadcast", "unreduce", "zeros_like", "zeros_like_last"} <= names
    for name in sorted(names):
        assert name in runtime.HELPERS, name
        assert callable(getattr(runtime, name)), name


def test_every_name_rules_and_numba_overloads_read_resolves():
    users = [*sorted((PACKAGE / "rules").glob("*.py")), PACKAGE / "backend" / "numba_runtime.py"]
    used = set()
    for path in users:
        used |= _attribute_uses(path, ("rt", "runtime"))
    assert {"unbroadcast", "plus", "add_at", "einsum_open", "pieces"} <= used
    missing = sorted(name for name in used if not hasattr(runtime, name))
    assert not missing, f"read by rules/numba but not exported: {missing}"


def test_every_helper_is_its_family_modules_own_function():
    """`tangent_src.runtime.X` is the very object its family module defines (rules and
    numba overloads are keyed by identity)."""
    functions = runtime.functions()
    for name in runtime.HELPERS:
        helper = getattr(runtime, name)
        assert functions[name] is helper, name
        family = sys.modules[helper.__module__]
        assert family in runtime.MODULES and getattr(family, name) is helper, name
    # 84, then check_assert, random_draw, dict_has, as_integers and 9 in runtime/stats.py,
    # then lgamma_np, bessel, bessel_coef (runtime/special.py), 14 in runtime/signals.py,
    # sylvester and logm_real (runtime/linalg.py), the 10 of runtime/fft.py,
    # and odeint_vjp, odeint_jvp, odeint_second (runtime/integrate.py),
    # eig_checked, banded_full, banded_part, cross_last, cross_back (runtime/linalg.py),
    # einsum_sublist_spec, the 5 of runtime/gradients.py,
    # norm_hess_diag, norm_dual_dy, norm_third_check (runtime/norms.py),
    # gammainc_da, betainc_dab (runtime/incomplete.py), like_kinds (runtime/fft.py),
    # complex_norm_dual and complex_norm_inv (runtime/norms.py),
    # the 7 of runtime/fixed_points.py, ones_seed (runtime/accumulation.py),
    # hermitize, hermitize_t, inv_gaps, phase_checked and the 4 vector_diag helpers
    # (runtime/linalg.py), complex_norm_curv, complex_norm_slope, complex_norm_third_check
    # (runtime/norms.py), add_outers, matmul_lhs_summed, matmul_rhs_summed
    # (runtime/products.py), set_in_place, zero_in_place, entry_copy, written_at
    # (runtime/indexing.py), check_output (runtime/refusals.py), mvn_zeros, mvn_precision
    # and mvn_in_support (runtime/stats.py), cross3 (runtime/linalg.py),
    # join_slices, add_outer_at, add_matvec_at, sub_matvec_at (runtime/accumulation.py),
    # sum_keepdims (runtime/broadcasting.py)
    assert len(set(runtime.HELPERS)) == len(runtime.HELPERS) == 186
    assert set(runtime.__all__) <= set(dir(runtime))


def test_family_modules_are_small_and_say_their_job():
    for module in (runtime, *runtime.MODULES):
        path = Path(module.__file__)
        assert module.__doc__ and len(module.__doc__.split()) >= 8, path.name
        assert len(path.read_text().splitlines()) <= 450, path.name


def test_standalone_copies_reach_helpers_in_other_family_modules():
    """add_at (accumulation) calls plus and _is_zero (accumulation), add_attribute ->
    tuple_field (containers) -> refuse (refusals): the copy needs them all, and without
    tangent_src's errors refuse raises the built-in NotImplementedError."""
    closure = emit.helper_closure(["add_at", "matmul_lhs"])
    assert {"add_at", "plus", "_is_zero", "add_attribute", "tuple_field", "refuse",
            "matmul_lhs", "unbroadcast"} <= set(closure)
    namespace = {"np": np}
    exec(emit.runtime_source(["add_at", "matmul_lhs"]), namespace)
    acc = namespace["add_at"]([np.zeros(2), 0.0], 0, np.ones(2))
    assert np.array_equal(acc[0], np.ones(2))
    with pytest.raises(NotImplementedError) as info:
        namespace["add_at"]((1.0, 2.0), "missing_field", 1.0)
    assert not isinstance(info.value, errors.TangentError)
    with pytest.raises(errors.DerivativeNotImplementedError):  # in the package: the refusal
        runtime.add_at((1.0, 2.0), "missing_field", 1.0)


def layer_loss(W, x):
    h = x
    for k in range(2):
        h = np.tanh(W @ h + 0.1 * k)
    return np.max(h) + np.sum(h * h)


def test_standalone_module_runs_without_tangent_src(tmp_path):
    """The CLI's module: helpers from several families copied in, tangent_src not
    importable, the gradient equal to finite differences."""
    text = tangent_src.standalone_source(layer_loss, wrt=(0, 1), name="dloss")
    assert "def unbroadcast" in text and "def extremum_mask" in text
    rng = np.random.default_rng(0)
    W, x = rng.normal(size=(3, 3)), rng.normal(size=3)
    np.save(tmp_path / "W.npy", W)
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "dmod.py").write_text(text)
    script = textwrap.dedent("""
        import sys
        sys.modules["tangent_src"] = None  # any import of tangent_src fails
        import numpy as np, dmod
        dW, dx = dmod.dloss(np.load("W.npy"), np.load("x.npy"))
        np.save("dW.npy", dW)
        np.save("dx.npy", dx)
    """)
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True)
    expected_W, expected_x = numerical_grad(layer_loss, (W, x), wrt=(0, 1))
    np.testing.assert_allclose(np.load(tmp_path / "dW.npy"), expected_W, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.load(tmp_path / "dx.npy"), expected_x, rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------- errors
def _error_classes() -> list:
    return [value for value in vars(errors).values() if isinstance(value, type) and
            issubclass(value, Exception) and not issubclass(value, Warning)]


def test_every_error_class_is_a_tangent_error():
    classes = _error_classes()
    assert {errors.TemplateError, errors.NumbaUnavailableError, errors.CLIError,
            errors.InvalidArgumentError, errors.InvalidArgumentTypeError,
            errors.UnsupportedTypeError} <= set(classes)
    for cls in classes:
        assert issubclass(cls, errors.TangentError), cls.__name__
        assert cls.__doc__, cls.__name__


def test_errors_defined_elsewhere_are_the_ones_in_errors_py():
    from tangent_src import cli
    from tangent_src.backend import numba as numba_backend
    from tangent_src.rules import template

    assert template.TemplateError is errors.TemplateError
    assert numba_backend.NumbaUnavailableError is errors.NumbaUnavailableError
    assert cli.CLIError is errors.CLIError
    for module in (template, numba_backend, cli):  # no error class of their own
        own = [name for name, value in vars(module).items() if isinstance(value, type)
               and issubclass(value, Exception) and value.__module__ == module.__name__
               and not name.startswith("_")]
        assert not own, (module.__name__, own)


def loss(W, x):
    return np.sum(np.tanh(W @ x) ** 2)


BAD_VALUES = {
    "grad backend": lambda: tangent_src.grad(loss, backend="cuda"),
    "value_and_grad backend": lambda: tangent_src.value_and_grad(loss, backend="gpu"),
    "autodiff mode": lambda: tangent_src.autodiff(loss, mode="sideways"),
    "jacobian mode": lambda: tangent_src.jacobian(loss, mode="central"),
    "standalone order": lambda: tangent_src.standalone_source(loss, order=0),
    "standalone mode": lambda: tangent_src.standalone_source(loss, mode="jvp"),
    "check_grads order": lambda: tangent_src.check_grads(loss, (np.eye(2), np.ones(2)),
                                                         order=0),
    "check_grads modes": lambda: tangent_src.check_grads(loss, (np.eye(2), np.ones(2)),
                                                         modes=("fd",)),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_a_bad_argument_value_is_a_tangent_error_and_a_value_error(case):
    with pytest.raises(errors.InvalidArgumentError) as info:
        BAD_VALUES[case]()
    assert isinstance(info.value, errors.TangentError)
    try:  # code written against the old built-in error keeps working
        BAD_VALUES[case]()
    except ValueError as exc:
        assert "must be" in str(exc) or "unknown mode" in str(exc)


BAD_TYPES = {
    "source of a plain function": lambda: tangent_src.source(loss),
    "jvp primals not a tuple": lambda: tangent_src.jvp(loss, 1.0, 1.0),
    "np.r_ building np.matrix": lambda: runtime.index_concat(np.r_, ("r", np.ones(2))),
}


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix
@pytest.mark.parametrize("case", sorted(BAD_TYPES))
def test_a_bad_argument_type_is_a_tangent_error_and_a_type_error(case):
    with pytest.raises(errors.TangentError):
        BAD_TYPES[case]()
    with pytest.raises(TypeError):
        BAD_TYPES[case]()


def test_a_mode_the_standalone_source_ignored_is_refused():
    """standalone_source(mode="jvp") printed the forward derivative; now it says so."""
    with pytest.raises(errors.InvalidArgumentError, match="'forward' or 'reverse'"):
        tangent_src.standalone_source(loss, mode="tangent")
    text = tangent_src.standalone_source(loss, mode="forward")
    assert "def " in text


@pytest.fixture
def rule_module(tmp_path, monkeypatch):
    """A user's module whose rule body is not a template: it prints (its source must be a
    real file)."""
    (tmp_path / "split_rule_mod.py").write_text(textwrap.dedent("""
        import tangent_src

        def scaled(x):
            return x * 2.0

        @tangent_src.adjoint(scaled)
        def _(y, x):
            print(x)
            tangent_src.d[x] = tangent_src.d[y] * 2.0

        def uses_scaled(x):
            return scaled(x) + 1.0
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    import split_rule_mod
    yield split_rule_mod
    sys.modules.pop("split_rule_mod", None)


def test_a_template_error_reaches_the_user_as_a_tangent_error(rule_module):
    """A rule body with a statement other than an assignment (was a bare Exception)."""
    with pytest.raises(errors.TemplateError, match="only assignments") as info:
        tangent_src.grad(rule_module.uses_scaled)(2.0)
    assert isinstance(info.value, errors.TangentError)


# --------------------------------------------------------------------------- check_grads
def test_check_grads_lives_in_testing_and_keeps_its_old_homes():
    from tangent_src import derivatives, testing

    assert tangent_src.check_grads is testing.check_grads is derivatives.check_grads
    assert "check_grads" not in derivatives.__all__
    assert "check_grads" in tangent_src.__all__
    tangent_src.check_grads(loss, (np.eye(2) * 0.5, np.array([0.3, -0.2])))


# --------------------------------------------------------------------------- pickling, numba
def test_a_gradient_pickles_before_and_after_its_first_call():
    W, x = np.array([[0.5, -0.2], [0.1, 0.4]]), np.array([0.3, -0.7])
    expected = numerical_grad(loss, (W, x), wrt=0)
    df = tangent_src.grad(loss)
    before = pickle.loads(pickle.dumps(df))
    np.testing.assert_allclose(df(W, x), expected, rtol=1e-5, atol=1e-7)
    after = pickle.loads(pickle.dumps(df))
    for restored in (before, after):
        np.testing.assert_allclose(restored(W, x), expected, rtol=1e-5, atol=1e-7)


def test_helpers_pickle_as_themselves():
    for name in ("unbroadcast", "add_at", "zeros_like_last", "index_concat"):
        helper = getattr(runtime, name)
        assert pickle.loads(pickle.dumps(helper)) is helper


def max_loss(W, b):
    return np.max(np.tanh(W + b)) + np.sum(W * b)


def test_numba_compiles_the_re_exported_helpers():
    """backend="numba" finds the overloads of unreduce and extremum_mask by the helper
    objects the generated module imports from tangent_src.runtime."""
    W, b = np.array([[0.5, -0.2, 0.1], [0.1, 0.4, -0.3]]), np.array([0.3, -0.7, 0.2])
    df = tangent_src.grad(max_loss, wrt=(0, 1), backend="numba")
    dW, db = df(W, b)
    eW, eb = numerical_grad(max_loss, (W, b), wrt=(0, 1))
    np.testing.assert_allclose(dW, eW, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(db, eb, rtol=1e-5, atol=1e-7)
    assert "from tangent_src.runtime import extremum_mask, unreduce" in \
        tangent_src.source(df, W, b)


def test_refusals_keep_reading_their_own_module():
    """refuse/real_values pick tangent_src's errors from their module's globals."""
    assert inspect.getmodule(runtime.refuse).REFUSALS is runtime.REFUSALS
    with pytest.raises(errors.DerivativeUndefinedError):
        runtime.refuse("a case", undefined=True)
    with pytest.raises(errors.NotDifferentiableError):
        runtime.real_values(np.array([1j]))


def _top_level_bindings(source: str) -> set:
    """Names a module section binds at its top level (defs, classes, assignments, loops)."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        for target in getattr(node, "targets", []) + [getattr(node, "target", None)]:
            names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)} \
                if target is not None else set()
    return names


def test_standalone_numba_sections_bind_distinct_names():
    """A --numba module concatenates the overload sections of several modules into one
    namespace; a private name two sections bind (`_stacked`) would make the earlier
    section's overloads call the later one's function (and one a runtime module binds,
    `_step`, the runtime's copied helpers). Every overload module is copied except
    numba_elementwise (the kernels of elementwise runs, which standalone code has none of)."""
    from tangent_src.backend.numba import OVERLOAD_MODULES
    assert set(OVERLOAD_MODULES) - set(emit.STANDALONE_OVERLOADS) == {"numba_elementwise"}
    # the runtime's own functions are copied in too (runtime_source)
    seen: dict = {bound: f"runtime/{path.name}" for path in (PACKAGE / "runtime").glob("*.py")
                  for bound in _top_level_bindings(path.read_text())}
    for name in emit.STANDALONE_OVERLOADS:
        text = (PACKAGE / "backend" / f"{name}.py").read_text()
        section = text[text.index(emit.OVERLOADS_MARKER):]
        for bound in _top_level_bindings(section) - {"__all__"}:
            assert bound not in seen, f"{bound}: bound in {seen.get(bound)} and {name}"
            seen[bound] = name
