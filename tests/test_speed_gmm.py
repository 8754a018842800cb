"""The GMM speed rewrites of the Python back end (issue 14), each checked against central
finite differences where it fires and where it must not: a stacked product's adjoint summed
back to a broadcast operand computed from the summed factors (`matmul_*_summed`), and a
concatenation's adjoint that starts from zeros taken as the pieces themselves."""
from __future__ import annotations

import numpy as np
import pytest
from fdcheck import assert_grad_matches, tree_flat, tree_numerical_grad

import tangent_src
from tangent_src.runtime import (
    matmul_lhs,
    matmul_lhs_summed,
    matmul_rhs,
    matmul_rhs_summed,
    unbroadcast,
)

RNG = np.random.default_rng(14)


def _checked(f, args, wrt) -> str:
    """The generated source after checking every gradient against finite differences."""
    assert_grad_matches(f, args, wrt, rtol=1e-6, atol=1e-8)
    return tangent_src.source(tangent_src.grad(f, wrt=wrt), *args)


# --- a product's adjoint summed before the product ---------------------------------------

def mixture_energy(means, chol, x):
    """Whitened squared distances of every point to every component, as a GMM writes it."""
    n, d = x.shape
    K = means.shape[0]
    centered = np.reshape(x.T, (1, d, n)) - np.reshape(means, (K, d, 1))
    white = chol @ centered
    return np.sum(np.log(1.0 + np.sum(white * white, axis=1)))


def test_centered_points_sum_before_the_product():
    x = RNG.normal(size=(7, 3))
    means = RNG.normal(size=(4, 3))
    chol = RNG.normal(size=(4, 3, 3))
    src = _checked(mixture_energy, (means, chol, x), wrt=(0, 1))
    assert "matmul_rhs_summed(" in src, src


BASE = RNG.normal(size=(3, 4, 4)) * 0.5  # fixed weights, one matrix per batch entry


def shifted_layers(shifts, xs):
    """Layers over a batch of inputs with fixed weights and a trained shift per row,
    added before the product."""
    h = xs
    for s in shifts:
        print("layer", s.shape)
        h = np.tanh((BASE + s[:, None]) @ h)
    return np.sum(h ** 2)


def test_shared_row_shift_on_the_left_factor():
    shifts = [RNG.normal(size=4) for _ in range(2)]
    xs = RNG.normal(size=(3, 4, 5))
    df = tangent_src.grad(shifted_layers)
    got = df(shifts, xs)
    want = tree_numerical_grad(shifted_layers, (shifts, xs), 0)
    np.testing.assert_allclose(tree_flat(got), want, rtol=1e-6, atol=1e-8)
    assert "matmul_lhs_summed(" in df.source, df.source


def shared_projection(W, means, pts):
    """One matrix for every point, times the point's offset from a mean shared by all."""
    d, m = means.shape
    offsets = pts - np.reshape(means, (1, d, m))
    return np.sum(np.sin(W @ offsets))


def test_stack_shared_operand_sums_over_the_stack():
    W = RNG.normal(size=(4, 3))
    means = RNG.normal(size=(3, 2))
    pts = RNG.normal(size=(5, 3, 2))
    src = _checked(shared_projection, (W, means, pts), wrt=(0, 1))
    assert "matmul_rhs_summed(" in src, src


def used_twice(means, chol, x):
    """The centered points feed the product and a penalty: two adjoints, no fusion."""
    n, d = x.shape
    K = means.shape[0]
    centered = np.reshape(x.T, (1, d, n)) - np.reshape(means, (K, d, 1))
    white = chol @ centered
    return np.sum(white * white) + 0.1 * np.sum(centered ** 3)


def test_an_adjoint_with_two_contributions_is_left_alone():
    x = RNG.normal(size=(6, 2))
    means = RNG.normal(size=(3, 2))
    chol = RNG.normal(size=(3, 2, 2))
    src = _checked(used_twice, (means, chol, x), wrt=(0, 1))
    assert "_summed(" not in src, src


@pytest.mark.parametrize("a_shape, b_shape", [
    ((3, 4, 5), (3, 5, 6)), ((4, 5), (3, 5, 6)), ((3, 4, 5), (5, 6)),
    ((2, 1, 4, 5), (3, 5, 6)), ((1, 4, 5), (2, 3, 5, 6)), ((4, 5), (5, 6)),
    ((5,), (3, 5, 6)), ((3, 4, 5), (5,))])
def test_summed_helpers_equal_the_product_then_the_sum(a_shape, b_shape):
    """Every way of summing the result back (each axis kept or reduced to one, leading axes
    dropped) gives what unbroadcast of the full product gives."""
    a, b = RNG.normal(size=a_shape), RNG.normal(size=b_shape)
    g = RNG.normal(size=np.shape(a @ b))
    for full, summed in ((matmul_lhs, matmul_lhs_summed), (matmul_rhs, matmul_rhs_summed)):
        whole = full(g, a, b)
        for mask in range(2 ** whole.ndim):
            shape = tuple(1 if mask >> i & 1 else n for i, n in enumerate(whole.shape))
            for drop in range(len(shape) + 1):
                if any(n != 1 for n in shape[:drop]):
                    continue
                like = np.zeros(shape[drop:])
                want = unbroadcast(whole, like)
                got = summed(g, a, b, like)
                assert np.shape(got) == np.shape(want)
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


# --- a concatenation's adjoint taken as its pieces ---------------------------------------

def packed_rows(logdiag, lower, pad):
    """A GMM's rows: the diagonal's exponential, the lower triangle, a zero column."""
    K = logdiag.shape[0]
    rows = np.concatenate((np.exp(logdiag), lower, np.zeros((K, pad))), axis=1)
    return np.sum(np.cos(rows) * np.arange(rows.shape[1]))


def test_concatenation_adjoint_is_the_pieces():
    logdiag = RNG.normal(size=(3, 2))
    lower = RNG.normal(size=(3, 1))
    src = _checked(packed_rows, (logdiag, lower, 1), wrt=(0, 1))
    assert "plus(" not in src and "zeros_like(t" not in src, src


def trajectory_energy(W, z0):
    """The steps kept in a list and stacked: a list's adjoint stays a list (plus keeps it)."""
    z = z0
    steps = [z0]
    for _ in range(3):
        z = z + 0.1 * np.tanh(z @ W)
        steps.append(z)
    return np.sum(np.stack(steps) ** 2)


def test_list_adjoint_from_pieces_stays_a_list():
    W = RNG.normal(size=(3, 3))
    z0 = RNG.normal(size=(2, 3))
    _checked(trajectory_energy, (W, z0), wrt=(0, 1))


# --- a reduction's adjoint over one axis left to broadcast -------------------------------

def row_norms_loss(points, scale):
    """Squared lengths along the last axis, as a distance-based loss writes them."""
    sq = np.sum(points * points, axis=-1)
    return np.sum(np.log1p(scale * sq))


def test_axis_reduction_adjoint_broadcast_by_the_product():
    points = RNG.normal(size=(4, 3, 2))
    src = _checked(row_norms_loss, (points, 0.7), wrt=(0, 1))
    assert "np.expand_dims(" in src and "unreduce(" not in src.split("backward pass")[1], src


def log_softmax_rows(logits, labels):
    """Cross-entropy over rows with the max shift, as numerically careful code writes it."""
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    logp = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(logp * labels)


def test_max_shift_and_normalizer_without_broadcast_to():
    logits = RNG.normal(size=(5, 4))
    labels = np.eye(4)[[0, 2, 1, 3, 3]]
    src = _checked(log_softmax_rows, (logits, labels), wrt=0)
    assert "keepdims=True) *" not in src, src


def weighted_column_sums(A, w):
    """Column sums times weights per row: the factor after the reduction's adjoint is a
    row, smaller than A, so the adjoint is still spread to A's shape first."""
    totals = np.sum(A, axis=0)
    return np.sum(np.sin(totals) * w)


def test_spread_kept_where_the_other_factor_is_smaller():
    A = RNG.normal(size=(3, 4))
    w = RNG.normal(size=4)
    _checked(weighted_column_sums, (A, w), wrt=(0, 1))


def test_ties_of_a_maximum_share_the_gradient():
    """extremum_mask without np.broadcast_to: ties along the axis, against hand values."""
    def peak(a):
        return np.sum(np.max(a, axis=1) * np.array([1.0, 2.0]))
    a = np.array([[1.0, 3.0, 3.0], [2.0, 0.5, -1.0]])
    got = tangent_src.grad(peak)(a)
    np.testing.assert_array_equal(got, [[0.0, 0.5, 0.5], [2.0, 0.0, 0.0]])


# --- a negated first contribution and the next one as one subtraction ---------------------

def soft_labels_loss(W, b, inputs, targets):
    """Logistic regression's likelihood of soft labels."""
    preds = 0.5 * (np.tanh((inputs @ W + b) / 2) + 1)
    probs = preds * targets + (1 - preds) * (1 - targets)
    return -np.sum(np.log(probs))


def test_negated_then_added_contributions_become_one_subtraction():
    inputs = RNG.normal(size=(4, 3))
    targets = np.array([0.9, 0.2, 0.0, 1.0])
    src = _checked(soft_labels_loss, (RNG.normal(size=3), 0.3, inputs, targets), wrt=(0, 1))
    assert "dpreds = dpreds +" not in src and " - dprobs * " in src, src


def loop_of_differences(x, ws):
    """In a loop: x - w per step, each step's adjoint of the difference negated first."""
    total = 0.0
    for w in ws:
        gap = w - x
        total = total + np.sum(np.sin(gap) * x)
    return total


def test_subtraction_merge_inside_a_loop_keeps_values():
    x = RNG.normal(size=3)
    ws = [RNG.normal(size=3) for _ in range(3)]
    _checked(loop_of_differences, (x, ws), wrt=0)
