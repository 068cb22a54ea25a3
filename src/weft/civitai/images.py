"""Saving a generation's images: each download sent again on 5xx, gateway pages, resets and
timeouts; an expired URL replaced by a fresh one (the workflow read again); each PNG checked
(readable, the announced size), written under a temporary name and renamed, with its generation
parameters in the PNG text chunk the Stable Diffusion tools and Civitai's upload read
(``parameters``) and a JSON sidecar. Blocked or unavailable images are listed, not fatal.
"""

from __future__ import annotations

import io
import json
import os
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weft.civitai.errors import CivitaiError, Reason
from weft.effects import Clock, HttpRequest, Transport, TransportError
from weft.engine.options import RetryPolicy
from weft.engine.resend import TRANSIENT_STATUSES, send_with_retries

Refresh = Callable[[], Awaitable[list[Any]]]


@dataclass(frozen=True, slots=True)
class Blocked:
    """An image the workflow holds but did not deliver (blocked, or not available)."""

    index: int
    image_id: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "id": self.image_id, "reason": self.reason}


@dataclass
class SavedImages:
    files: list[Path] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ImageMetadata:
    """What each saved image carries: the A1111 ``parameters`` text and a sidecar object."""

    parameters: str
    sidecar: Mapping[str, Any]


def a1111_parameters(plan: Mapping[str, Any]) -> str:
    """The ``parameters`` PNG text chunk (AUTOMATIC1111's format, which Civitai's upload and
    the Stable Diffusion tools read) of a generation plan's ``to_dict()``."""
    lines = [str(plan.get("prompt") or "")]
    if plan.get("negativePrompt"):
        lines.append(f"Negative prompt: {plan['negativePrompt']}")
    resources = [r for r in plan.get("resources") or [] if isinstance(r, Mapping)]
    checkpoint = next((r for r in resources if r.get("role") == "checkpoint"), None)
    fields: list[tuple[str, Any]] = [
        ("Steps", plan.get("steps")),
        ("Sampler", _sampler_name(plan.get("sampler"))),
        ("CFG scale", plan.get("cfgScale")),
        ("Seed", plan.get("seed")),
        ("Size", f"{plan.get('width')}x{plan.get('height')}"),
    ]
    if checkpoint is not None:
        fields.append(("Model", checkpoint.get("modelName")))
    if plan.get("clipSkip") is not None:
        fields.append(("Clip skip", plan.get("clipSkip")))
    civitai = []
    for r in resources:
        item: dict[str, Any] = {
            "type": r.get("role"),
            "modelVersionId": r.get("modelVersionId"),
            "modelName": r.get("modelName"),
            "modelVersionName": r.get("modelVersionName"),
        }
        if r.get("strength") is not None:
            item["weight"] = r.get("strength")
        civitai.append(item)
    fields.append(("Civitai resources", json.dumps(civitai, separators=(",", ":"))))
    lines.append(", ".join(f"{k}: {v}" for k, v in fields if v is not None))
    return "\n".join(lines)


_SAMPLER_NAMES = {
    "euler": "Euler",
    "euler_a": "Euler a",
    "euler_ancestral": "Euler a",
    "heun": "Heun",
    "dpm2": "DPM2",
    "dpm_2": "DPM2",
    "dpm++2m": "DPM++ 2M",
    "dpmpp_2m": "DPM++ 2M",
    "dpm++2s_a": "DPM++ 2S a",
    "dpmpp_2s_ancestral": "DPM++ 2S a",
    "dpmpp_sde": "DPM++ SDE",
    "dpmpp_2m_sde": "DPM++ 2M SDE",
    "lcm": "LCM",
    "ddim": "DDIM",
}


def _sampler_name(name: Any) -> str | None:
    if not isinstance(name, str):
        return None
    return _SAMPLER_NAMES.get(name, name)


def image_path(out_dir: Path, index: int, image: Mapping[str, Any]) -> Path:
    image_id = str(image.get("id", index)).split(".")[0]
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in image_id)[:80]
    return out_dir / f"{index + 1:02d}-{safe or index}.png"


def check_png(data: bytes, index: int, image: Mapping[str, Any]) -> str | None:
    """Why ``data`` is not the announced PNG, or None."""
    from PIL import Image  # on first use: not before the first request (start-up)

    try:
        picture = Image.open(io.BytesIO(data))
        picture.verify()
    except Exception as exc:
        return f"image {index + 1} is not a readable image: {exc}"
    if picture.format != "PNG":
        return f"image {index + 1} is {picture.format}, not PNG"
    expected = (image.get("width"), image.get("height"))
    if None not in expected and picture.size != expected:
        return f"image {index + 1} is {picture.size[0]}x{picture.size[1]}, expected {expected}"
    return None


def _with_parameters(data: bytes, parameters: str) -> bytes:
    """The PNG re-encoded with a ``parameters`` tEXt chunk (pixels unchanged)."""
    from PIL import Image, PngImagePlugin

    picture = Image.open(io.BytesIO(data))
    info = PngImagePlugin.PngInfo()
    for key, value in picture.info.items():
        if isinstance(key, str) and isinstance(value, str) and key != "parameters":
            info.add_text(key, value)
    info.add_text("parameters", parameters)
    out = io.BytesIO()
    picture.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    os.replace(partial, path)


def _already_saved(path: Path, index: int, image: Mapping[str, Any]) -> bool:
    try:
        return check_png(path.read_bytes(), index, image) is None
    except OSError:
        return False


async def save_images(
    images: Sequence[Any],
    out_dir: Path,
    *,
    transport: Transport,
    clock: Clock,
    metadata: ImageMetadata | None = None,
    refresh: Refresh | None = None,
    policy: RetryPolicy | None = None,
) -> SavedImages:
    """Download every available image into ``out_dir`` (see the module docstring). A file
    already saved and valid is kept (a resumed run downloads only what is missing)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.part"):  # cut short by a crash: written again below
        stale.unlink(missing_ok=True)
    saved = SavedImages()
    fresh: list[Any] | None = None
    rng = random.Random()
    for index, image in enumerate(images):
        if not isinstance(image, Mapping):
            continue
        path = image_path(out_dir, index, image)
        if _already_saved(path, index, image):
            if metadata is not None and not path.with_suffix(".json").exists():
                _write_sidecar(path, metadata, image, index)  # a crash came in between
            saved.files.append(path)
            continue
        url = image.get("url")
        if not url or image.get("available") is False:
            reason = image.get("blockedReason") or "not available"
            saved.blocked.append(Blocked(index, _id(image), str(reason)))
            continue
        if fresh is not None:  # the URLs were refreshed once already: use the fresh ones
            url = _url(fresh, index) or url
        status, data = await _get(transport, str(url), clock, rng, policy)
        if status != 200 and refresh is not None and fresh is None:
            fresh = await refresh()
            new_url = _url(fresh, index)
            if new_url:
                status, data = await _get(transport, new_url, clock, rng, policy)
        if status != 200:
            raise CivitaiError(
                Reason.DOWNLOAD_FAILED,
                f"downloading image {index + 1} answered {status}",
                status_code=status,
                resumable=True,
                transient=status in TRANSIENT_STATUSES,
            )
        problem = check_png(data, index, image)
        if problem:
            raise CivitaiError(Reason.DOWNLOAD_FAILED, problem)
        if metadata is not None:
            data = _with_parameters(data, metadata.parameters)
        _write_atomically(path, data)
        if metadata is not None:
            _write_sidecar(path, metadata, image, index)
        saved.files.append(path)
    return saved


def _url(images: list[Any], index: int) -> str | None:
    image = images[index] if index < len(images) else None
    url = image.get("url") if isinstance(image, Mapping) else None
    return str(url) if url else None


def _write_sidecar(
    path: Path, metadata: ImageMetadata, image: Mapping[str, Any], index: int
) -> None:
    sidecar = {**metadata.sidecar, "imageId": _id(image), "index": index}
    _write_atomically(path.with_suffix(".json"), json.dumps(sidecar, indent=2).encode() + b"\n")


def _id(image: Mapping[str, Any]) -> str | None:
    value = image.get("id")
    return str(value) if value is not None else None


async def _get(
    transport: Transport,
    url: str,
    clock: Clock,
    rng: random.Random,
    policy: RetryPolicy | None,
) -> tuple[int, bytes]:
    try:
        response = await send_with_retries(
            transport,
            HttpRequest("GET", url),
            policy=policy or RetryPolicy(),
            clock=clock,
            rng=rng,
            statuses=TRANSIENT_STATUSES,
        )
    except TransportError as exc:
        raise CivitaiError(
            Reason.DOWNLOAD_FAILED,
            f"downloading an image gave no answer ({exc.detail})",
            resumable=True,
            transient=True,
        ) from None
    return response.status, response.body if response.status == 200 else b""


__all__ = [
    "Blocked",
    "ImageMetadata",
    "SavedImages",
    "a1111_parameters",
    "check_png",
    "image_path",
    "save_images",
]
