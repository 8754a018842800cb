"""A user function `square_fwd` (and `square_bwd`) beside a differentiated `square`."""
import numpy as np


def square(x):
    return x * x


def square_fwd(x):
    """Not the forward pass of anything: a user function with a tempting name."""
    return 100.0 * x


def square_bwd(x):
    return -7.0 * x


def loss(x):
    return np.sum(square(np.sin(x)) + square_fwd(x) * square_bwd(x) * 0.01)
