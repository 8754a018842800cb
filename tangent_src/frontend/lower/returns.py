"""Lowering of early returns: one `return` at the end of the function.

Before:  `for x in xs: if x > t: return x` ... `return 0.0`
After:   `returned = False; for ...: if x > t: result = x; returned = True; break`
         `if returned: out = result else: out = 0.0`; `return out`
"""
from __future__ import annotations

import gast

from ...core import build
from ...core.walk import clone
from .common import contains, located, walk_scope


def _endless(loop) -> bool:
    """`while True:` with no break of its own: only a return leaves it."""
    return isinstance(loop, gast.While) and isinstance(loop.test, gast.Constant) and \
        bool(loop.test.value) and not contains(loop.body, gast.Break, stop=(gast.For, gast.While))


class ReturnLowering:
    """Lowerer's part for returns (see the module docstring)."""

    def lift_loop_returns(self, stmts) -> list:
        """`return v` inside a loop -> `result_k = v; returned_k = True; break` (leaving each
        enclosing loop), then `if returned_k: return result_k` after the outermost loop.

        Each return site gets its own value and flag: one shared `result` would be assigned
        in one branch and copied in the others (`else: result2 = result`), a read of a name
        that is unbound until some iteration returns."""
        out = []
        for stmt in stmts:
            if isinstance(stmt, (gast.For, gast.While)) and contains([stmt], gast.Return):
                sites: list = []
                endless = _endless(stmt)
                stmt.body = self._replace_returns(stmt.body, sites)
                out += [located(build.assign(flag, build.const(False)), stmt)
                        for flag, _, _ in sites]
                out.append(stmt)
                exits = [located(gast.If(test=build.name(flag), body=[located(
                    gast.Return(value=build.name(value)), ret)], orelse=[]), ret)
                    for flag, value, ret in sites]
                if endless:  # only a return leaves it: the last site needs no flag
                    exits[-1] = exits[-1].body[0]
                out += exits
            elif isinstance(stmt, gast.If):
                stmt.body = self.lift_loop_returns(stmt.body)
                stmt.orelse = self.lift_loop_returns(stmt.orelse)
                out.append(stmt)
            else:
                out.append(stmt)
        return out

    def _replace_returns(self, stmts, sites: list) -> list:
        """Replace the returns in a loop body, appending (flag, value, return) per site to
        `sites`; a nested loop that returns is followed by `if <any of its flags>: break`."""
        out = []
        for stmt in stmts:
            if isinstance(stmt, gast.Return):
                flag, value = self.namer.fresh("returned"), self.namer.fresh("result")
                self.locals.update((flag, value))
                sites.append((flag, value, stmt))
                out += [located(build.assign(value, stmt.value), stmt),
                        located(build.assign(flag, build.const(True)), stmt),
                        located(gast.Break(), stmt)]
                return out
            if isinstance(stmt, gast.If):
                stmt.body = self._replace_returns(stmt.body, sites)
                stmt.orelse = self._replace_returns(stmt.orelse, sites)
            elif isinstance(stmt, (gast.For, gast.While)) and contains([stmt], gast.Return):
                inner: list = []
                stmt.body = self._replace_returns(stmt.body, inner)
                sites += inner
                out.append(stmt)
                flags = [build.name(flag) for flag, _, _ in inner]
                test = flags[0] if len(flags) == 1 else gast.BoolOp(op=gast.Or(), values=flags)
                stmt = located(gast.If(test=test, body=[located(gast.Break(), stmt)],
                                        orelse=[]), stmt)
            out.append(stmt)
        return out

    def returns(self, stmts, result: str):
        """Move every return to the end: returns (statements, whether every path returns)."""
        out = []
        for idx, stmt in enumerate(stmts):
            if isinstance(stmt, gast.Return):
                out.append(located(build.assign(result, stmt.value), stmt))
                return out, True
            if isinstance(stmt, (gast.For, gast.While)) and contains(stmt.body, gast.Return):
                node = next(n for n in walk_scope(stmt) if isinstance(n, gast.Return))
                raise self.parsed.unsupported(
                    node, "return inside a loop",
                    "store the result in a variable, break, and return after the loop")
            if isinstance(stmt, gast.If) and contains([stmt], gast.Return):
                rest = stmts[idx + 1:]
                body, body_returns = self.returns(stmt.body + clone(rest), result)
                orelse, else_returns = self.returns(stmt.orelse + clone(rest), result)
                stmt.body, stmt.orelse = body, orelse
                out.append(stmt)
                return out, body_returns and else_returns
            out.append(stmt)
        return out, False
