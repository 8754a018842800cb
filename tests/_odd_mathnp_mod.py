"""`import math as np`: the name np is the math module here."""
import math as np

import numpy


def loss(x):
    """A scalar function written with math functions under the name np."""
    return np.sin(x) * np.exp(x * 0.5) + numpy.tanh(x)
