"""Bad arguments raise ValueError naming the argument and the value received."""

import numpy as np
import pytest

import layers
from layers import ops


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: layers.Conv2D(0, 3), r"`filters`.*Received: filters=0"),
        (lambda: layers.Conv2D(-4, 3), r"`filters`.*Received: filters=-4"),
        (lambda: layers.Conv2D(4, 0), r"`kernel_size`.*Received: kernel_size=0"),
        (lambda: layers.Conv1D(4, (3, 3)), r"`kernel_size`.*Received: kernel_size=\(3, 3\)"),
        (lambda: layers.Conv2D(4, 3, strides=-1), r"`strides`.*Received: strides=-1"),
        (lambda: layers.Conv2D(4, 3, padding="circular"), r"`padding`.*Received: padding='circular'"),
        (lambda: layers.Conv2D(4, 3, padding=-1), r"`padding`.*Received: padding=-1"),
        (lambda: layers.Conv2D(4, 3, strides=2, dilation_rate=2), r"strides > 1.*dilation_rate > 1.*Received"),
        (lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=2), r"output_padding.*smaller than the stride"),
        (lambda: layers.MaxPooling2D(0), r"`pool_size`.*Received: pool_size=0"),
        (lambda: layers.MaxPooling2D(2, padding="full"), r"`padding`.*Received: padding='full'"),
        (lambda: layers.LpPooling2D(2, p=0.5), r"`p`.*Received: p=0.5"),
        (lambda: layers.UpSampling2D(2, "bilinear"), r"`interpolation`.*Received: interpolation='bilinear'"),
        (lambda: layers.Maxout(0), r"`num_units`.*Received: num_units=0"),
        (lambda: layers.Conv2D(4, 3, data_format="channels_first"), r"`data_format`.*channels_first"),
    ],
)
def test_bad_constructor_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "layer,shape,match",
    [
        (layers.Conv2D(4, 5), (1, 4, 4, 1), r"larger than the padded input.*\(4, 4\)"),
        (layers.Conv2D(4, 3, dilation_rate=3), (1, 6, 6, 1), r"larger than the padded input"),
        (layers.MaxPooling2D(3), (1, 2, 2, 1), r"pool window.*larger"),
        (layers.Conv2D(4, 3), (1, 8, 8), r"ndim=4|rank 4"),
        (layers.Conv3D(4, 3), (1, 8, 8, 1), r"ndim=5|rank 5"),
        (layers.Maxout(3), (1, 4), r"multiple of `num_units`"),
    ],
)
def test_bad_inputs(layer, shape, match):
    with pytest.raises(ValueError, match=match):
        layer(np.zeros(shape, np.float32))


def test_ops_check_rank_and_geometry():
    with pytest.raises(ValueError, match=r"Expected `x` of rank 4.*Received: x.shape=\(4, 4, 1\)"):
        ops.conv(np.zeros((4, 4, 1), np.float32), np.zeros((3, 3, 1, 1), np.float32))
    with pytest.raises(ValueError, match="does not convolve back"):
        ops.conv_transpose(np.zeros((1, 4, 4, 1), np.float32), np.zeros((2, 2, 1, 1), np.float32), 1, "same", 0)
