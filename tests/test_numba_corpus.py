"""The reverse- and forward-mode corpus under backend="numba".

For every case: when numba can compile the function itself (the primal), the numba
gradient must compile and agree with the Python back end's (which the reverse corpus
checks against finite differences) — in reverse mode, and in forward mode along one
direction. When numba cannot compile the primal, the numba gradient must either work and
agree, or raise a TangentError located at a line of the user's function. The cases in the
second group are listed by `test_numba_coverage_is_reported`.
"""
from __future__ import annotations

import copy
import inspect

import numpy as np
import pytest
from test_reverse_corpus import CORPUS

import tangent_src
from tangent_src.errors import TangentError, UserCodeError

numba = pytest.importorskip("numba")

CASE_IDS = [c.name for c in CORPUS]
RTOL, ATOL = 1e-9, 1e-12
_PRIMAL_COMPILES: dict[str, bool] = {}


def primal_compiles(case) -> bool:
    if case.name not in _PRIMAL_COMPILES:
        try:
            numba.njit(case.func)(*copy.deepcopy(case.make_args()))
            _PRIMAL_COMPILES[case.name] = True
        except Exception:  # noqa: BLE001 - any numba failure means "not compilable"
            _PRIMAL_COMPILES[case.name] = False
    return _PRIMAL_COMPILES[case.name]


def _as_tuple(grads, wrt):
    return grads if isinstance(wrt, tuple) else (grads,)


def _check_located(err: TangentError, func) -> None:
    """A located error: in the user's file (the function or a helper it calls), with the
    source line and a hint."""
    assert isinstance(err, UserCodeError), f"not a located error: {err!r}"
    assert err.filename == inspect.getsourcefile(func)
    assert err.lineno > 0 and err.source_line.strip(), str(err)
    assert err.hint


@pytest.mark.parametrize("c", CORPUS, ids=CASE_IDS)
def test_numba_reverse(c):
    args = c.make_args()
    expected = _as_tuple(tangent_src.grad(c.func, wrt=c.wrt)(*copy.deepcopy(args)), c.wrt)
    try:
        got = tangent_src.grad(c.func, wrt=c.wrt, backend="numba")(*copy.deepcopy(args))
    except TangentError as err:
        assert not primal_compiles(c), f"{c.name}: numba compiles f but not its gradient: {err}"
        _check_located(err, c.func)
        return
    for g, e in zip(_as_tuple(got, c.wrt), expected):
        np.testing.assert_allclose(g, e, rtol=RTOL, atol=ATOL, err_msg=c.name)


@pytest.mark.parametrize("c", CORPUS, ids=CASE_IDS)
def test_numba_forward(c):
    args = c.make_args()
    wrt = c.wrt if isinstance(c.wrt, tuple) else (c.wrt,)
    rng = np.random.default_rng(0)
    position = wrt[0] if isinstance(wrt[0], int) else \
        list(inspect.signature(c.func).parameters).index(wrt[0])
    direction = rng.normal(size=np.shape(args[position]))
    direction = float(direction) if np.ndim(args[position]) == 0 and \
        isinstance(args[position], float) else direction
    gradient = _as_tuple(tangent_src.grad(c.func, wrt=c.wrt)(*copy.deepcopy(args)), c.wrt)[0]
    expected = float(np.sum(np.asarray(gradient) * direction))
    forward = tangent_src.autodiff(c.func, mode="forward", wrt=position, backend="numba")
    try:
        got = forward.call_with(copy.deepcopy(args), {position: direction})
    except TangentError as err:
        assert not primal_compiles(c), f"{c.name}: numba compiles f but not its jvp: {err}"
        _check_located(err, c.func)
        return
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10, err_msg=c.name)


def test_numba_coverage_is_reported(capsys):
    """How many corpus functions numba compiles (and hence must differentiate); the others
    are listed with what backend='numba' does for them (a located error, or a gradient,
    which test_numba_reverse has checked)."""
    compiled = [c.name for c in CORPUS if primal_compiles(c)]
    lines = []
    for c in CORPUS:
        if primal_compiles(c):
            continue
        try:
            tangent_src.grad(c.func, wrt=c.wrt, backend="numba")(*copy.deepcopy(c.make_args()))
            lines.append(f"  {c.name}: differentiated anyway")
        except TangentError as err:
            lines.append(f"  {c.name}: {str(err).splitlines()[0][:150]}")
    with capsys.disabled():
        print(f"\nnumba compiles {len(compiled)} of {len(CORPUS)} corpus primals; the others:")
        print("\n".join(lines))
    assert len(compiled) >= len(CORPUS) // 2
