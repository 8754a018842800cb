"""The helper functions the core language calls, by name.

Lowering writes some constructs as calls: `w[i] = v` as `w = set_at(w, i, v)`, a loop over
a dict as a loop over `dict_keys(d)`, `np.r_[a, 1:3]` as `index_concat(np.r_, (a,
slice(1, 3)))`. Each name below means the runtime function of the same name
(tangent_src.runtime): the transform stage resolves it there (compiler's resolver) and
the module assembly binds it like every runtime helper. So the front end neither imports
the runtime nor writes into the user's namespace, and a user binding of one of these
names never meets them: the front end renames it apart before lowering
(frontend/reserved.py).
"""
from __future__ import annotations

CORE_HELPERS = {
    "set_at": "set_at(a, index, value): a copy of `a` with a[index] = value (arrays, "
              "lists, tuples, dicts)",
    "dict_keys": "dict_keys(d): the keys of `d`, in order, as a list",
    "check_assert": "check_assert(condition, message): `assert condition, message`, run "
                    "on the primal values",
    "check_output": "check_output(condition, message): a nested grad's check that its "
                    "function returned one number (OutputTypeError otherwise)",
    "random_draw": "random_draw(gen, method, *args, **kwargs): gen.method(...) for a NumPy "
                   "random generator, a constant for the derivative",
    "dict_has": "dict_has(d, key): key in d, for d.get(key, default) (d must be a dict)",
    "as_integers": "as_integers(x, dtype): x.astype(dtype) for an integer or bool dtype",
    "index_concat": "index_concat(maker, items): np.r_[items] / np.c_[items] as a call",
}
