"""frontend/lower/snapshots.py: a list joined by NumPy (np.concatenate, np.stack, ...) and
appended to afterwards is joined as `tuple(rows)`, so the join's adjoint cuts its pieces
by the arrays joined, not by the list grown since (a ValueError before: `pieces` cut the
adjoint for three items where two were joined). Gradients and forward derivatives against
central finite differences; the common single join of a finished list is left alone."""
from __future__ import annotations

import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src

X = np.array([0.3, -0.7])


def features(x):
    feats = []
    for i in range(2):
        feats.append(np.sum(x * (i + 1.0)) ** 2)
    v = np.concatenate((feats, x))
    feats.append(np.prod(np.sin(x)))
    w = np.concatenate((feats, x * x))
    return np.sum(v * np.arange(4.0)) + np.sum(w * np.cos(w))


def rows_twice(x):
    rows = []
    for i in range(2):
        rows.append(x * (i + 1.0))
    a = np.concatenate(rows)
    for i in range(2):
        rows.append(np.sin(x) * i)
    b = np.stack(rows)
    return np.sum(a * np.arange(4.0)) + np.sum(b * np.cos(b)) + np.sum(np.vstack(rows) ** 2)


def join_in_loop(x):
    rows = []
    total = 0.0
    for i in range(3):
        rows.append(x * (i + 1.0))
        total = total + np.sum(np.concatenate(rows) ** 2)
    return total


def scalars_then_grow(x):
    vals = [np.sum(x), np.prod(x)]
    a = np.concatenate((vals, x))
    vals.append(x[0] * 3.0)
    return np.sum(a * np.arange(4.0)) + vals[2]


def finished_list(x):
    rows = []
    for i in range(3):
        rows.append(x * (i + 1.0))
    return np.sum(np.concatenate(rows) ** 2)


@pytest.mark.parametrize("func", [features, rows_twice, join_in_loop, scalars_then_grow,
                                  finished_list], ids=lambda f: f.__name__)
def test_joins_of_a_list_that_grows(func):
    expected = numerical_grad(func, (X,))
    np.testing.assert_allclose(tangent_src.grad(func)(X), expected, rtol=1e-6, atol=1e-8)
    columns = [tangent_src.jvp(func, (X,), (e,))[1] for e in np.eye(2)]
    np.testing.assert_allclose(columns, expected, rtol=1e-6, atol=1e-8)


def test_snapshot_only_where_the_list_changes_after_the_join():
    assert "tuple(feats)" in tangent_src.grad(features).source
    assert "tuple(" not in tangent_src.grad(finished_list).source
