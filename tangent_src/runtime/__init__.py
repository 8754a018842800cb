"""The helpers generated code calls, one module per family; this package re-exports them all.

Generated modules import their helpers by name (`from tangent_src.runtime import
unbroadcast`), rules and the numba overloads refer to them as `runtime.<name>`, and a
standalone module copies their source (`functions()` finds every function a helper calls,
private ones included). Each helper is self-contained NumPy and calls the others by their
plain names, so the copies run without tangent_src.

    refusals      refuse a case (`refuse`) or a complex value (`real_values`, `real_only`)
    broadcasting  unbroadcast / broadcast_like / unreduce: gradients across broadcasts
    accumulation  zeros_like, plus, copy_of, add_at (add_outer_at, add_matvec_at,
                  sub_matvec_at): adjoints summed, also in place
    indexing      set_at, zero_at, read_at: functional array writes (set_in_place,
                  zero_in_place, entry_copy: where the old version is dead); np.r_ / np.c_
    tapes         the zeros of a taped value and the interval of checkpoints
    containers    tuples, lists, dicts and objects as values
    products      matmul, dot and einsum adjoints
    elementwise   derivative factors with care at 0 (1 / x, log, a ** b, clip)
    reductions    prod, cumsum, cumprod, median, average adjoints
    special       sinc, polygamma, logsumexp weights
    stats         multivariate_normal and dirichlet shapes for the scipy.stats rules
    linalg        diagonals, triangles, blocks, expm, factorization guards
    norms         np.linalg.norm and its variants
    shaping       concatenate/stack, tile, repeat, pad, take adjoints
    constructors  np.linspace and np.arange
    signals       np.diff, ediff1d, convolutions, partition, rollaxis bookkeeping
    fft           the np.fft family and the complex helpers (real parts, padding)
    integrate     scipy.integrate.odeint's adjoint and sensitivity equations
    fixed_points  tangent_src.fixed_point's implicit derivatives (first and second order)
    gradients     np.gradient's transpose and its derivative in a scalar spacing
    incomplete    the incomplete gamma and beta functions' derivatives in a and b
"""
from __future__ import annotations

import inspect
import types

from ..errors import (
    DerivativeNotImplementedError,
    DerivativeUndefinedError,
    NotDifferentiableError,
)
from . import (
    accumulation,
    broadcasting,
    constructors,
    containers,
    elementwise,
    fft,
    fixed_points,
    gradients,
    incomplete,
    indexing,
    integrate,
    linalg,
    norms,
    products,
    reductions,
    refusals,
    shaping,
    signals,
    special,
    stats,
    tapes,
)
from .accumulation import (
    add_at,
    add_attribute,
    add_matvec_at,
    add_outer_at,
    copy_of,
    join_slices,
    ones_seed,
    plus,
    sub_matvec_at,
    zeros_like,
)
from .broadcasting import (
    broadcast_like,
    extremum_mask,
    reduced_size,
    shape_stub,
    sum_keepdims,
    sum_to,
    unbroadcast,
    unreduce,
)
from .constructors import arange_count, arange_unit, linspace_ramp, linspace_weights
from .containers import (
    as_integers,
    attribute_tangent,
    convert_like,
    dict_has,
    dict_keys,
    left_part,
    random_draw,
    replicate,
    right_part,
    tuple_field,
    unarray,
)
from .elementwise import (
    clip_part,
    falling,
    log_or_zero,
    pow_term,
    power_slope,
    reciprocal_or_zero,
)
from .fft import (
    angle_scale,
    fft_axes,
    fft_length,
    fix_shape,
    full_lengths,
    hermitian_weights,
    last_axis,
    like_kinds,
    like_result,
    real_like,
    swapped_norm,
)
from .fixed_points import (
    fixed_point_jvp,
    fixed_point_jvp_back,
    fixed_point_jvp_dot,
    fixed_point_third,
    fixed_point_vjp,
    fixed_point_vjp_back,
    fixed_point_vjp_dot,
)
from .gradients import (
    gradient_dh,
    gradient_dh_t,
    gradient_lin,
    gradient_second,
    gradient_t,
)
from .incomplete import betainc_dab, gammainc_da
from .indexing import (
    entry_copy,
    index_concat,
    index_concat_jvp,
    index_concat_vjp,
    read_at,
    set_at,
    set_in_place,
    written_at,
    zero_at,
    zero_in_place,
)
from .integrate import odeint_jvp, odeint_second, odeint_vjp
from .linalg import (
    banded_full,
    banded_part,
    block_embed,
    block_part,
    cross3,
    cross_back,
    cross_checked,
    cross_last,
    diag_adjoint,
    eig_checked,
    expm_np,
    hermitize,
    hermitize_t,
    inv_gaps,
    inv_offdiag,
    logm_real,
    pair_diff,
    phase_checked,
    qr_checked,
    solve_checked,
    svd_checked,
    sylvester,
    symmetrize,
    symmetrize_t,
    transpose_if,
    triangle,
    undiagonal,
    unit_eye,
    vector_diag,
    vector_diag_df,
    vector_diag_f,
    vector_diag_t,
)
from .norms import (
    complex_norm_curv,
    complex_norm_dual,
    complex_norm_inv,
    complex_norm_slope,
    complex_norm_third_check,
    norm_axes,
    norm_curvature_check,
    norm_dual,
    norm_dual_dy,
    norm_hess_diag,
    norm_inv,
    norm_third_check,
)
from .products import (
    add_outers,
    dot_lhs,
    dot_rhs,
    einsum_open,
    einsum_spec,
    einsum_sublist_spec,
    kron_shape,
    matmul_lhs,
    matmul_lhs_summed,
    matmul_rhs,
    matmul_rhs_summed,
    product,
    product_spec,
)
from .reductions import (
    average_weights,
    cumsum_t,
    group_axes,
    masked_rows,
    masked_rows_t,
    prod_others,
    ungroup_axes,
)
from .refusals import REFUSALS, check_assert, check_output, real_only, real_values, refuse
from .shaping import (
    inverse_permutation,
    join,
    pad_checked,
    pieces,
    stack_rows,
    unpad,
    unrepeat,
    untake,
    untake_along_axis,
    untile,
)
from .signals import (
    axis_widths,
    conv_widths,
    convolve_nd,
    correlate_nd,
    cov_layout,
    diff_ends,
    diff_span,
    ediff1d_span,
    matching_permutation,
    quantile_weights,
    rollaxis_axes,
    select_masks,
    trapezoid_weights,
    zeros_or_none,
)
from .special import (
    bessel,
    bessel_coef,
    lgamma_np,
    one_if_none,
    polygamma_np,
    sinc_derivative,
)
from .stats import (
    beta_logpdf,
    chi2_logpdf,
    derivative_refused,
    dirichlet_alpha,
    gamma_logpdf,
    mvn_cov,
    mvn_cov_t,
    mvn_in_support,
    mvn_precision,
    mvn_residual,
    mvn_zeros,
    t_logpdf,
)
from .tapes import checkpoint_every, zeros_like_last

# the families, in the order their helpers are listed in HELPERS
MODULES = (broadcasting, products, shaping, accumulation, tapes, indexing, containers,
           elementwise, reductions, special, stats, linalg, norms, constructors, fft, refusals,
           signals, integrate, fixed_points, gradients, incomplete)

# every helper generated code may call by name (a reserved name: see frontend/reserved.py)
HELPERS: tuple[str, ...] = tuple(name for module in MODULES
                                 for name in getattr(module, "HELPERS", ()))


def functions() -> dict[str, types.FunctionType]:
    """Every function of the runtime by name, private ones included: what a standalone
    module may need to copy (a helper and the functions it calls)."""
    return {name: value for module in MODULES for name, value in vars(module).items()
            if inspect.isfunction(value) and value.__module__ == module.__name__}


__all__ = [
    "HELPERS", "MODULES", "fixed_point_jvp", "fixed_point_jvp_back", "fixed_point_jvp_dot",
    "fixed_point_third", "fixed_point_vjp", "fixed_point_vjp_back", "fixed_point_vjp_dot",
    "angle_scale", "fft_axes", "fft_length", "fix_shape", "full_lengths",
    "hermitian_weights", "last_axis", "like_result", "real_like", "like_kinds",
    "swapped_norm",
    "REFUSALS", "add_at", "add_matvec_at", "add_outer_at", "sub_matvec_at", "as_integers",
    "add_attribute",
    "arange_count", "arange_unit",
    "attribute_tangent", "average_weights", "block_embed", "block_part", "broadcast_like",
    "check_assert", "check_output", "checkpoint_every", "clip_part", "convert_like", "copy_of",
    "cross_checked", "cumsum_t",
    "DerivativeNotImplementedError", "DerivativeUndefinedError", "diag_adjoint", "dict_has",
    "dict_keys",
    "dirichlet_alpha", "mvn_cov", "mvn_cov_t", "mvn_residual", "derivative_refused",
    "mvn_in_support", "mvn_precision", "mvn_zeros",
    "t_logpdf", "gamma_logpdf", "chi2_logpdf", "beta_logpdf",
    "dot_lhs", "dot_rhs", "einsum_open", "einsum_spec", "expm_np", "extremum_mask", "falling",
    "functions", "group_axes", "index_concat", "index_concat_jvp", "index_concat_vjp",
    "inv_offdiag", "inverse_permutation", "join", "join_slices", "kron_shape", "left_part",
    "linspace_ramp",
    "linspace_weights", "log_or_zero", "masked_rows", "masked_rows_t", "matmul_lhs", "matmul_rhs",
    "matmul_lhs_summed", "matmul_rhs_summed",
    "norm_axes", "norm_curvature_check", "add_outers", "norm_dual", "norm_inv",
    "NotDifferentiableError", "one_if_none", "ones_seed", "pad_checked", "pair_diff", "pieces",
    "plus", "polygamma_np", "pow_term",
    "power_slope", "prod_others", "product", "product_spec", "qr_checked", "random_draw",
    "read_at", "real_only",
    "real_values", "reciprocal_or_zero", "reduced_size", "refuse", "replicate", "right_part",
    "shape_stub", "set_at", "set_in_place", "zero_in_place", "entry_copy", "sinc_derivative",
    "solve_checked", "stack_rows", "sum_keepdims", "sum_to", "svd_checked", "symmetrize",
    "symmetrize_t", "transpose_if", "triangle", "tuple_field", "unarray", "unbroadcast",
    "undiagonal", "ungroup_axes", "unit_eye", "unpad", "unreduce", "unrepeat", "untake",
    "untake_along_axis", "untile", "written_at", "zero_at", "zeros_like", "zeros_like_last",
    "bessel", "bessel_coef", "lgamma_np", "axis_widths", "conv_widths", "convolve_nd",
    "correlate_nd", "diff_ends", "diff_span", "ediff1d_span", "matching_permutation",
    "rollaxis_axes", "zeros_or_none", "sylvester", "logm_real",
    "select_masks", "trapezoid_weights", "quantile_weights",
    "cov_layout", "complex_norm_dual", "complex_norm_inv", "odeint_vjp", "odeint_jvp",
    "odeint_second",
    "eig_checked", "banded_full", "banded_part", "einsum_sublist_spec", "cross_last",
    "cross_back", "cross3", "gradient_lin", "gradient_t", "gradient_dh", "gradient_dh_t",
    "gradient_second", "norm_hess_diag", "norm_dual_dy", "norm_third_check",
    "gammainc_da", "betainc_dab", "complex_norm_curv", "complex_norm_slope",
    "complex_norm_third_check", "hermitize", "hermitize_t", "inv_gaps", "phase_checked",
    "vector_diag", "vector_diag_df", "vector_diag_t", "vector_diag_f",
]
