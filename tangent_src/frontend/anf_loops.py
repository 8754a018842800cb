"""Loops in ANF: the versions a loop carries across iterations get one name each, and
the body ends by copying each new version back to it (`h = h2`, marked COPY_BACK), so
every iteration reads the same names. Placeholders (`h = None`) bind, before the
outermost loop, versions a body may read before any iteration assigned them. A mixin
of anf.ANF."""
from __future__ import annotations

import gast

from ..core import build
from ..core.dataflow import assigned, reads, upward_exposed
from ..core.tables import CHECKPOINT, COPY_BACK
from ..core.walk import clone


class LoopVersions:
    """The loop half of ANF."""

    def open_loop(self) -> dict | None:
        """Enter a loop; returns the enclosing frame to restore (None: this is outermost)."""
        outer = self.loop_frame
        if outer is None:
            self.loop_frame = {"out": self.out, "loop": None, "pending": []}
        return outer

    def close_frame(self, outer, loop) -> None:
        """The loop is built: bind the placeholders its body asked for before it."""
        if outer is None:
            frame, self.loop_frame = self.loop_frame, None
            frame["loop"] = loop
            self.emit_placeholders(frame, frame["pending"])

    def emit_placeholders(self, frame: dict, versions) -> None:
        out = frame["out"]
        at = next(k for k, stmt in enumerate(out) if stmt is frame["loop"])
        out[at:at] = [build.located(build.assign(v, build.const(None)), frame["loop"])
                      for v in versions]

    def carried(self, loop_body, head_reads, after_reads) -> dict[str, str]:
        """Names a loop updates whose value crosses an iteration or the loop's end."""
        live = upward_exposed(loop_body) | head_reads | after_reads
        return {var: self.versions[var] for var in sorted(assigned(loop_body))
                if var in self.versions and var in live}

    def close_loop(self, carried: dict[str, str], body: list, node) -> None:
        for var, loop_name in carried.items():
            if self.versions.get(var) != loop_name:
                copy = build.assign(loop_name, build.name(self.versions[var]))
                copy_back = build.located(copy, node)
                COPY_BACK[copy_back] = True
                body.append(copy_back)
            self.versions[var] = loop_name

    def stmt_For(self, node, after_reads):
        iter_call = gast.Call(func=node.iter.func, args=[self.atom(a) for a in node.iter.args],
                              keywords=[])
        index = node.target.id
        carried = self.carried(node.body, set(), after_reads | reads(node.body))
        carried.pop(index, None)
        reusable = index not in self.versions or (
            index in self.loop_indices and index not in after_reads)
        name = index if reusable else self.namer.fresh(index)
        self.namer.reserve(name)
        self.loop_indices.add(name)
        self._seen.add(index)
        self.versions[index] = name
        outer = self.open_loop()
        body = self.block(node.body, after_reads | reads(node.body))
        self.close_loop(carried, body, node)
        self.versions[index] = name
        loop = gast.For(target=build.name(name, gast.Store()), iter=iter_call, body=body, orelse=[],
                        type_comment=None)
        if node in CHECKPOINT:
            CHECKPOINT[loop] = self.atom(CHECKPOINT[node])
        self.emit(loop, node)
        self.close_frame(outer, loop)

    def stmt_While(self, node, after_reads):
        test = node.test
        if isinstance(test, gast.Name):
            cond, body_in = test.id, node.body
        else:
            cond = self.namer.fresh("cond")
            self.user_locals.add(cond)
            self.stmt_Assign(build.located(build.assign(cond, clone(test)), node))
            body_in = node.body + [build.located(build.assign(cond, clone(test)), node)]
        carried = self.carried(body_in, {cond}, after_reads | reads(body_in) | {cond})
        outer = self.open_loop()
        body = self.block(body_in, after_reads | reads(body_in) | {cond})
        self.close_loop(carried, body, node)
        loop = gast.While(test=build.name(self.versions[cond]), body=body, orelse=[])
        self.emit(loop, node)
        self.close_frame(outer, loop)
