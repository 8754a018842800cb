"""The text of np.cross's rules with its axis keywords (rules/linalg.py registers them).

np.cross(a, b, axisa, axisb, axisc, axis) moves a's vector axis `axisa` and b's `axisb` to
the end, takes the cross product along the last axis and moves the result's vector axis to
`axisc` (`axis`, when given, sets all three). The adjoint undoes the moves around the
last-axis rule: d a = cross(b, g) and d b = cross(g, a), each summed to its operand's shape
(broadcasting) and moved back; the tangent is np.cross itself with the same keywords.
The adjoints' products along the last axis are runtime cross3 (np.cross without its copies
of both operands, the same result bit for bit), whose own rules are the last-axis ones.
"""
from __future__ import annotations


def templates(a_kw: str, b_kw: str, c_kw: str, call: str) -> tuple[str, str]:
    """(adjoint, tangent) bodies; `a_kw`, `b_kw`, `c_kw` are the keywords naming each vector
    axis (runtime cross_last / cross_back, which leave a defaulted one out), `call` the
    tangent's call, `{}` standing for its two operands."""
    am, bm = f"cross_last(a, {a_kw})", f"cross_last(b, {b_kw})"
    gm = f"cross_last(cross_checked(d[y], {am}, {bm}), {c_kw})"
    adjoint = (f"d[a] = cross_back(sum_to(cross3({bm}, {gm}), np.shape({am})), {a_kw})\n"
               f"d[b] = cross_back(sum_to(cross3({gm}, {am}), np.shape({bm})), {b_kw})\n")
    tangent = (f"d[y] = {call.format(f'cross_checked(d[a], {am}, {bm}), b')}\n"
               f"d[y] = {call.format(f'a, cross_checked(d[b], {am}, {bm})')}\n")
    return adjoint, tangent


PARAMS = "y, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None"
ADJOINT, TANGENT = templates("axisa=axisa, axis=axis", "axisb=axisb, axis=axis",
                             "axisc=axisc, axis=axis",
                             "np.cross({}, axisa=axisa, axisb=axisb, axisc=axisc, axis=axis)")
LINALG_PARAMS = "y, a, b, axis=-1"  # np.linalg.cross(x1, x2, /, *, axis=-1)
LINALG_ADJOINT, LINALG_TANGENT = templates("axis=axis", "axis=axis", "axis=axis",
                                           "np.linalg.cross({}, axis=axis)")

# runtime cross3(a, b) (np.cross of last-axis 3-vectors): the last-axis rules themselves
CROSS3_PARAMS = "y, a, b"
CROSS3_ADJOINT = ("d[a] = sum_to(cross3(b, cross_checked(d[y], a, b)), np.shape(a))\n"
                  "d[b] = sum_to(cross3(cross_checked(d[y], a, b), a), np.shape(b))\n")
CROSS3_TANGENT = ("d[y] = cross3(cross_checked(d[a], a, b), b)\n"
                  "d[y] = cross3(a, cross_checked(d[b], a, b))\n")
