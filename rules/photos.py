"""Photos of patrol findings: JPEG or PNG only, size-limited, and re-encoded so nothing of
the camera's metadata (EXIF, GPS position, comments) is kept.

A bad upload is refused with its reason (`InvalidInput`): too large, not an image, or an
image of another type. Only the pixels are kept: the image is decoded and written anew.
"""

from __future__ import annotations

import io

from rules.acting import InvalidInput

MAGIC = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG"}
MIME = {"JPEG": "image/jpeg", "PNG": "image/png"}
# A decompression bomb is refused, not decoded (a tablet photo is ~12 megapixels).
MAX_PIXELS = 40_000_000


def clean_photo(data: bytes, max_bytes: int) -> tuple[str, bytes]:
    """(MIME type, the image re-encoded without metadata), or a refusal saying why."""
    # Pillow only when a photo comes (the rules extra has it; other commands do without).
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise InvalidInput("the photo is empty")
    if len(data) > max_bytes:
        raise InvalidInput(
            f"the photo is too large: {len(data) / 1e6:.1f} MB, at most {max_bytes / 1e6:.1f} MB"
        )
    kind = next((k for magic, k in MAGIC.items() if data.startswith(magic)), None)
    if kind is None:
        raise InvalidInput("the photo is not a JPEG or PNG image (wrong type)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != kind:
                raise InvalidInput(f"the photo says {kind} but is {image.format}")
            if image.width * image.height > MAX_PIXELS:
                raise InvalidInput(f"the photo has too many pixels ({image.width}x{image.height})")
            image.load()
            pixels = image.convert("RGB") if kind == "JPEG" else image.copy()
            pixels.info = {}  # what Pillow would otherwise carry over (ICC, text chunks)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InvalidInput(f"the photo is not a readable {kind} image: {error}") from None
    out = io.BytesIO()
    # Saved with no info and no exif=, icc_profile= or pnginfo=: the pixels only.
    pixels.save(out, format=kind, **({"quality": 85} if kind == "JPEG" else {}))
    return MIME[kind], out.getvalue()
