"""Each front-end pass on its own: lowering (one case per part of frontend/lower/), ANF and
inlining, as before/after source, and both versions run on the same inputs to the same
values. Also what the front end may not do: import rules, the runtime or surgery, write
into the user's namespace, or hang facts on nodes as plain attributes (core/tables.py)."""
from __future__ import annotations

import ast
import builtins
import contextlib
import copy
import pathlib
import textwrap

import astor
import gast
import numpy as np
import pytest
from fdcheck import assert_grad_matches, numerical_grad

import tangent_src
from tangent_src import runtime
from tangent_src.compiler import ModuleBuilder
from tangent_src.core import blocks, build
from tangent_src.core.dataflow import all_names
from tangent_src.core.helpers import CORE_HELPERS
from tangent_src.core.tables import CHECKPOINT, COPY_BACK, HOOK, Hook, NodeTable
from tangent_src.core.walk import clone, walk
from tangent_src.frontend.anf import to_anf
from tangent_src.frontend.lower import lower
from tangent_src.frontend.source import parse_function
from tangent_src.naming import Namer
from tangent_src.pipeline import Options

# --- user functions, in the style users write them ------------------------------------

def unpack_and_write(x, w):
    a, b = x * 2.0, w
    a += b
    v = np.zeros(3)
    v[1] = a
    return np.sum(v) * b


def loop_with_break(xs):
    s = 0.0
    for x in xs:
        if x > 2.0:
            break
        s = s + x * x
    return s


def early_return(xs, t):
    for x in xs:
        if x > t:
            return x * 2.0
    return t


def with_nested_def(x, w):
    def sq(v):
        return v * v * w
    return sq(x) + 1.0


def with_comprehension(xs, w):
    ys = [w * x for x in xs if x > 0.0]
    p = {"a": w, "b": 2.0 * w}
    return sum(ys) + p["a"] * p["b"]


def with_methods(X):
    Y = X.reshape(3, 2)
    return Y.sum(axis=0).copy() + X.astype(float).mean()


def with_dict_items(params, x):
    s = 0.0
    for k, v in params.items():  # noqa: B007 (the key is unused, as users write it)
        s = s + v * x
    return s


def with_r_(a, b):
    return np.sum(np.r_[a, 1.0:3.0, b] ** 2)


def with_surgery(x):
    h = np.sin(x)
    with tangent_src.insert_grad_of(h) as dh:
        dh = dh * 0.5
    with tangent_src.checkpoint(4):
        for i in range(8):  # noqa: B007
            h = np.cos(h)
    return h


def flat(x, w, b):
    y = np.tanh(x * w + b) * 2.0
    return y


def carried(x):
    h = x
    for i in range(3):  # noqa: B007
        h = np.sin(h) * 2.0
    return h


def predict(W, b, x):
    z = W * x + b
    return np.tanh(z)


def two_layers(W, b, x):
    p = predict(W, b, x)
    q = predict(W, 0.5, p)
    return p * q


# --- helpers -----------------------------------------------------------------------

def _namer(parsed) -> Namer:
    """The namer the compiler gives a function's front end."""
    return Namer(all_names(parsed.node) | set(parsed.namespace) | set(dir(builtins))
                 | set(runtime.HELPERS))


def _text(node) -> str:
    return astor.to_source(gast.gast_to_ast(gast.Module(body=[node], type_ignores=[])))


def _run(parsed, node, *args):
    """Run a front end's output: the user's namespace, plus the core helpers bound the
    way the transform stage binds them (to the runtime)."""
    scope = dict(parsed.namespace)
    scope.update({name: getattr(runtime, name) for name in CORE_HELPERS})
    exec(compile(_text(node), "<front end>", "exec"), scope)  # noqa: S102 (generated here)
    return scope[node.name](*args)


def _lowered(func, dicts=frozenset()):
    parsed = parse_function(func)
    namer = _namer(parsed)
    return parsed, namer, lower(parsed, namer, dicts)


# --- lower -------------------------------------------------------------------------

LOWER_CASES = [
    # (function, arguments, dicts, the lowered source)
    (unpack_and_write, (0.7, 1.3), frozenset(), """
        def unpack_and_write(x, w):
            a_new = x * 2.0
            b_new = w
            a = a_new
            b = b_new
            a = a + b
            v = np.zeros(3)
            v = set_at(v, 1, a)
            return np.sum(v) * b
        """),
    (loop_with_break, (np.array([0.5, 1.5, 2.5, 0.1]),), frozenset(), """
        def loop_with_break(xs):
            s = 0.0
            stop = len(xs)
            i_x = 0
            stop_loop = False
            while not stop_loop and i_x < stop:
                x = xs[i_x]
                if x > 2.0:
                    stop_loop = True
                if not stop_loop:
                    s = s + x * x
                i_x = i_x + 1
            return s
        """),
    (early_return, (np.array([0.5, 1.5, 2.5]), 1.0), frozenset(), """
        def early_return(xs, t):
            returned = False
            stop = len(xs)
            i_x = 0
            stop_loop = False
            while not stop_loop and i_x < stop:
                x = xs[i_x]
                if x > t:
                    result = x * 2.0
                    returned = True
                    stop_loop = True
                i_x = i_x + 1
            if returned:
                out = result
            else:
                out = t
            return out
        """),
    (with_nested_def, (0.7, 1.3), frozenset(), """
        def with_nested_def(x, w):
            v2 = x
            sq_out = v2 * v2 * w
            return sq_out + 1.0
        """),
    (with_comprehension, (np.array([0.5, -1.5, 2.5]), 1.3), frozenset(), """
        def with_comprehension(xs, w):
            items = []
            for i_x2 in range(len(xs)):
                x2 = xs[i_x2]
                if x2 > 0.0:
                    items.append(w * x2)
            ys = items
            mapping = {}
            mapping = set_at(mapping, 'a', w)
            mapping = set_at(mapping, 'b', 2.0 * w)
            p = mapping
            return sum(ys) + p['a'] * p['b']
        """),
    (with_methods, (np.arange(6.0),), frozenset(), """
        def with_methods(X):
            Y = np.reshape(X, (3, 2))
            return np.sum(Y, axis=0) + np.mean(1.0 * X)
        """),
    (with_dict_items, ({"W": 1.5, "b": -0.5}, 0.7), frozenset({("params", "dict")}), """
        def with_dict_items(params, x):
            s = 0.0
            seq = dict_keys(params)
            for i_k in range(len(seq)):
                k = seq[i_k]
                v = params[k]
                s = s + v * x
            return s
        """),
    (with_r_, (np.array([0.5, 1.5]), 2.0), frozenset(), """
        def with_r_(a, b):
            return np.sum(index_concat(np.r_, (a, slice(1.0, 3.0), b)) ** 2)
        """),
]


@pytest.mark.parametrize("func, args, dicts, after", LOWER_CASES,
                         ids=[case[0].__name__ for case in LOWER_CASES])
def test_lower(func, args, dicts, after):
    parsed, _, node = _lowered(func, dicts)
    assert _text(node).strip() == textwrap.dedent(after).strip()
    np.testing.assert_allclose(_run(parsed, node, *copy.deepcopy(args)), func(*args),
                               rtol=1e-14)


@pytest.mark.parametrize("func, dicts", [(unpack_and_write, frozenset()),
                                         (with_comprehension, frozenset()),
                                         (with_dict_items, frozenset({("params", "dict")})),
                                         (with_r_, frozenset())])
def test_lowering_leaves_the_users_namespace_alone(func, dicts):
    """The core helpers are names of the core language, bound by the transform stage: the
    parsed namespace (the user's globals, cached with the parse) gains nothing."""
    parsed = parse_function(func)
    before = dict(parsed.namespace)
    lower(parsed, _namer(parsed), dicts)
    assert parsed.namespace.keys() == before.keys()
    assert all(parsed.namespace[k] is before[k] for k in before)


@pytest.mark.parametrize("func, args, wrt", [
    (unpack_and_write, (0.7, 1.3), (0, 1)),
    (with_comprehension, (np.array([0.5, -1.5, 2.5]), 1.3), (1,)),
    (with_r_, (np.array([0.5, 1.5]), 2.0), (0, 1)),
])
def test_core_helpers_are_differentiated_where_the_transform_binds_them(func, args, wrt):
    assert_grad_matches(func, args, wrt=wrt)


def test_dict_parameter_loop_is_differentiated():
    params, x = {"W": 1.5, "b": -0.5}, 0.7
    assert_grad_matches(with_dict_items, (params, x), wrt=1)
    grads = tangent_src.grad(with_dict_items, wrt=0)(params, x)
    expected = numerical_grad(lambda w, b: with_dict_items({"W": w, "b": b}, x),
                              (1.5, -0.5), wrt=(0, 1))
    np.testing.assert_allclose([grads["W"], grads["b"]], expected, rtol=1e-6)


# --- surgery blocks: lowered by kind, facts in tables ---------------------------------

def test_surgery_blocks_lower_to_a_hook_and_checkpointed_loops():
    parsed, namer, node = _lowered(with_surgery)
    hook = next(s for s in node.body if isinstance(s, gast.With))
    assert hook.items == [] and HOOK[hook] == Hook("h", "dh")
    loop = next(s for s in node.body if isinstance(s, gast.For))
    assert isinstance(CHECKPOINT[loop], gast.Constant) and CHECKPOINT[loop].value == 4
    core = to_anf(parsed, node, namer)
    hook = next(s for s in core.body if isinstance(s, gast.With))
    assert HOOK[hook].alias == "dh" and HOOK[hook].target in {
        s.targets[0].id for s in core.body if isinstance(s, gast.Assign)}
    loop = next(s for s in core.body if isinstance(s, gast.For))
    assert loop in CHECKPOINT
    # no fact left as a plain attribute, where a typo would read as "absent"
    assert not any(hasattr(n, name) for n in walk(core)
                   for name in ("hook", "checkpoint", "copy_back"))


def test_surgery_gradient_matches_the_hand_derived_value():
    """The hook halves the adjoint of h = sin(x); the rest is cos applied 8 times
    (checkpointed every 4): d/dx = 0.5 * g'(sin x) * cos x, g' by finite differences."""
    x = 0.6

    def g(h):
        for _ in range(8):
            h = np.cos(h)
        return h
    expected = 0.5 * numerical_grad(g, (np.sin(x),)) * np.cos(x)
    np.testing.assert_allclose(tangent_src.grad(with_surgery)(x), expected, rtol=1e-6)


def test_block_kinds_are_registered_by_identity():
    assert blocks.block_kind(tangent_src.insert_grad_of) == blocks.HOOK_BLOCK
    assert blocks.block_kind(tangent_src.checkpoint) == blocks.CHECKPOINT_BLOCK
    assert blocks.block_kind(contextlib.nullcontext) is None

    class checkpoint:  # noqa: N801 - a user's class of the same name is no surgery block
        pass
    assert blocks.block_kind(checkpoint) is None


# --- ANF -----------------------------------------------------------------------------

ANF_CASES = [
    (flat, (0.3, 1.2, -0.4), """
        def flat(x, w, b):
            x_times_w = x * w
            x_times_w_plus_b = x_times_w + b
            tanh_x_times_w_plus_b = np.tanh(x_times_w_plus_b)
            y = tanh_x_times_w_plus_b * 2.0
            return y
        """),
    (carried, (0.3,), """
        def carried(x):
            h = x
            for i in range(3):
                sin_h = np.sin(h)
                h2 = sin_h * 2.0
                h = h2
            return h
        """),
    (early_return, (np.array([0.5, 1.5, 2.5]), 1.0), None),
]


@pytest.mark.parametrize("func, args, after", ANF_CASES,
                         ids=[case[0].__name__ for case in ANF_CASES])
def test_anf(func, args, after):
    parsed, namer, node = _lowered(func)
    core = to_anf(parsed, clone(node), namer)
    if after is not None:
        assert _text(core).strip() == textwrap.dedent(after).strip()
    for stmt in walk(core):  # one operation per statement
        if isinstance(stmt, gast.Assign):
            value = stmt.value
            assert all(isinstance(a, (gast.Name, gast.Constant)) for a in
                       ast.iter_child_nodes(value) if isinstance(a, gast.expr)
                       and not isinstance(value, (gast.Call, gast.Subscript, gast.Attribute)))
    before, out = _run(parsed, node, *args), _run(parsed, core, *args)
    np.testing.assert_allclose(out, before, rtol=1e-14)
    np.testing.assert_allclose(out, func(*args), rtol=1e-14)


def test_anf_marks_the_copy_back_of_a_loop_carried_value():
    parsed, namer, node = _lowered(carried)
    core = to_anf(parsed, node, namer)
    loop = next(s for s in core.body if isinstance(s, gast.For))
    marked = [s for s in loop.body if s in COPY_BACK]
    assert [_text_stmt(s) for s in marked] == ["h = h2"]
    assert [s for s in clone(loop).body if s in COPY_BACK] != []  # travels with a clone


def _text_stmt(stmt) -> str:
    return astor.to_source(gast.gast_to_ast(gast.Module(body=[stmt], type_ignores=[]))).strip()


# --- inline (transform stage, for code differentiated again) -------------------------

def test_inline_expands_user_functions_into_the_caller():
    builder = ModuleBuilder(options=Options(inline=True))
    parsed, core, _ = builder.front_end(two_layers)
    assert _text(core).strip() == textwrap.dedent("""
        def two_layers(W, b, x):
            W_times_x = W * x
            z = W_times_x + b
            p = np.tanh(z)
            W_times_x2 = W * p
            z2 = W_times_x2 + 0.5
            q = np.tanh(z2)
            out = p * q
            return out
        """).strip()
    args = (0.3, 0.1, 0.7)
    assert _run(parsed, core, *args) == pytest.approx(two_layers(*args), rel=1e-14)
    # without the option, only small straight-line functions (predict is one) are inlined
    plain = ModuleBuilder(options=Options(inline=False)).front_end(two_layers)[1]
    assert _text(plain) == _text(core)


# --- node tables ---------------------------------------------------------------------

def test_node_table_is_typed_and_travels_with_copies():
    table: NodeTable[str] = NodeTable("example", str)
    stmt = build.assign("y", build.name("x"))
    assert stmt not in table and table.get(stmt) is None
    with pytest.raises(KeyError, match="example"):
        table[stmt]
    with pytest.raises(TypeError):
        table[stmt] = 3
    table[stmt] = "fact"
    assert table[stmt] == "fact" and not hasattr(stmt, "example")
    assert table[clone(stmt)] == "fact" and table[copy.copy(stmt)] == "fact"
    assert table[clone([stmt])[0]] == "fact"
    assert table.pop(stmt) == "fact" and stmt not in table
    assert "fact" not in _text(gast.FunctionDef(
        name="f", args=gast.arguments(args=[], posonlyargs=[], vararg=None, kwonlyargs=[],
                                      kw_defaults=[], kwarg=None, defaults=[]),
        body=[stmt, gast.Return(value=build.name("y"))], decorator_list=[], returns=None,
        type_comment=None, type_params=[]))


# --- what the front end may import ---------------------------------------------------

def _imports(path: pathlib.Path) -> list[str]:
    """The modules `path` imports (relative ones as written: `..rules.registry`), and for
    `from .. import x` the names imported."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            out.append(base)
            if not node.module:
                out += [base + a.name for a in node.names]
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return out


def test_the_front_end_knows_nothing_of_rules_runtime_or_surgery():
    frontend = pathlib.Path(tangent_src.__file__).parent / "frontend"
    paths = sorted(frontend.rglob("*.py"))
    assert len(paths) > 5
    bad = [(path.name, name) for path in paths for name in _imports(path)
           if any(part in ("rules", "runtime", "surgery")
                  for part in name.lstrip(".").split("."))]
    assert bad == []
