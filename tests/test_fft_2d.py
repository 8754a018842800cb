"""np.fft.rfft2 / irfft2 (the 2-D real transforms, rfftn/irfftn over the last two axes),
as an image-smoothing loss would use them; checked against float64 central differences in
both modes and at order 2."""
import numpy as np
import pytest

import tangent_src

RS = np.random.RandomState(7)


def spectral_energy(image, s=None):
    """High-frequency energy of an image, the kind of penalty a deblurring fit adds."""
    spectrum = np.fft.rfft2(image, s=s)
    weights = np.arange(spectrum.shape[-1]) / spectrum.shape[-1]
    return np.sum(weights * np.abs(spectrum) ** 2)


def round_trip(image, kernel):
    """Convolution through the frequency domain, back to a real image."""
    blurred = np.fft.irfft2(np.fft.rfft2(image) * np.fft.rfft2(kernel), s=image.shape)
    return np.sum(np.sin(blurred))


@pytest.mark.parametrize("shape, s", [((4, 6), None), ((5, 4), None), ((4, 6), (6, 8)),
                                      ((2, 3, 4), None)])
def test_rfft2_energy(shape, s):
    image = RS.randn(*shape)
    tangent_src.check_grads(spectral_energy, (image, s), order=2, argnums=0)


@pytest.mark.parametrize("shape", [(4, 6), (5, 5)])
def test_irfft2_round_trip(shape):
    image, kernel = RS.randn(*shape), RS.randn(*shape) * 0.3
    tangent_src.check_grads(round_trip, (image, kernel), order=2)
