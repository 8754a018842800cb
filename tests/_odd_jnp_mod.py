"""Odd-name modules for tests/test_odd_code.py: NumPy imported as `jnp` (JAX habit)."""
import numpy as jnp


def loss(x):
    """A smooth scalar loss written against `jnp`."""
    h = jnp.tanh(x * 1.5)
    return jnp.sum(h * h + jnp.sin(x))
