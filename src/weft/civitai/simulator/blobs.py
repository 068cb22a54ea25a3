"""Blob storage with signed, expiring content URLs (HMAC-SHA256 over blob id and expiry)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from weft.civitai.simulator.images import Placeholder


@dataclass(frozen=True, slots=True)
class BlobSpec:
    """What to render when the blob is fetched (rendering is lazy and cached)."""

    blob_id: str
    workflow_id: str
    picture: Placeholder
    blocked: str | None = None  # the blockedReason of a blocked image

    @property
    def fmt(self) -> str:
        return self.picture.fmt


class Signer:
    def __init__(self, key: bytes | None = None) -> None:
        self.key = key or secrets.token_bytes(32)

    def _mac(self, payload: str) -> str:
        mac = hmac.new(self.key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:18]).decode().rstrip("=")

    def token(self, blob_id: str, expires: int) -> str:
        payload = f"{blob_id}.{expires}"
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str, now: float) -> tuple[str | None, str | None]:
        """``(blob_id, None)`` when valid, else ``(None, reason)``."""
        parts = token.rsplit(".", 2)
        if not token.isascii() or len(parts) != 3 or not parts[1].isdigit() or len(parts[1]) > 15:
            return None, "The blob URL is malformed."
        blob_id, expires, mac = parts
        if not hmac.compare_digest(mac.encode(), self._mac(f"{blob_id}.{expires}").encode()):
            return None, "The blob URL signature is invalid."
        if int(expires) <= now:
            return None, "The blob URL has expired; get the workflow again for a fresh URL."
        return blob_id, None
