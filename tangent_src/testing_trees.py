"""The pytrees check_grads compares: leaves by kind, flattening a derivative in the order of
the value it belongs to (refusing a structure or shape that differs), rebuilding from a
vector, and random draws shaped like a value. Split from testing.py (its size limit)."""
from __future__ import annotations

import numpy as np


class Mismatch(Exception):
    """A derivative whose structure or shape differs from what it should be."""


def kind(value) -> str:
    """'float', 'int', 'complex', 'str' or 'other' for one pytree leaf."""
    if isinstance(value, (str, bytes)):
        return "str"
    if isinstance(value, (bool, np.bool_, int, np.integer)):
        return "int"
    if isinstance(value, (float, np.floating)):
        return "float"
    if isinstance(value, (complex, np.complexfloating)):
        return "complex"
    if isinstance(value, np.ndarray):
        return {"f": "float", "c": "complex", "b": "int", "i": "int", "u": "int",
                "U": "str", "S": "str"}.get(value.dtype.kind, "other")
    return "other"


def leaves(tree, path: str = ""):
    """(path, leaf) pairs of a pytree (tuples, lists and dicts are its containers)."""
    if isinstance(tree, dict):
        for key in tree:
            yield from leaves(tree[key], f"{path}[{key!r}]")
    elif isinstance(tree, (list, tuple)):
        for i, item in enumerate(tree):
            yield from leaves(item, f"{path}[{i}]")
    else:
        yield path, tree


def gather(tree, like, path: str = "") -> list:
    """The float leaves of `tree`, walked in the order of `like`'s float leaves, raveled;
    raise Mismatch where `tree` does not have `like`'s structure and shapes."""
    if isinstance(like, dict):
        if not isinstance(tree, dict) or set(tree) != set(like):
            raise Mismatch(f"{path or 'the value'} should be a dict with keys "
                            f"{sorted(map(repr, like))}, got {describe(tree)}")
        return [part for key in like for part in gather(tree[key], like[key],
                                                          f"{path}[{key!r}]")]
    if isinstance(like, (list, tuple)):
        if not isinstance(tree, (list, tuple)) or len(tree) != len(like):
            raise Mismatch(f"{path or 'the value'} should be a sequence of {len(like)}, "
                            f"got {describe(tree)}")
        return [part for k, (t, lk) in enumerate(zip(tree, like))
                for part in gather(t, lk, f"{path}[{k}]")]
    if kind(like) not in ("float", "complex"):
        return []
    if isinstance(tree, (dict, list, tuple)) or np.shape(tree) != np.shape(like):
        raise Mismatch(f"{path or 'the value'} should have shape {np.shape(like)}, got "
                        f"{describe(tree)}")
    if kind(like) == "complex":  # a complex output: its real and imaginary parts
        if kind(tree) not in ("float", "complex"):
            raise Mismatch(f"{path or 'the value'} should be a number, got "
                            f"{describe(tree)}")
        return [np.ravel(np.real(tree)).astype(float), np.ravel(np.imag(tree)).astype(float)]
    if kind(tree) != "float":
        raise Mismatch(f"{path or 'the value'} should be a real float, got "
                        f"{describe(tree)}")
    return [np.ravel(np.asarray(tree, dtype=np.float64))]


def describe(value) -> str:
    if isinstance(value, dict):
        return f"a dict with keys {sorted(map(repr, value))}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)}"
    dtype = getattr(value, "dtype", None)
    return f"{type(value).__name__} of shape {np.shape(value)}" + \
        (f" and dtype {dtype}" if dtype is not None else "")


def flat(tree, like) -> np.ndarray:
    parts = gather(tree, like)
    return np.concatenate(parts) if parts else np.zeros(0)


def rebuild(like, vec: np.ndarray):
    """`like` with its float (and complex) leaves replaced, in order, by the entries of
    `vec` (gather's order)."""
    position = 0

    def build(node):
        nonlocal position
        if isinstance(node, dict):
            return {key: build(value) for key, value in node.items()}
        if isinstance(node, (list, tuple)):
            return type(node)(build(item) for item in node)
        if kind(node) == "complex":  # its real parts, then its imaginary parts (gather's)
            size = int(np.size(node))
            chunk = vec[position:position + size] + 1j * vec[position + size:
                                                           position + 2 * size]
            position += 2 * size
            if isinstance(node, np.ndarray):
                return np.array(chunk, dtype=np.complex128).reshape(np.shape(node))
            return complex(chunk[0])
        if kind(node) != "float":
            return node
        size = int(np.size(node))
        chunk = vec[position:position + size]
        position += size
        if isinstance(node, np.ndarray):
            return np.array(chunk, dtype=np.float64).reshape(np.shape(node))
        return float(chunk[0])
    return build(like)


def random_like(like, rng):
    """A pytree shaped like `like`: normal draws for float leaves, complex ones for complex
    leaves, zeros elsewhere."""
    if isinstance(like, dict):
        return {key: random_like(value, rng) for key, value in like.items()}
    if isinstance(like, (list, tuple)):
        return type(like)(random_like(item, rng) for item in like)
    if kind(like) == "complex":  # the cotangent of a complex output, the tangent of a
        # complex argument: complex
        draw = rng.normal(size=np.shape(like)) + 1j * rng.normal(size=np.shape(like))
        return draw if isinstance(like, np.ndarray) else complex(draw)
    draw = rng.normal(size=np.shape(like)) if kind(like) == "float" else \
        np.zeros(np.shape(like))
    return draw if isinstance(like, np.ndarray) else float(draw)


def conjugate(tree):
    """The pytree conjugated: the convention's <seed, out> = Re(sum(seed * out))."""
    if isinstance(tree, dict):
        return {key: conjugate(value) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(conjugate(item) for item in tree)
    return np.conj(tree) if kind(tree) == "complex" else tree


def has_complex(tree) -> bool:
    return any(kind(leaf) == "complex" for _, leaf in leaves(tree))


def size(like) -> int:
    """The number of real coordinates of `like` (a complex leaf has two per element)."""
    return sum(int(np.size(leaf)) * (2 if kind(leaf) == "complex" else 1)
               for _, leaf in leaves(like) if kind(leaf) in ("float", "complex"))
