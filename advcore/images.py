"""Turning uploaded files and drawings into model inputs, safely.

Uploads are checked before decoding: a size limit in bytes, a pixel limit read
from the header (decompression bombs), and only PNG, JPEG, GIF, BMP and WebP as
Pillow detects them from the content, not the file name (an SVG or HTML file
renamed ``.png`` is refused). EXIF rotation is applied; 16-bit, palette, CMYK
and alpha images are converted; an animated GIF gives its first frame. The
result is float32 (1, H, W, C) in [0, 1] at the data set's size.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import AdvcoreError
from .i18n import _

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 4096 * 4096
ALLOWED_FORMATS = {"PNG", "JPEG", "GIF", "BMP", "WEBP", "MPO"}


class ImageError(AdvcoreError):
    """An upload or drawing that cannot be turned into a model input."""


def from_bytes(content: bytes, shape: tuple[int, int, int], invert_light_background: bool = False) -> np.ndarray:
    """Decode, validate and resize an uploaded image to ``shape`` (H, W, C); see module doc."""
    if not content:
        raise ImageError(_("the file is empty"))
    if len(content) > MAX_UPLOAD_BYTES:
        raise ImageError(_("the file is {size:.1f} MB; the limit is {limit:.0f} MB", size=len(content) / 2**20,
                             limit=MAX_UPLOAD_BYTES / 2**20))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content))
            if image.format not in ALLOWED_FORMATS:
                raise ImageError(_("{format} files are not accepted; upload a PNG or JPEG", format=image.format))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageError(_("the image is {width}x{height} pixels; the limit is {limit:,} pixels", width=width,
                                     height=height, limit=MAX_PIXELS))
            image.seek(0)  # first frame of an animation
            image = ImageOps.exif_transpose(image)
            image.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(_("the image has too many pixels; the limit is {limit:,} pixels", limit=MAX_PIXELS)) from None
    except UnidentifiedImageError:
        raise ImageError(_("this is not an image we can read (PNG or JPEG expected)")) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageError(_("the image is damaged or truncated ({error})", error=exc.__class__.__name__)) from None
    return to_input(image, shape, invert_light_background)


def to_input(image: Image.Image, shape: tuple[int, int, int], invert_light_background: bool = False) -> np.ndarray:
    """Convert any Pillow image to float32 (1, H, W, C) in [0, 1]: flatten alpha on black,
    reduce to grey or RGB, resize with antialiasing. MNIST-style data sets have a black
    background, so a light-background photo is inverted when asked."""
    height, width, channels = shape
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if array.max(initial=0) > 255 else 255.0
        image = Image.fromarray(np.clip(array / peak * 255, 0, 255).astype(np.uint8))
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA"):
        background = Image.new("RGBA", image.size, (0, 0, 0, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    image = image.convert("L" if channels == 1 else "RGB")
    image = image.resize((width, height), Image.Resampling.LANCZOS)
    array = np.asarray(image, dtype=np.float32) / 255.0
    if channels == 1:
        array = array[..., None]
        if invert_light_background and array.mean() > 0.5:
            array = 1.0 - array
    return array[None].astype(np.float32)


def from_drawing(pixels, shape: tuple[int, int, int]) -> np.ndarray:
    """A drawing from the canvas: H*W grey values 0..255 (white strokes on black),
    re-centred the way MNIST digits were (LeCun et al. 1998: the strokes scaled into a
    20x20 box and their centre of mass put at the centre of the 28x28 image)."""
    height, width, channels = shape
    try:
        array = np.asarray(pixels, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ImageError(_("the drawing could not be read")) from None
    if array.size != height * width or not np.all(np.isfinite(array)):
        raise ImageError(_("the drawing must have {count} grey values", count=height * width))
    array = center_strokes(np.clip(array, 0, 255).reshape(height, width) / 255.0)
    array = array[..., None]
    if channels != 1:
        array = np.repeat(array, channels, axis=-1)
    return array[None].astype(np.float32)


def center_strokes(image: np.ndarray, box: float = 20 / 28) -> np.ndarray:
    """Scale the strokes of a grey image into a centred box and centre their mass."""
    ys, xs = np.nonzero(image > 0.05)
    if len(ys) == 0:
        return image
    crop = image[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    size = image.shape[0]
    scale = box * size / max(crop.shape)
    new_h, new_w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    resized = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize((new_w, new_h),
                                                                              Image.Resampling.LANCZOS)) / 255.0
    out = np.zeros_like(image)
    total = resized.sum()
    cy = (resized.sum(axis=1) * np.arange(new_h)).sum() / total
    cx = (resized.sum(axis=0) * np.arange(new_w)).sum() / total
    top = int(np.clip(round(size / 2 - cy), 0, size - new_h))
    left = int(np.clip(round(size / 2 - cx), 0, image.shape[1] - new_w))
    out[top:top + new_h, left:left + new_w] = resized
    return out


def to_png(image: np.ndarray) -> bytes:
    """float (H, W, C) in [0, 1] -> PNG bytes (grey for one channel)."""
    pixels = np.clip(np.round(np.asarray(image) * 255), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(buffer, format="PNG")
    return buffer.getvalue()
