"""NumPy imported under its own name only."""
import numpy


def loss(x):
    """Uses `numpy.` everywhere; the module has no `np`."""
    return numpy.sum(numpy.cos(x) * x + numpy.zeros_like(x))
