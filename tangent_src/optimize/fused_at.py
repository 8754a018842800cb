"""Accumulations into one entry of an adjoint that the NumPy helpers can fuse.

Before:                                        After:
    dQs = add_at(dQs, k, np.outer(dQxc, xc))       dQs = add_outer_at(dQs, k, dQxc, xc)
    dxc = Qs_k.T @ dQxc                            dmeans = sub_matvec_at(dmeans, k,
    dmeans = add_at(dmeans, k, -dxc)                                      Qs_k.T, dQxc)

Each helper is the add_at of its product by definition (its NumPy form does exactly
that). Under numba, `add_outer_at(acc, k, u, v)` adds u[i] * v[j] into acc[k] entry by
entry (the same product and sum per entry); `add_matvec_at` / `sub_matvec_at(acc, k, M,
v)` add / subtract M @ v into the row acc[k] by loops over M (the same value in real
arithmetic, rounded in another order than BLAS's product added once), without the
product's temporary and without a BLAS call for a small matrix. Both fall back to the
composed form for any other shape or where an operand lies in acc's memory.
A table of rules: `add_at(acc, k, -g)` alone as a `subtract_at` measured no gain under
numba (GMM loop form) and was left out.

The matrix product is usually its own statement (its own section: the adjoint of another
source line). A temporary `t = M @ v` read once, by `acc = add_at(acc, k, t)` or
`add_at(acc, k, -t)` later in the same block, moves into that call when nothing in
between rebinds what it reads or can write into any array: only markers, tape pops,
call-free assignments and accumulations (`x = add_at(x, ...)`, the fused helpers) into
adjoints that own their array (`inplace`: never aliased) and that the product does not
read. Run once, after the in-place writes (optimize/inplace_writes.py knows add_at, not
these helpers), and only for code that is not differentiated again (the helpers have no
derivative rules).
"""
from __future__ import annotations

import gast

from ..core import build
from ..core.markers import is_marker
from ..core.walk import all_nodes
from .facts import COMPOUND, is_add_at, name_counts, names_read, names_written, tape_call

# Accumulating helpers: `x = helper(x, index, ...)` writes into x's array and nothing else.
ACCUMULATORS = frozenset({"add_at", "add_outer_at", "add_matvec_at", "sub_matvec_at"})


def _plain(call, count: int) -> bool:
    return isinstance(call, gast.Call) and len(call.args) == count and not call.keywords \
        and not any(isinstance(a, gast.Starred) for a in call.args)


def _outer(g):
    """(u, v) of `np.outer(u, v)` (two plain arguments, no keywords), else None."""
    if _plain(g, 2) and build.dotted(g.func) == "np.outer":
        return list(g.args)
    return None


def _product(g):
    """(M, v) of `M @ v` or `np.matmul(M, v)` (not np.dot: for a scalar or more than two
    dimensions it is another product than the helpers' `@`), else None."""
    if isinstance(g, gast.BinOp) and isinstance(g.op, gast.MatMult):
        return [g.left, g.right]
    if _plain(g, 2) and build.dotted(g.func) == "np.matmul":
        return list(g.args)
    return None


def _negated_product(g):
    """(M, v) of `-(M @ v)` (or of np.matmul), else None."""
    if isinstance(g, gast.UnaryOp) and isinstance(g.op, gast.USub):
        return _product(g.operand)
    return None


# (what the added value must be, the helper that takes its parts instead)
RULES = ((_outer, "add_outer_at"), (_product, "add_matvec_at"),
         (_negated_product, "sub_matvec_at"))


def fused_at(body: list, inplace: set, protected: set, products: bool = False) -> bool:
    """Rewrite every `add_at(acc, k, g)` in `body` whose g a rule matches; with `products`
    (the numba back end, where they pay) also the matrix-vector rules, after moving each
    single-use product into its add_at, even the adjoint of a user's variable (`dxc`:
    the fused call names its parts). Whether any changed."""
    rules = RULES if products else RULES[:1]
    changed = _rewrite(body, rules)
    if products:
        counts, defs = name_counts(body)
        if _pull_products(body, inplace, counts, defs):
            changed = _rewrite(body, rules) or True
    return changed


def _rewrite(body: list, rules: tuple) -> bool:
    changed = False
    for node in all_nodes(body):
        if not (is_add_at(node) and _plain(node, 3)):
            continue
        for parts_of, helper in rules:
            parts = parts_of(node.args[2])
            if parts is not None:
                node.func = build.name(helper)
                node.args = node.args[:2] + parts
                changed = True
                break
    return changed


def _pull_products(stmts: list, inplace: set, counts: dict, defs: dict) -> bool:
    """Move each single-use `t = M @ v` of `stmts` (and nested blocks) into the add_at that
    reads it, where that is safe (see the module docstring)."""
    changed = False
    for stmt in stmts:
        if isinstance(stmt, COMPOUND):
            for sub in (stmt.body, stmt.orelse):
                changed |= _pull_products(sub, inplace, counts, defs)
    deleted = set()
    for idx, stmt in enumerate(stmts):
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and
                isinstance(stmt.targets[0], gast.Name) and _product(stmt.value)):
            continue
        name = stmt.targets[0].id
        if counts.get(name) != 1 or defs.get(name) != 1:
            continue
        reads = names_read(stmt.value) | {name}
        for later in stmts[idx + 1:]:
            slot = _consumer_slot(later, name)
            if slot is not None:
                _, call = slot
                if isinstance(call.args[2], gast.Name):
                    call.args[2] = stmt.value
                else:
                    call.args[2].operand = stmt.value
                deleted.add(idx)
                changed = True
                break
            if not _harmless(later, reads, inplace):
                break
    if deleted:
        stmts[:] = [s for k, s in enumerate(stmts) if k not in deleted]
    return changed


def _consumer_slot(stmt, name: str):
    """(acc, call) when `stmt` is `acc = add_at(acc, k, name)` or `add_at(acc, k, -name)`
    with acc a plain name other than `name` and k not reading it."""
    if not (isinstance(stmt, gast.Assign) and is_add_at(stmt.value) and
            _plain(stmt.value, 3)):
        return None
    call = stmt.value
    acc, index, g = call.args
    if isinstance(g, gast.UnaryOp) and isinstance(g.op, gast.USub):
        g = g.operand
    if not (isinstance(g, gast.Name) and g.id == name and isinstance(acc, gast.Name) and
            acc.id != name and name not in names_read(index)):
        return None
    return acc.id, call


def _harmless(stmt, reads: set, inplace: set) -> bool:
    """Whether `stmt` leaves every name of `reads` bound to the same, unchanged array."""
    if is_marker(stmt):
        return True
    if not isinstance(stmt, gast.Assign) or names_written(stmt) & reads:
        return False
    if tape_call(stmt, "pop"):
        return True
    value = stmt.value
    if isinstance(value, gast.Call) and isinstance(value.func, gast.Name) and \
            value.func.id in ACCUMULATORS and value.args and \
            isinstance(value.args[0], gast.Name):
        acc = value.args[0].id
        target = stmt.targets[0]
        return acc in inplace and acc not in reads and isinstance(target, gast.Name) and \
            target.id == acc and not any(
                isinstance(n, gast.Call) for a in value.args[1:] for n in all_nodes([a]))
    target = stmt.targets[0]
    plain = all(isinstance(t, gast.Name) for t in (
        target.elts if isinstance(target, gast.Tuple) else [target]))
    return plain and not any(isinstance(n, gast.Call) for n in all_nodes([value]))
