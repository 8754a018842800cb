"""np.einsum's interleaved operand/sublist form (`np.einsum(A, [0, 1], B, [1, 2], [0, 2])`):
the statements of its rules, which rules/linalg.py adds to the string form's.

The rule's parameters are the string form's (subscripts, z1..z8); in the sublist form the
operands sit in `subscripts`, z2, z4 and z6 (up to four operands, then the output sublist in
z8) and the odd slots hold integer sublists, never differentiated. `einsum_sublist_spec`
translates the call to string subscripts over those operands, and the derivatives are the
string form's (`einsum_open` with rotated subscripts). Where a slot is an operand in both
forms (z2, z4, z6) the statement chooses by `isinstance(subscripts, str)`.
"""
from __future__ import annotations

SLOTS = ["subscripts", "z2", "z4", "z6"]  # the operands of the sublist form, in order
SPEC = ("einsum_sublist_spec(subscripts, z1, z2=z2, z3=z3, z4=z4, z5=z5, z6=z6, z7=z7, "
        "z8=z8)")


def _call(spec: str, shape: str, first: str, rest: list) -> str:
    """einsum_open(spec, shape, first, z2=rest[0], ...) (None operands drop out)."""
    named = [f"z{k}={value}" for k, value in enumerate(rest, start=2)]
    return f"einsum_open({spec}, {shape}, {', '.join([first] + named)})"


def _operand(slot: str) -> str:
    """The operand in `slot`, None when the slot holds the output sublist (z2, z4 or z6
    after one, two or three operands): an operand is followed by its sublist."""
    if slot == "subscripts":
        return slot
    return f"({slot} if z{int(slot[1:]) + 1} is not None else None)"


def sublist_reverse(slot: str) -> str:
    """The adjoint of the sublist-form operand in `slot`."""
    j = SLOTS.index(slot) + 1
    others = [_operand(s) for s in SLOTS if s != slot]
    return _call(f"einsum_spec({SPEC}, {j})", f"np.shape({slot})", "d[y]", others)


def sublist_forward(slot: str) -> str:
    """The tangent of the result along the sublist-form operand in `slot`."""
    ops = [f"d[{s}]" if s == slot else _operand(s) for s in SLOTS]
    return _call(f"einsum_spec({SPEC})", "np.shape(y)", ops[0], ops[1:])


def with_sublist_form(reverse: list[str], forward: list[str]) -> tuple[list, list]:
    """The string form's statements (reverse[k - 1] is d[z{k}] = ..., forward[k - 1] its
    tangent) extended to the sublist form."""
    reverse, forward = list(reverse), list(forward)
    for slot in SLOTS[1:]:
        k = int(slot[1:])
        string_rev = reverse[k - 1].split(" = ", 1)[1]
        reverse[k - 1] = (f"d[{slot}] = {string_rev} if isinstance(subscripts, str) else "
                          f"{sublist_reverse(slot)}")
        string_fwd = forward[k - 1].split(" = ", 1)[1]
        forward[k - 1] = (f"d[y] = {string_fwd} if isinstance(subscripts, str) else "
                          f"{sublist_forward(slot)}")
    reverse.append(f"d[subscripts] = {sublist_reverse('subscripts')}")
    forward.append(f"d[y] = {sublist_forward('subscripts')}")
    return reverse, forward
