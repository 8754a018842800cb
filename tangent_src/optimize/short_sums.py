"""A sum over one axis kept as an axis of length 1, as the runtime's `sum_keepdims`:

    dcostheta = np.expand_dims(np.sum(g * X, axis=1), 1)   ->   sum_keepdims(g * X, 1)
    sqtheta = np.sum(rot * rot, axis=1, keepdims=True)     ->   sum_keepdims(rot * rot, 1)

(transform/specialize.py writes the adjoint of a broadcast over a stretched axis the first
way; the user's own code, which the forward pass repeats, often the second).
NumPy's reduction over a short last axis loops once per row, 15-30 times slower than
adding the columns, which `sum_keepdims` does for 2 to 7 entries, in the order NumPy adds
them (the same bits); any other case is the expression it replaces. The Python back end
only: numba compiles its own loops."""
from __future__ import annotations

import gast

from ..core.walk import all_nodes


def short_sums(body: list) -> int:
    """Rewrite every `np.expand_dims(np.sum(x, axis=k), k)` and `np.sum(x, axis=k,
    keepdims=True)` (k a literal int) in place; the number rewritten."""
    count = 0
    for node in all_nodes(body):
        if not isinstance(node, gast.Call):
            continue
        if _kept_sum(node):
            summed, axis = node.args[0].args[0], node.args[1]
        else:
            found = _keepdims_sum(node)
            if found is None:
                continue
            summed, axis = found
        node.func = gast.Name(id="sum_keepdims", ctx=gast.Load(), annotation=None,
                              type_comment=None)
        node.args, node.keywords = [summed, axis], []
        count += 1
    return count


def _np_call(node, name: str) -> bool:
    func = node.func
    return isinstance(func, gast.Attribute) and func.attr == name and \
        isinstance(func.value, gast.Name) and func.value.id == "np"


def _int(node) -> int | None:
    return node.value if isinstance(node, gast.Constant) and type(node.value) is int \
        else None


def _kept_sum(node: gast.Call) -> bool:
    """Whether `node` is `np.expand_dims(np.sum(x, axis=k), k)` with one literal k."""
    if not (_np_call(node, "expand_dims") and len(node.args) == 2 and not node.keywords):
        return False
    inner, axis = node.args
    if not (isinstance(inner, gast.Call) and _np_call(inner, "sum") and
            len(inner.args) == 1 and len(inner.keywords) == 1 and
            inner.keywords[0].arg == "axis"):
        return False
    k = _int(axis)
    return k is not None and k == _int(inner.keywords[0].value)


def _keepdims_sum(node: gast.Call):
    """(x, k) if `node` is `np.sum(x, axis=k, keepdims=True)` (or `np.sum(x, k,
    keepdims=True)`) with a literal int k and nothing else passed, else None."""
    if not _np_call(node, "sum") or not 1 <= len(node.args) <= 2 or any(
            isinstance(a, gast.Starred) for a in node.args):
        return None
    keywords = {k.arg: k.value for k in node.keywords}
    if len(keywords) != len(node.keywords):  # **kwargs
        return None
    axis = node.args[1] if len(node.args) == 2 else keywords.pop("axis", None)
    keepdims = keywords.pop("keepdims", None)
    if keywords or axis is None or _int(axis) is None or not (
            isinstance(keepdims, gast.Constant) and keepdims.value is True):
        return None
    return node.args[0], gast.Constant(value=_int(axis), kind=None)
