"""A small U-Net of residual units with instance norm and transposed convolutions.

The kind of network people segment medical and natural images with (MONAI's ``UNet`` and
nnU-Net's are of this family), here to measure what a coordinate term costs in such a network, not
only in the study's FCN: it has what the FCN lacks (residual units with a 1 x 1 projection on the
shortcut, instance norm, strided convolutions for downsampling, skip connections by
concatenation)::

    enc0: unit(C_in -> w)            H       (stride 1)
    enc1: unit(w   -> 2w)            H / 2   (stride 2)
    enc2: unit(2w  -> 4w)            H / 4   (stride 2)
    mid:  unit(4w  -> 8w)            H / 8   (stride 2)
    up2:  tconv(8w -> 4w), cat enc2, unit(8w -> 4w)
    up1:  tconv(4w -> 2w), cat enc1, unit(4w -> 2w)
    up0:  tconv(2w -> w),  cat enc0, unit(2w -> w)
    head: 1 x 1 conv w -> num_classes              ->  logits (B, num_classes, H, W)

A unit is ``conv3x3(stride) -> norm -> act -> conv3x3 -> norm``, plus the shortcut (identity; a
3 x 3 convolution with the stride where the unit downsamples; a 1 x 1 convolution where only the
channels change), then ``act``; a ``tconv`` is a
transposed 3 x 3 convolution with stride 2 (padding 1, output padding 1) followed by norm and
act. The norm is ``nn.InstanceNorm2d(affine=True)``, the activation ``nn.LeakyReLU(0.01)``.
``conv`` picks the kind of every convolution, transposed ones included (so the kinds that have
a transposed form: ``vanilla``, ``coordbias``, ``coordconv``, ``param_matched``); the usual way
to give it position is to build it vanilla and :func:`coordbias.convert` it.
"""

from __future__ import annotations

import torch
from torch import nn

from coordbias.models.convs import COORD_INITS, COORDS, check_choice, make_conv

__all__ = ["UNET_CONV_KINDS", "ResidualUnit", "UNet"]

#: The kinds :class:`UNet` accepts: those with a transposed form.
UNET_CONV_KINDS = ("vanilla", "coordbias", "coordconv", "param_matched")


class ResidualUnit(nn.Module):
    """``act(norm(conv(act(norm(conv(x))))) + shortcut(x))``, the convolutions 3 x 3 (the
    shortcut: see the module docstring).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: the first convolution's stride (and the shortcut's).
        conv: convolution kind (see :class:`UNet`).
        coords: coordinate convention of the coordinate-bias kinds.
        coord_init: initialisation of their coordinate weights.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        *,
        conv: str = "vanilla",
        coords: str = "center",
        coord_init: str = "uniform",
    ) -> None:
        super().__init__()
        kw = {"coords": coords, "coord_init": coord_init}
        self.conv1 = make_conv(conv, in_channels, out_channels, 3, stride=stride, padding=1, **kw)
        self.norm1 = nn.InstanceNorm2d(out_channels, affine=True)
        self.conv2 = make_conv(conv, out_channels, out_channels, 3, padding=1, **kw)
        self.norm2 = nn.InstanceNorm2d(out_channels, affine=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1:
            # 3 x 3 as MONAI's strided residual units (a 1 x 1 strided convolution reads a
            # quarter of its input; and oneDNN's channels_last weight gradient of one with few
            # input channels corrupts the heap, uxlfoundation/oneDNN#6035)
            self.shortcut = make_conv(
                conv, in_channels, out_channels, 3, stride=stride, padding=1, **kw
            )
        elif in_channels != out_channels:
            self.shortcut = make_conv(conv, in_channels, out_channels, 1, **kw)
        self.act = nn.LeakyReLU(0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.norm1(self.conv1(x)))
        y = self.norm2(self.conv2(y))
        return self.act(y + self.shortcut(x))


class _Up(nn.Module):
    """Transposed convolution (x2), norm, act; concatenation with the skip; a residual unit."""

    def __init__(self, in_channels: int, out_channels: int, conv: str, kw: dict) -> None:
        super().__init__()
        self.up = make_conv(
            conv,
            in_channels,
            out_channels,
            3,
            transposed=True,
            stride=2,
            padding=1,
            output_padding=1,
            **kw,
        )
        self.norm = nn.InstanceNorm2d(out_channels, affine=True)
        self.act = nn.LeakyReLU(0.01)
        self.unit = ResidualUnit(2 * out_channels, out_channels, conv=conv, **kw)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.unit(torch.cat([self.act(self.norm(self.up(x))), skip], dim=1))


class UNet(nn.Module):
    """A three-level U-Net of residual units (see the module docstring for the layout).

    Args:
        in_channels: image channels.
        num_classes: output channels (logits).
        width: channels of the first level ``w``; the levels have ``w, 2w, 4w, 8w``.
        conv: one of :data:`UNET_CONV_KINDS`, for every convolution.
        coords: coordinate convention of the coordinate-bias layers.
        coord_init: initialisation of their coordinate weights.

    Shape:
        - Input: ``(B, in_channels, H, W)``, H and W divisible by 8.
        - Output: ``(B, num_classes, H, W)``.

    Example:
        >>> model = UNet(width=4, num_classes=3)
        >>> model(torch.zeros(2, 3, 16, 24)).shape
        torch.Size([2, 3, 16, 24])
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 4,
        width: int = 16,
        conv: str = "vanilla",
        coords: str = "center",
        coord_init: str = "uniform",
    ) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("num_classes", num_classes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be a positive int, got {width!r}")
        check_choice("conv", conv, UNET_CONV_KINDS)
        check_choice("coords", coords, COORDS)
        check_choice("coord_init", coord_init, COORD_INITS)
        kw = {"coords": coords, "coord_init": coord_init}
        w = width
        self.enc0 = ResidualUnit(in_channels, w, 1, conv=conv, **kw)
        self.enc1 = ResidualUnit(w, 2 * w, 2, conv=conv, **kw)
        self.enc2 = ResidualUnit(2 * w, 4 * w, 2, conv=conv, **kw)
        self.mid = ResidualUnit(4 * w, 8 * w, 2, conv=conv, **kw)
        self.up2 = _Up(8 * w, 4 * w, conv, kw)
        self.up1 = _Up(4 * w, 2 * w, conv, kw)
        self.up0 = _Up(2 * w, w, conv, kw)
        self.head = make_conv(conv, w, num_classes, 1, **kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel logits ``(B, num_classes, H, W)`` of images ``(B, in_channels, H, W)``."""
        if x.dim() != 4 or x.shape[-1] % 8 or x.shape[-2] % 8:
            raise ValueError(
                f"input must be (B, C, H, W) with H and W divisible by 8, got {tuple(x.shape)}"
            )
        e0 = self.enc0(x)
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        y = self.mid(e2)
        y = self.up2(y, e2)
        y = self.up1(y, e1)
        y = self.up0(y, e0)
        return self.head(y)
