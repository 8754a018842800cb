"""NumPy imported as `onp`, and a module global `np` that is not NumPy."""
import numpy as onp

np = 3.0  # a plain number that happens to be called np


def loss(x):
    """Scales by the global `np` (a float) and uses `onp` for NumPy."""
    return onp.sum(onp.exp(x * 0.5) * np + x * x)
