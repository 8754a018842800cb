"""The generated source with the user's lines beside it (`tangent-src show`).

Generated code marks where each part of the backward (or tangent) pass comes from with a
`# line N: <source>` comment. Reading it next to the original is easier with the original
in a column of its own: each marker comment is dropped and its line is printed beside the
first generated line it stands for.

    dh = unreduce(dout, W_at_x_plus_b) * 2 * h  |  6  return np.sum(h ** 2)
"""
from __future__ import annotations

import re

_MARKER = re.compile(r"^\s*# line (\d+): ?(.*)$")
WIDEST = 88  # a generated line longer than this pushes its original further right


def beside(source: str) -> str:
    """`source` (generated code) with each `# line N: ...` comment moved into a right-hand
    column next to the generated line it precedes."""
    rows: list[tuple[str, str]] = []
    pending = ""
    for line in source.splitlines():
        match = _MARKER.match(line)
        if match:
            pending = f"{match.group(1):>4}  {match.group(2)}"
            continue
        if pending and line.strip():
            rows.append((line, pending))
            pending = ""
        else:
            rows.append((line, ""))
    width = min(WIDEST, max((len(code) for code, original in rows if original), default=0))
    out = [f"{code.ljust(width)}  |{original}" if original else code for code, original in rows]
    return "\n".join(out) + "\n"
