"""Deterministic pictures: the same prompt, seed and index always give the same pixels."""

from __future__ import annotations

import hashlib
import io
import random

from PIL import Image, ImageDraw

FORMATS = {
    "png": ("PNG", "image/png"),
    "jpeg": ("JPEG", "image/jpeg"),
    "webP": ("WEBP", "image/webp"),
}


def render(prompt: str, seed: int, index: int, width: int, height: int, fmt: str = "png") -> bytes:
    """Encode an abstract picture of the requested size, derived from prompt, seed and index."""
    digest = hashlib.sha256(f"{prompt}\x00{seed}\x00{index}".encode()).digest()
    rng = random.Random(digest)
    top = tuple(rng.randrange(256) for _ in range(3))
    bottom = tuple(rng.randrange(256) for _ in range(3))
    # a vertical gradient: one column, stretched
    pixels = bytearray()
    for y in range(256):
        t = y / 255
        pixels += bytes(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
    column = Image.frombytes("RGB", (1, 256), bytes(pixels))
    image = column.resize((width, height))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        r = max(4, min(width, height) // rng.randint(4, 12))
        color = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x0 - r, y0 - r, x0 + r, y0 + r), fill=color)
        else:
            draw.rectangle((x0 - r, y0 - r // 2, x0 + r, y0 + r // 2), fill=color)
    pil_format, _ = FORMATS.get(fmt, FORMATS["png"])
    out = io.BytesIO()
    image.save(out, format=pil_format)
    return out.getvalue()


def content_type(fmt: str) -> str:
    return FORMATS.get(fmt, FORMATS["png"])[1]
