"""Deciding the `z op= v` sites the alias check could not decide on its own: once shape
inference knows whether `z` holds a number (rebound: fine) or an array (updated in place
while another live name shares it: refused, located, with a hint)."""
from __future__ import annotations

import gast

from ..analysis.shapes import ARRAY0, SCALAR
from ..core.walk import walk
from .alias_facts import COPY_HINT, InPlaceSite


def _located_at(node, site) -> bool:
    """At the site's line and column (an inlined callee's statement: at its column)."""
    return (site.source is not None or getattr(node, "lineno", None) == site.node.lineno) \
        and getattr(node, "col_offset", None) == site.node.col_offset


def _site_classes(core, site: InPlaceSite, classes, mutable=frozenset()) -> list:
    """Shape classes that decide `site`: of the left operand of the core statements an
    AugAssign was lowered to (same line, column and operator), or of the argument of the
    core call at the site's call. None found (inlined, say) means unknown."""
    out = []
    for node in walk(core):
        if isinstance(site.node, gast.AugAssign):
            if isinstance(node, gast.Assign) and isinstance(node.value, gast.BinOp) and \
                    type(node.value.op) is type(site.node.op) and _located_at(node, site) \
                    and isinstance(node.value.left, gast.Name):
                out.append(node.value.left.id)
        elif isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
                node.func.id == site.node.func.id and \
                getattr(node, "lineno", None) == site.node.lineno:  # ANF moves columns
            if isinstance(site.arg, int) and site.arg < len(node.args):
                out.append(node.args[site.arg])
            out += [k.value for k in node.keywords if k.arg == site.arg]
    if not out and isinstance(site.node, gast.Call) and site.source is None:
        out = _inlined_arguments(core, site.node.lineno)
    names = [n.id if isinstance(n, gast.Name) else n for n in out]
    return [ARRAY0 if n in mutable else _class_of(n, classes) for n in names] or [None]


def _inlined_arguments(core, lineno: int) -> list:
    """A call inlined into its caller (higher order) leaves `param = argument` copies on
    its line: their values stand for the arguments (every copy on the line, to be safe)."""
    return [node.value for node in walk(core) if isinstance(node, gast.Assign) and
            getattr(node, "lineno", None) == lineno and
            isinstance(node.value, (gast.Name, gast.Constant))]


def _class_of(atom, classes):
    if isinstance(atom, gast.Constant):
        return SCALAR if isinstance(atom.value, (int, float, complex, bool)) else None
    if isinstance(atom, str) and classes is not None:
        return classes.get(atom)
    return None


def check_inplace_sites(parsed, core, sites, classes,
                        mutable: frozenset = frozenset()) -> None:
    """Refuse `z op= v` where z may share its array with a name read afterwards, unless
    shape inference (`classes`, None when nothing is known) says z is a number there (then
    Python rebinds z and the lowering's `z = z op v` is exact). A scalar that may be a 0-d
    array (`mutable`: a 0-d array argument, np.where's result, a view) is updated in place."""
    for site in sites:
        found = _site_classes(core, site, classes, mutable)
        if all(cls == SCALAR for cls in found):
            continue
        owner = site.source or parsed
        what = "an array" if all(cls is not None for cls in found) else "an array or list"
        op, z, h = site.op or "+", site.name, site.partner
        if isinstance(site.node, gast.Call):
            callee = site.node.func.id
            raise owner.unsupported(
                site.node, f"passing '{h}' ({what}) to '{callee}', which updates its "
                f"parameter '{z}' in place (`{z} op= ...`), while '{h}' is read afterwards",
                f"pass a copy: {callee}(..., {h}.copy()), or write `{z} = {z} + v` in "
                f"'{callee}'")
        raise owner.unsupported(
            site.node, f"'{z} {op}= ...' on {what} that shares its memory with "
            f"'{h}'{site.via} (Python's in-place update changes '{h}' too, and '{h}' is "
            "read afterwards)", COPY_HINT.format(z=z, h=h, op=op))
