"""A small, fast PNG encoder for 8-bit grey or RGB arrays (numpy + zlib).

Faster than Pillow's encoder at its fastest level, for these images. Here every row uses the PNG
"Up" filter (the byte-wise difference to the row above, computed in numpy), which suits the smooth
noise backgrounds, then one ``zlib.compress`` call at level 1. Any PNG reader decodes the result;
the bytes depend on the array alone.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

__all__ = ["encode_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_UP = 2  # PNG filter type


def _chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(tag)) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def encode_png(array: np.ndarray, level: int = 1) -> bytes:
    """Encode an 8-bit image as PNG bytes.

    Args:
        array: uint8 ``(H, W)`` (grey, PNG colour type 0, Pillow mode "L") or ``(H, W, 3)`` (RGB).
        level: zlib compression level 0..9.

    Returns:
        The PNG file's bytes.

    Example:
        >>> import io
        >>> from PIL import Image
        >>> a = np.arange(12, dtype=np.uint8).reshape(3, 4)
        >>> image = Image.open(io.BytesIO(encode_png(a)))
        >>> image.mode, bool((np.asarray(image) == a).all())
        ('L', True)
    """
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8:
        raise TypeError(f"array must be a uint8 numpy array, got {getattr(array, 'dtype', array)}")
    if array.ndim == 2:
        color_type, channels = 0, 1
    elif array.ndim == 3 and array.shape[2] == 3:
        color_type, channels = 2, 3
    else:
        raise ValueError(f"array must have shape (H, W) or (H, W, 3), got {array.shape}")
    height, width = array.shape[:2]
    if height == 0 or width == 0:
        raise ValueError(f"array must not be empty, got shape {array.shape}")
    rows = np.ascontiguousarray(array).reshape(height, width * channels)
    raw = np.empty((height, width * channels + 1), dtype=np.uint8)
    raw[:, 0] = _UP
    raw[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=raw[1:, 1:])  # wraps modulo 256, as PNG wants
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"".join(
        (
            _SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(raw.tobytes(), level)),
            _chunk(b"IEND", b""),
        )
    )
