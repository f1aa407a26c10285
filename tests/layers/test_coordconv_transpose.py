"""CoordConvTranspose1d/2d/3d: what only the transposed layer has.

What it shares with CoordConv (equal to the torch transposed convolution over the concatenated
input, precision, autocast, gradients, errors, signature) is tested once for both families in
test_coordconv.py.
"""

from __future__ import annotations

import pytest
import torch

from coordbias import CoordConvTranspose2d
from tests.layers._coordconv_families import TOL, TRANSPOSE


def test_output_size_picks_the_output_padding_as_torch():
    torch.manual_seed(0)
    layer = CoordConvTranspose2d(4, 3, 3, stride=2, padding=1, dtype=torch.float64)
    x = torch.randn(2, 4, 5, 6, dtype=torch.float64)
    out = layer(x, output_size=[10, 12])
    assert out.shape == (2, 3, 10, 12)
    expected = TRANSPOSE.explicit(layer, x, False, [10, 12])
    torch.testing.assert_close(out, expected, **TOL[torch.float64])


@pytest.mark.parametrize("d", [1, 2, 3])
def test_positional_arguments_land_where_torchs_do(d):
    # output_padding before groups, dilation late, as in torch.nn.ConvTranspose{d}d.
    layer = TRANSPOSE.layers[d](4, 6, 3, 2, 1, 1, 2, False, 1)
    assert layer.output_padding == (1,) * d and layer.groups == 2 and layer.bias is None
