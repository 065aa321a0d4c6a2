"""Face images as one-frame videos for the pre-processing step (paper Sec. 3.1).

A dataset may list still images (:mod:`jdfd_lib.datasets.folder`): each is read with OpenCV
as a video of one frame (frame 0) and goes through the same Dlib detection and alignment as
video frames, unless its record says it is already an aligned face crop; such a crop is only
resized to the extraction size (area interpolation; a non-square image is stretched).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from jdfd_lib.datasets.folder import IMAGE_SUFFIXES
from jdfd_lib.faces.video import VideoReadError

# Read with Pillow, not OpenCV: OpenCV's TIFF reader multiplies colours by alpha (an RGBA
# TIFF comes out darkened), and Pillow's conversions are explicit. The first frame of a
# multi-frame GIF or TIFF is the image. Other suffixes: OpenCV, as always.
PILLOW_SUFFIXES = (".tif", ".tiff", ".gif")


def _pillow_rgb(image: Image.Image) -> np.ndarray:
    """RGB uint8 (H, W, 3) of an opened image's first frame: palette, grey and CMYK
    converted, alpha dropped (as OpenCV does for a PNG), 16-bit grey scaled to 8 bits."""
    image.seek(0)
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):  # 16/32-bit grey
        values = np.asarray(image, dtype=np.float64)
        scale = 257.0 if image.mode.startswith("I;16") or values.max() <= 65535 else 16843009.0
        grey = np.clip(values if image.mode == "F" else values / scale, 0, 255)
        return np.repeat(np.floor(grey).astype(np.uint8)[..., None], 3, axis=2)
    return np.asarray(image.convert("RGB"))


def is_image(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a still image (by suffix, any case)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_image(path: str | os.PathLike) -> np.ndarray:
    """The RGB uint8 (H, W, 3) pixels of an image file (grey and alpha images converted; a
    GIF or TIFF: its first frame, read with Pillow, :data:`PILLOW_SUFFIXES`).

    Raises:
        VideoReadError: the file is missing, empty, truncated or does not decode as an image
            (so that prepare lists it among the failures, as an unreadable video).
    """
    path = Path(path)
    if not path.is_file():
        raise VideoReadError(f"{path}: image file not found")
    if path.stat().st_size == 0:
        raise VideoReadError(f"{path}: zero-byte file; expected an image")
    data = path.read_bytes()
    unreadable = f"{path}: cannot be decoded as an image (corrupt or unsupported)"
    try:  # OpenCV decodes a truncated file into a part-grey image with only a stderr note
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if path.suffix.lower() in PILLOW_SUFFIXES:
                return _pillow_rgb(image)
    except UnidentifiedImageError:
        raise VideoReadError(unreadable) from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise VideoReadError(f"{path}: truncated or corrupt image ({err})") from None
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise VideoReadError(unreadable)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


JPEG_SUFFIXES = (".jpg", ".jpeg")
JPEG_END = b"\xff\xd9"  # a JPEG's end-of-image marker: the last two bytes prepare writes


def decode_crop(path: str | os.PathLike, flags: int = cv2.IMREAD_COLOR) -> np.ndarray | None:
    """A prepared crop's pixels as OpenCV decodes them (BGR with the default ``flags``), or
    None when the file does not decode whole.

    OpenCV refuses a truncated PNG or WebP, but decodes a truncated JPEG into a part-grey
    image with only a note on stderr: a JPEG crop must end with its end-of-image marker.

    Raises:
        OSError: the file cannot be read.
    """
    path = Path(path)
    data = path.read_bytes()
    if path.suffix.lower() in JPEG_SUFFIXES and not data.endswith(JPEG_END):
        return None
    return cv2.imdecode(np.frombuffer(data, np.uint8), flags)


def resize_crop(image: np.ndarray, size: int) -> np.ndarray:
    """An already aligned face crop at ``size`` x ``size`` (``cv2.INTER_AREA``)."""
    if image.shape[:2] == (size, size):
        return image
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
