"""The PNG encoder: any reader (Pillow here) decodes exactly the array written."""

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from coordbias.data.png import encode_png


@settings(max_examples=25, deadline=None)
@given(
    arrays(
        np.uint8,
        st.tuples(st.integers(1, 19), st.integers(1, 19))
        | st.tuples(st.integers(1, 19), st.integers(1, 19), st.just(3)),
    ),
    st.integers(0, 9),
)
def test_pillow_decodes_what_was_encoded(array, level):
    with Image.open(io.BytesIO(encode_png(array, level))) as image:
        image.load()
        assert image.mode == ("L" if array.ndim == 2 else "RGB")
        assert np.array_equal(np.asarray(image), array)


def test_bad_arrays_are_refused():
    with pytest.raises(TypeError, match="uint8"):
        encode_png(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="shape"):
        encode_png(np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(ValueError, match="empty"):
        encode_png(np.zeros((0, 4), np.uint8))
