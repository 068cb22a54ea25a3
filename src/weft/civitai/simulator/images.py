"""Placeholder pictures that show the request came through: a deterministic abstract background
(the same prompt, seed and index give the same pixels) with the words "weft simulator placeholder",
the prompt, the seed, the model and the LoRAs drawn on it, at the requested size."""

from __future__ import annotations

import hashlib
import io
import random
import textwrap
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Pillow is imported on the first picture (start-up of `weft civitai generate`)
    from PIL import Image, ImageFont

FORMATS = {
    "png": ("PNG", "image/png"),
    "jpeg": ("JPEG", "image/jpeg"),
    "webP": ("WEBP", "image/webp"),
}
TITLE = "weft simulator placeholder"


@dataclass(frozen=True, slots=True)
class Placeholder:
    """What one output image shows."""

    prompt: str
    seed: int
    index: int
    width: int
    height: int
    fmt: str = "png"
    model: str = ""  # the checkpoint's name and AIR, or the variant ("flux2 klein 4b")
    loras: tuple[str, ...] = ()  # "name:strength"

    def lines(self, chars: int) -> list[str]:
        """The text drawn on the picture, wrapped to ``chars`` characters per line."""
        wrap = textwrap.TextWrapper(width=max(8, chars), max_lines=4, placeholder="…")
        out = [TITLE, *wrap.wrap(f"prompt: {self.prompt}" if self.prompt else "prompt: (empty)")]
        out.append(f"seed {self.seed}  image {self.index + 1}")
        if self.model:
            out += wrap.wrap(f"model: {self.model}")
        if self.loras:
            out += wrap.wrap("loras: " + ", ".join(self.loras))
        return out


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's default font: its bitmap form below 12 px (twenty times faster to draw, which
    matters for the thousands of small pictures a batch benchmark asks for), else FreeType."""
    from PIL import ImageFont

    if size < 12:
        return ImageFont.load_default_imagefont()
    return ImageFont.load_default(size=size)


def _background(picture: Placeholder) -> tuple[Image.Image, random.Random]:
    from PIL import Image

    key = f"{picture.prompt}\x00{picture.seed}\x00{picture.index}"
    rng = random.Random(hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest())
    top = tuple(rng.randrange(256) for _ in range(3))
    bottom = tuple(rng.randrange(256) for _ in range(3))
    # a vertical gradient: one column, stretched
    pixels = bytearray()
    for y in range(256):
        t = y / 255
        pixels += bytes(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
    column = Image.frombytes("RGB", (1, 256), bytes(pixels))
    return column.resize((picture.width, picture.height)), rng


def render(picture: Placeholder, *, text: bool = True) -> bytes:
    """Encode the placeholder (``text=False``: the background alone)."""
    from PIL import ImageDraw

    width, height = picture.width, picture.height
    image, rng = _background(picture)
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        r = max(4, min(width, height) // rng.randint(4, 12))
        color = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x0 - r, y0 - r, x0 + r, y0 + r), fill=color)
        else:
            draw.rectangle((x0 - r, y0 - r // 2, x0 + r, y0 + r // 2), fill=color)
    if text:
        size = max(8, min(28, width // 36))
        margin = max(2, size // 2)
        line_height = (11 if size < 12 else size) + 2
        char_width = 6 if size < 12 else size * 0.6
        lines = picture.lines(int((width - 2 * margin) / char_width))
        lines = lines[: max(1, (height - 2 * margin) // line_height)]
        panel_height = min(height, 2 * margin + len(lines) * line_height)
        draw.rectangle((0, 0, width, panel_height), fill=(16, 16, 24))
        draw.multiline_text(
            (margin, margin), "\n".join(lines), font=_font(size), fill=(250, 250, 250), spacing=2
        )
    pil_format, _ = FORMATS.get(picture.fmt, FORMATS["png"])
    out = io.BytesIO()
    image.save(out, format=pil_format)
    return out.getvalue()


def content_type(fmt: str) -> str:
    return FORMATS.get(fmt, FORMATS["png"])[1]
