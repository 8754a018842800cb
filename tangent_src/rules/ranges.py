"""np.linspace, np.logspace and np.geomspace: differentiable in start and stop (and base).

np.linspace(start, stop, num, endpoint, axis) is (1 - t) start + t stop along the new
`axis`, with weights t = linspace_weights(...) that depend only on num and endpoint; start
and stop may be arrays (broadcast against each other). logspace is base ** linspace(...);
geomspace is start * (stop / start) ** t (same signs for start and stop, as NumPy requires).
retstep= and dtype= are not supported (a keyword the rule does not declare is refused).
"""
from __future__ import annotations

import re

import numpy as np

from .registry import REGISTRY, register_template

A, T = REGISTRY.adjoints, REGISTRY.tangents

_W = "t = linspace_weights(start, stop, num, endpoint, axis)\n"
_WEIGHT = re.compile(r"\bt\b")
_SPREAD = "np.expand_dims({}, axis)"   # start/stop/base broadcast against the result


def _rules(key, params: str, start_factor: str, stop_factor: str, extra: tuple = ()) -> None:
    """dy = start_factor * d[start] + stop_factor * d[stop] (+ extra (param, factor)), each
    factor an expression of y's shape. `axis` is passed positionally: a keyword left at its
    default is dropped from generated calls, and np.sum's default is not linspace's."""
    pairs = (("start", start_factor), ("stop", stop_factor)) + extra
    register_template(A, key, params, _W + "".join(
        f"d[{p}] = unbroadcast(np.sum(d[y] * {f}, axis), {p})\n" for p, f in pairs))
    inline = [(p, _WEIGHT.sub("linspace_weights(start, stop, num, endpoint, axis)", f))
              for p, f in pairs]   # tangent rules are single expressions
    register_template(T, key, params, "".join(
        f"d[y] = {_SPREAD.format(f'd[{p}]')} * {f}\n" for p, f in inline))


_rules(np.linspace, "y, start, stop, num=50, endpoint=True, axis=0", "(1.0 - t)", "t")
_LOG_BASE = f"y * np.log({_SPREAD.format('base')})"
_rules(np.logspace, "y, start, stop, num=50, endpoint=True, base=10.0, axis=0",
       f"{_LOG_BASE} * (1.0 - t)", f"{_LOG_BASE} * t",
       (("base", f"y * ({_SPREAD.format('start')} * (1.0 - t) + "
                 f"{_SPREAD.format('stop')} * t) / {_SPREAD.format('base')}"),))
_rules(np.geomspace, "y, start, stop, num=50, endpoint=True, axis=0",
       f"y * (1.0 - t) / {_SPREAD.format('start')}", f"y * t / {_SPREAD.format('stop')}")

NOTES = {
    np.linspace: "start and stop (scalars or arrays), num, endpoint, axis; not retstep/dtype",
    np.logspace: "start, stop and base; num, endpoint, axis; not dtype",
    np.geomspace: "start and stop of the same sign; num, endpoint, axis; not dtype",
}
