"""Split a joint gradient into a forward/backward pair, for a user function that another
differentiated function calls:

    def dsquare(x, dy):              def square_fwd(x):           def square_bwd(saved, dy):
        # forward pass                   y = x * x                    x = saved
        y = x * x            ->          return y, x                  dx = 2 * x * dy
        # backward pass                                               return dx
        dx = 2 * x * dy
        return y, dx

The caller runs `square_fwd` in its forward pass, keeps `saved`, and passes it to
`square_bwd` in its backward pass; `saved` holds exactly what the backward pass reads.
An array the backward pass reads only for its shape (the `like` of `unbroadcast` /
`unreduce`, the array `join_slices` starts zeros like, `np.shape`'s argument) is
saved as `shape_stub(x)`, a one-element view of that shape, so that the
forward half does not keep it alive: fresh memory for every later array cost BA's
forward half page faults."""
from __future__ import annotations

import gast

from ..core.dataflow import definitely_assigned
from ..core.markers import is_section
from ..core.walk import clone, walk
from ..naming import Namer
from ..optimize import live_before
from ..optimize.ownership import call_name
from .saved_arith import saved_arith
from .saved_lengths import length_only, read_lengths
from .saved_views import saved_views


def split_function(node: gast.FunctionDef, seed: str, fwd_name: str, bwd_name: str,
                   namer: Namer, views: bool = False) -> list:
    """Cut a joint gradient `(args, seed) -> (value, grads)` at its backward pass into
    `fwd(args) -> (value, saved)` and `bwd(saved, seed) -> grads`; `saved` holds exactly
    the values (and tapes) the backward pass reads, except, with `views` (numba), the
    slices of saved arrays it takes again (saved_views.py), the cheap elementwise values
    it computes again (saved_arith.py) and the arrays it reads only the length of, whose
    lengths it saves instead (saved_lengths.py)."""
    body = node.body
    cut = next((i for i, s in enumerate(body) if is_section(s, "backward pass")), None)
    ret = body[-1]
    value, grads = ret.value.elts
    backward = body[cut + 1:-1] if cut is not None else []
    forward = [s for s in body[:cut if cut is not None else -1]
               if not is_section(s, "forward pass")]
    bwd_return = gast.Return(value=grads)
    live = live_before(backward + [bwd_return], set())
    local = {a.id for a in node.args.args + node.args.kwonlyargs} | {
        n.id for s in forward for n in walk(s)
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    saved = sorted((live & local) - {seed})
    retaken: list = []
    lengths: dict = {}  # a saved length's name -> the name it is the length of
    if views:
        args = {a.id for a in node.args.args + node.args.kwonlyargs} - {seed}
        retaken, saved = saved_views(forward, backward, saved, args)
        recomputed, saved = saved_arith(forward, retaken + backward, saved, args)
        retaken = recomputed + retaken
        retaken, backward, bwd_return, saved, lengths = _save_lengths(
            retaken, backward, bwd_return, saved, args | set(definitely_assigned(forward)),
            namer)
    saved_param = namer.fresh("saved")
    saved_tuple = gast.Tuple(elts=[_load(n) for n in saved], ctx=gast.Load())
    fwd_args = clone(node.args)
    _drop_param(fwd_args, seed)
    params = {a.id for a in fwd_args.args + fwd_args.kwonlyargs}
    # parameters too: vjp (pullback.py) copies what the saved values share with the
    # caller's arrays, and a stub shares nothing
    stubs = _shape_only(retaken + backward + [bwd_return], set(saved))
    returned = gast.Tuple(elts=[
        gast.Call(func=_load("shape_stub"), args=[_load(n)], keywords=[]) if n in stubs else
        gast.Call(func=_load("len"), args=[_load(lengths[n])], keywords=[])
        if n in lengths else _load(n) for n in saved], ctx=gast.Load())
    always = set(definitely_assigned(forward))
    maybe_unset = [n for n in saved if n not in params and n not in always and
                   n not in lengths]
    forward = [gast.Assign(targets=[gast.Name(id=n, ctx=gast.Store(), annotation=None,
                                              type_comment=None)],
                           value=gast.Constant(value=None, kind=None), type_comment=None)
               for n in maybe_unset] + forward
    fwd = gast.FunctionDef(
        name=fwd_name, args=fwd_args, decorator_list=[], returns=None, type_comment=None,
        type_params=[],
        body=forward + [gast.Return(value=gast.Tuple(elts=[value, returned],
                                                     ctx=gast.Load()))])
    unpack = []
    if saved:
        target = clone(saved_tuple)
        for elt in target.elts:
            elt.ctx = gast.Store()
        target.ctx = gast.Store()
        unpack = [gast.Assign(targets=[target], value=_load(saved_param), type_comment=None)]
    params = [gast.Name(id=saved_param, ctx=gast.Param(), annotation=None, type_comment=None),
              gast.Name(id=seed, ctx=gast.Param(), annotation=None, type_comment=None)]
    bwd_args = gast.arguments(args=params, posonlyargs=[], vararg=None, kwonlyargs=[],
                              kw_defaults=[], kwarg=None, defaults=[])
    bwd = gast.FunctionDef(name=bwd_name, args=bwd_args,
                           body=unpack + retaken + backward + [bwd_return],
                           decorator_list=[], returns=None, type_comment=None, type_params=[])
    return [fwd, bwd]


def _save_lengths(retaken: list, backward: list, bwd_return, saved: list, bound: set,
                  namer: Namer) -> tuple:
    """The backward half reading saved lengths instead of the arrays they are of
    (saved_lengths.py): its statements, return, saved names, {length name: array name}."""
    names = {n: namer.fresh(n + "_len") for n in
             length_only(retaken + backward + [bwd_return], saved, bound)}
    if not names:
        return retaken, backward, bwd_return, saved, {}
    *statements, bwd_return = read_lengths(
        [clone(s) for s in retaken + backward + [bwd_return]], names)
    return statements[:len(retaken)], statements[len(retaken):], bwd_return, \
        sorted(names.get(n, n) for n in saved), {v: k for k, v in names.items()}


# calls that read only the shape (and dtype and type) of one argument: name -> its position
# (unbroadcast / unreduce's `like`; the array join_slices starts zeros like; np.shape's
# argument). Not runtime zeros_like: of an object, it reads the object's attributes
SHAPE_READERS = {"unbroadcast": 1, "unreduce": 1, "join_slices": 0, "np.shape": 0}


def _shape_only(statements: list, names: set) -> set:
    """The `names` that `statements` read only as the argument of a SHAPE_READERS call
    that it reads the shape of, and never assign."""
    like, other = set(), set()
    for stmt in statements:
        for node in walk(stmt):
            if isinstance(node, gast.Call):
                position = SHAPE_READERS.get(call_name(node))
                if position is not None and len(node.args) > position and \
                        isinstance(node.args[position], gast.Name):
                    like.add(id(node.args[position]))
    for stmt in statements:
        for node in walk(stmt):
            if isinstance(node, gast.Name) and node.id in names and (
                    not isinstance(node.ctx, gast.Load) or id(node) not in like):
                other.add(node.id)
    return names - other


def _load(name: str):
    return gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)


def _drop_param(args, name: str) -> None:
    for group, defaults in ((args.args, args.defaults), (args.kwonlyargs, args.kw_defaults)):
        for i, arg in enumerate(group):
            if arg.id == name:
                del group[i]
                offset = i - (len(group) + 1 - len(defaults))
                if 0 <= offset < len(defaults):
                    del defaults[offset]
                return
