"""The original study's fully convolutional network ("VGG9" FCN) with a pluggable convolution.

Encoder (VGG style, 3 x 3 convolutions with padding 1, each followed by ReLU, or by BatchNorm then
ReLU when ``batch_norm=True``)::

    [w, w, pool, 2w, 2w, pool, 4w, 4w, pool]  ->  x1 (H/2, w), x2 (H/4, 2w), x3 (H/8, 4w)

Decoder (as the original: transposed convolutions k3, s2, p1, output_padding 1)::

    up3(x3: 4w -> 2w) + ReLU, + x2, BatchNorm
    up2(    2w ->  w) + ReLU, + x1, BatchNorm
    up1(     w -> w/2) + ReLU,      BatchNorm
    classifier: 1 x 1 conv w/2 -> num_classes                  ->  logits (B, num_classes, H, W)

``conv`` picks the encoder's convolution; ``conv_scope="all"`` also converts the decoder's
transposed convolutions and the classifier (for ``conv="coordconv"``: ``CoordConvTranspose2d``).
``padding_mode`` applies to the encoder's convolutions only: torch's transposed convolutions
support zero padding alone. Zero padding leaks absolute position
to a plain CNN near the borders (Islam et al. 2020; Kayhan and van Gemert 2020); circular padding
removes that leak from the encoder. The decoder keeps a small one: a transposed convolution with
``output_padding`` gives its last row and column one input tap fewer, so even with circular
padding the network is shift-equivariant (for shifts by multiples of 8) only away from the
bottom and right borders (tests/models/test_fcn.py measures both).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import torch
from torch import nn

from coordbias._names import CONV_SCOPES
from coordbias.models.convs import (
    CONV_KINDS,
    COORD_INITS,
    COORDS,
    PADDING_MODES,
    POSITION_KINDS,
    check_choice,
    make_conv,
)


def _check_int(argument: str, value: object, minimum: int, note: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{argument} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{argument}={value} is not supported; expected an int >= {minimum}{note}")


@dataclass(frozen=True)
class FCNConfig:
    """Settings of :class:`FCN`; :meth:`validate` raises a clear error for a bad field.

    Attributes:
        num_classes: number of output classes (logit channels).
        width: channels of the first stage ``w`` (original: 64); even, at least 2.
        conv: a kind of :data:`~coordbias.models.CONV_KINDS` (``"vanilla"``, ``"coordbias"``,
            ``"coordconv"``, ``"param_matched"``, and the position methods ``"fourier"``,
            ``"position_map"``, ``"coordgate"``, ``"fourier_coordconv"``).
        conv_scope: ``"encoder"`` (the original) or ``"all"`` (decoder and classifier too).
        batch_norm: BatchNorm between each encoder convolution and its ReLU. The convolutions
            keep their bias, which BatchNorm then cancels (zero gradient), so the study can
            compare it with the coordinate weights, which BatchNorm only centres.
        padding_mode: ``"zeros" | "reflect" | "circular"`` for the encoder's convolutions.
        coords: coordinate grid of the coordinate-bias layers (``"center"`` or ``"output"``).
        coord_init: initialisation of the coordinate weights (``"uniform"`` or ``"zeros"``).
        in_channels: input image channels.
        map_size: the image side the learned maps of ``conv="position_map"`` are sized for
            (the quick study's 64 by default): an encoder convolution of stage ``s`` has maps of
            ``map_size / 2**(s - 1)`` entries per axis, resized by linear interpolation at any
            other image size. A multiple of 8; ignored by the other kinds.
    """

    num_classes: int = 4
    width: int = 64
    conv: str = "vanilla"
    conv_scope: str = "encoder"
    batch_norm: bool = False
    padding_mode: str = "zeros"
    coords: str = "center"
    coord_init: str = "uniform"
    in_channels: int = 3
    map_size: int = 64

    def validate(self) -> None:
        """Raise ``ValueError`` / ``TypeError`` naming the first bad field."""
        _check_int("num_classes", self.num_classes, 1)
        _check_int("width", self.width, 2, " (the last decoder stage has width / 2 channels)")
        if self.width % 2:
            raise ValueError(
                f"width={self.width} is not supported; expected an even int (the last decoder "
                "stage has width / 2 channels)"
            )
        _check_int("in_channels", self.in_channels, 1)
        check_choice("conv", self.conv, CONV_KINDS)
        check_choice("conv_scope", self.conv_scope, CONV_SCOPES)
        if not isinstance(self.batch_norm, bool):
            raise TypeError(f"batch_norm must be a bool, got {self.batch_norm!r}")
        check_choice("padding_mode", self.padding_mode, PADDING_MODES)
        check_choice("coords", self.coords, COORDS)
        check_choice("coord_init", self.coord_init, COORD_INITS)
        if self.conv in POSITION_KINDS and self.conv_scope == "all":
            raise ValueError(
                f"conv={self.conv!r} with conv_scope='all' is not supported: it has no transposed "
                f"convolution; use conv_scope='encoder' with {self.conv}"
            )
        _check_int("map_size", self.map_size, 8)
        if self.map_size % 8:
            raise ValueError(
                f"map_size={self.map_size} is not supported; expected a multiple of 8 (the image "
                "side the position maps are sized for)"
            )


class FCN(nn.Module):
    """The original's VGG9 fully convolutional network for per-pixel classification.

    Args: the fields of :class:`FCNConfig`, as keywords.

    Shape:
        - Input: ``(B, in_channels, H, W)``, H and W divisible by 8.
        - Output: ``(B, num_classes, H, W)`` logits.

    Example:
        >>> model = FCN(width=4, num_classes=3)
        >>> model(torch.zeros(2, 3, 16, 24)).shape
        torch.Size([2, 3, 16, 24])
    """

    def __init__(self, **kwargs) -> None:
        super().__init__()
        config = FCNConfig(**kwargs)
        config.validate()
        self.config = config
        w = config.width

        def encoder_stage(c_in: int, c_out: int, stage: int) -> nn.Sequential:
            layers: list[nn.Module] = []
            side = config.map_size >> (stage - 1)  # the stage's output side at map_size
            for c in (c_in, c_out):
                layers.append(
                    make_conv(
                        config.conv,
                        c,
                        c_out,
                        3,
                        padding=1,
                        padding_mode=config.padding_mode,
                        coords=config.coords,
                        coord_init=config.coord_init,
                        map_size=side,
                    )
                )
                if config.batch_norm:
                    layers.append(nn.BatchNorm2d(c_out))
                layers.append(nn.ReLU(inplace=True))
            layers.append(nn.MaxPool2d(2))
            return nn.Sequential(*layers)

        self.stage1 = encoder_stage(config.in_channels, w, 1)
        self.stage2 = encoder_stage(w, 2 * w, 2)
        self.stage3 = encoder_stage(2 * w, 4 * w, 3)

        dec = config.conv if config.conv_scope == "all" else "vanilla"
        coord_kw = {"coords": config.coords, "coord_init": config.coord_init}
        up_kw = {"transposed": True, "stride": 2, "padding": 1, "output_padding": 1, **coord_kw}
        self.up3 = make_conv(dec, 4 * w, 2 * w, 3, **up_kw)
        self.bn3 = nn.BatchNorm2d(2 * w)
        self.up2 = make_conv(dec, 2 * w, w, 3, **up_kw)
        self.bn2 = nn.BatchNorm2d(w)
        self.up1 = make_conv(dec, w, w // 2, 3, **up_kw)
        self.bn1 = nn.BatchNorm2d(w // 2)
        self.classifier = make_conv(dec, w // 2, config.num_classes, 1, **coord_kw)
        self.relu = nn.ReLU(inplace=True)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise unless ``x`` is a float ``(B, C_in, H, W)`` tensor with H and W divisible by 8."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"input must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 4:
            raise ValueError(
                f"input must have shape (B, {self.config.in_channels}, H, W); "
                f"got rank {x.dim()} shape {tuple(x.shape)}"
            )
        if x.shape[1] != self.config.in_channels:
            raise ValueError(
                f"input has {x.shape[1]} channels (shape {tuple(x.shape)}); "
                f"this model expects in_channels={self.config.in_channels}"
            )
        h, w = x.shape[-2:]
        if h % 8 or w % 8 or h == 0 or w == 0:
            raise ValueError(
                f"input height and width must be positive multiples of 8 (three 2x poolings); "
                f"got H={h}, W={w}"
            )
        if not x.is_floating_point():
            raise TypeError(f"input must be a floating-point tensor, got dtype {x.dtype}")

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encoder features after each pool.

        Args:
            x: images ``(B, C_in, H, W)``.

        Returns:
            ``x1 (B, w, H/2, W/2)``, ``x2 (B, 2w, H/4, W/4)``, ``x3 (B, 4w, H/8, W/8)``.
        """
        self.check_input(x)
        x1 = self.stage1(x)
        x2 = self.stage2(x1)
        x3 = self.stage3(x2)
        return x1, x2, x3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel class logits.

        Args:
            x: images ``(B, C_in, H, W)``, H and W divisible by 8.

        Returns:
            Logits ``(B, num_classes, H, W)``.
        """
        x1, x2, x3 = self.encode(x)
        y = self.bn3(self.relu(self.up3(x3)) + x2)
        y = self.bn2(self.relu(self.up2(y)) + x1)
        y = self.bn1(self.relu(self.up1(y)))
        return self.classifier(y)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in asdict(self.config).items())


# FCN takes the fields of FCNConfig as keywords; its signature says so, for help(), and for
# create_model's check of the settings (which lists the accepted ones).
FCN.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in inspect.signature(FCNConfig).parameters.values()
    ]
)


def coordinate_layers(model: nn.Module) -> Iterator[tuple[str, torch.Tensor]]:
    """Yield ``(name, coord_weight)`` for every layer of ``model`` with coordinate weights.

    Covers the coordinate-bias layers (any module with a ``coord_weight`` parameter, shape
    ``(out_channels, spatial_dims)``), in module order; CoordConv layers hold their coordinate
    weights inside the convolution kernel and are not listed.

    Example:
        >>> list(coordinate_layers(FCN(width=2)))
        []
    """
    for name, module in model.named_modules():
        # Parameters only: CoordConv's deprecated coord_weight is a property (a kernel slice).
        weight = module._parameters.get("coord_weight")
        if isinstance(weight, nn.Parameter) and weight.dim() == 2:
            yield name, weight
