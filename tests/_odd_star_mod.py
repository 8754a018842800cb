"""`from numpy import *`: bare NumPy names, and no `np` in the module."""
from numpy import *  # noqa: F403


def loss(x):
    """sin, exp and sum are NumPy's, reached through the star import."""
    return sum(sin(x) * exp(x * 0.3))  # noqa: F405
