"""The option names the package accepts, in a module that imports nothing.

The command line builds its parsers from these lists before it imports torch (``coordbias
--help`` answers at once), and the modules that use them (the layers, the models, ``TrainConfig``)
read them from here, so each list is written once. Each is re-exported where its concept lives:
``COORDS`` and ``COORD_INITS`` by :mod:`coordbias.layers`, the others by :mod:`coordbias.models`.
"""

#: Accepted values of a layer's ``coords``.
COORDS = ("center", "output")

#: Accepted values of a layer's ``coord_init``.
COORD_INITS = ("uniform", "zeros")

#: Convolution kinds a model accepts, with what each one is.
CONV_KINDS: dict[str, str] = {
    "vanilla": "torch.nn.Conv2d",
    "coordbias": "coordbias.CoordBiasConv2d (adds 2 * out_channels coordinate weights)",
    "coordconv": "coordbias.CoordConv2d (2 coordinate input channels, 2 * out * k * k weights)",
    "param_matched": "ParamMatchedConv2d (2 * out_channels position-free extras, a control)",
    "fourier": "coordbias.FourierCoordBiasConv2d, K=2 (y, x and sin/cos of 2 frequencies per "
    "axis: 10 * out_channels coordinate weights)",
    "position_map": "coordbias.PositionMapConv2d (a learned per-channel row and column map: "
    "out_channels * (H + W) weights, interpolated at other sizes)",
    "coordgate": "coordbias.CoordGateConv2d (output times a per-channel gate of (y, x) from a "
    "2-16-C MLP: 48 + 17 * out_channels weights)",
    "fourier_coordconv": "coordbias.FourierCoordConv2d, K=2 (10 Fourier coordinate input "
    "channels, 10 * out * k * k weights)",
}

#: Where a model's ``conv`` applies: ``"encoder"`` (the original) or ``"all"`` (decoder and
#: classifier too).
CONV_SCOPES = ("encoder", "all")

#: Padding modes the models accept (the layers accept ``"replicate"`` too).
PADDING_MODES = ("zeros", "reflect", "circular")
