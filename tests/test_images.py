"""The bad-upload corpus: every hostile or odd file gets a clear ImageError or a correct input."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from advcore import images

MNIST, CIFAR = (28, 28, 1), (32, 32, 3)


def encode(image: Image.Image, fmt: str, **kw) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kw)
    return buffer.getvalue()


def noise_image(mode="RGB", size=(64, 48)) -> Image.Image:
    pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), np.uint8)
    return Image.fromarray(pixels).convert(mode)


def png_claiming(width: int, height: int) -> bytes:
    """A small valid PNG whose header claims width x height pixels (a decompression bomb's header)."""
    data = bytearray(encode(Image.new("L", (8, 8)), "PNG"))
    ihdr = bytearray(data[12:29])  # 'IHDR' + 13 bytes
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    return bytes(data)


BAD = {
    "zero bytes": (b"", "empty"),
    "not an image": (b"hello, this is text" * 10, "not an image"),
    "svg renamed png": (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>',
                        "not an image"),
    "html renamed png": (b"<!doctype html><html><body><script>alert(1)</script></body></html>", "not an image"),
    "truncated png": (encode(noise_image(size=(200, 200)), "PNG")[:20_000], "damaged"),
    "truncated jpeg": (encode(noise_image(size=(200, 200)), "JPEG")[:3_000], "damaged"),
    "decompression bomb": (png_claiming(20_000, 20_000), "limit"),
    "beyond the upload limit": (b"\x89PNG" + b"\0" * (images.MAX_UPLOAD_BYTES + 1), "limit"),
    "tiff (format not accepted)": (encode(noise_image(), "TIFF"), "not accepted"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_files_are_refused_with_a_clear_message(name):
    content, message = BAD[name]
    with pytest.raises(images.ImageError, match=message):
        images.from_bytes(content, MNIST)


GOOD = {
    "16-bit grey png": encode(Image.fromarray((np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)), "PNG"),
    "cmyk jpeg": encode(noise_image("CMYK"), "JPEG"),
    "palette png": encode(noise_image("P"), "PNG"),
    "rgba png": encode(noise_image("RGBA"), "PNG"),
    "grey+alpha png": encode(noise_image("LA"), "PNG"),
    "animated gif": encode(noise_image("P"), "GIF", save_all=True, append_images=[noise_image("P")], duration=100),
    "webp": encode(noise_image(), "WEBP"),
    "tiny 1x1": encode(Image.new("RGB", (1, 1), (255, 0, 0)), "PNG"),
}


@pytest.mark.parametrize("name", list(GOOD))
@pytest.mark.parametrize("shape", [MNIST, CIFAR])
def test_odd_but_valid_images_become_inputs(name, shape):
    x = images.from_bytes(GOOD[name], shape)
    assert x.shape == (1, *shape) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 1


def test_exif_rotation_is_applied():
    tall = Image.new("L", (20, 60), 0)
    tall.paste(255, (0, 0, 20, 10))  # a white band at the top
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    content = encode(tall, "JPEG", exif=exif.tobytes(), quality=95)
    x = images.from_bytes(content, MNIST)[0, ..., 0]
    assert x[:, -5:].mean() > 0.5 and x[:, :5].mean() < 0.2  # the band is now on the right


def test_light_background_is_inverted_for_mnist():
    content = encode(Image.new("L", (28, 28), 255), "PNG")
    assert images.from_bytes(content, MNIST, invert_light_background=True).max() < 0.01


def test_drawing_must_have_the_right_size():
    with pytest.raises(images.ImageError, match="784"):
        images.from_drawing([0] * 10, MNIST)
    with pytest.raises(images.ImageError):
        images.from_drawing(["x"] * 784, MNIST)


def test_png_round_trip():
    x = np.random.default_rng(1).random((28, 28, 1)).astype(np.float32)
    back = images.from_bytes(images.to_png(x), MNIST)[0]
    np.testing.assert_allclose(back, np.round(x * 255) / 255, atol=1 / 255)
