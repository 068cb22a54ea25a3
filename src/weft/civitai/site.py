"""The Civitai Site API as the generate command uses it: a model version (full and ``mini``), a
version by file hash, and the model search; through weft's transport, every GET sent again on a
5xx, a gateway page, a reset or a timeout (:func:`weft.engine.resend.send_with_retries`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from weft.civitai.errors import CivitaiError, Reason
from weft.civitai.families import ROLES
from weft.effects import Clock, HttpRequest, HttpResponse, Transport, TransportError
from weft.engine.options import RetryPolicy
from weft.engine.resend import TRANSIENT_STATUSES, send_with_retries
from weft.secrets import SecretSet

SITE_BASE = "https://civitai.com"
# urn:air:{ecosystem}:{type}:{source}:{id}@{version} ("urn:" and "air:" optional)
_AIR = re.compile(
    r"^(?:urn:)?(?:air:)?(?P<ecosystem>[a-zA-Z0-9_\-/]+):(?P<type>[a-zA-Z0-9_\-/]+):"
    r"(?P<source>[a-zA-Z0-9_\-/]+):(?P<id>[a-zA-Z0-9_\-/.]+)(?:@(?P<version>[a-zA-Z0-9_\-/.=,%+:]+))?"
    r"(?:\.(?P<format>[a-zA-Z0-9_\-]+))?$"
)


@dataclass(frozen=True, slots=True)
class Air:
    """A parsed AIR (``urn:air:sdxl:lora:civitai:123@456``)."""

    text: str
    ecosystem: str
    type: str
    source: str
    id: str
    version: str | None

    @classmethod
    def parse(cls, text: str) -> Air | None:
        match = _AIR.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            return None
        return cls(
            text.strip(),
            match["ecosystem"].lower(),
            match["type"].lower(),
            match["source"],
            match["id"],
            match["version"],
        )

    @property
    def role(self) -> str | None:
        """``checkpoint``, ``lora`` (LoRA, LoCon, DoRA), ``embedding``, ``vae``, or None."""
        return ROLES.get(self.type)


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """What the command needs of ``GET /api/v1/model-versions/{id}``."""

    id: int
    name: str
    model_id: int | None
    model_name: str
    model_type: str
    base_model: str | None
    air: Air
    trained_words: tuple[str, ...] = ()
    nsfw: bool = False
    vae_hash: str | None = None  # the checkpoint's linked VAE file (files[] of type VAE)

    @property
    def role(self) -> str | None:
        return self.air.role

    @property
    def title(self) -> str:
        return f"{self.model_name} {self.name}".strip()

    @classmethod
    def from_json(cls, body: Any, version_id: int) -> ModelVersion:
        if not isinstance(body, Mapping):
            raise CivitaiError(Reason.BAD_ANSWER, f"model version {version_id}: not an object")
        air = Air.parse(str(body.get("air") or ""))
        if air is None:
            raise CivitaiError(
                Reason.BAD_ANSWER,
                f"model version {version_id} has no AIR the API can generate with "
                f"({body.get('air')!r})",
            )
        model = body.get("model") if isinstance(body.get("model"), Mapping) else {}
        assert isinstance(model, Mapping)
        words = body.get("trainedWords")
        vae_hash = None
        for f in body.get("files") or []:
            if isinstance(f, Mapping) and str(f.get("type", "")).upper() == "VAE":
                hashes = f.get("hashes") if isinstance(f.get("hashes"), Mapping) else {}
                assert isinstance(hashes, Mapping)
                vae_hash = next(
                    (str(hashes[k]) for k in ("SHA256", "AutoV2", "BLAKE3") if hashes.get(k)),
                    None,
                )
        return cls(
            id=int(body.get("id") or version_id),
            name=str(body.get("name") or ""),
            model_id=body.get("modelId") if isinstance(body.get("modelId"), int) else None,
            model_name=str(model.get("name") or ""),
            model_type=str(model.get("type") or ""),
            base_model=body.get("baseModel") if isinstance(body.get("baseModel"), str) else None,
            air=air,
            trained_words=tuple(str(w) for w in words if isinstance(w, str) and w.strip())
            if isinstance(words, list)
            else (),
            nsfw=bool(model.get("nsfw")),
            vae_hash=vae_hash,
        )


@dataclass(frozen=True, slots=True)
class Coverage:
    """``GET /api/v1/model-versions/mini/{id}``: whether the resource can be generated with."""

    can_generate: bool
    require_auth: bool = False
    additional_charge: bool = False


@dataclass
class SiteClient:
    """Reads the Site API (``{base}/api/v1``) with retries; caches versions it has read."""

    transport: Transport
    clock: Clock
    base: str = SITE_BASE
    token: str | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    _versions: dict[int, ModelVersion] = field(default_factory=dict)
    _coverage: dict[int, Coverage] = field(default_factory=dict)
    _rng: random.Random = field(default_factory=random.Random)

    def _url(self, path: str, query: Mapping[str, Any] | None = None) -> str:
        url = f"{self.base.rstrip('/')}/api/v1{path}"
        return f"{url}?{urlencode(query, doseq=True)}" if query else url

    async def _get(self, url: str, what: str) -> tuple[int, Any]:
        headers = [("Accept", "application/json")]
        if self.token:
            headers.append(("Authorization", f"Bearer {self.token}"))
        try:
            response = await send_with_retries(
                self.transport,
                HttpRequest("GET", url, headers),
                policy=self.policy,
                clock=self.clock,
                rng=self._rng,
                statuses=TRANSIENT_STATUSES,
            )
        except TransportError as exc:
            raise CivitaiError(
                Reason.UNAVAILABLE,
                f"the Civitai Site API gave no answer for {what} ({exc.detail})",
                hint="check the network (or --api-base) and try again",
            ) from None
        body = _json(response)
        if self.token and not 200 <= response.status < 300:
            # an error answer may echo the request: its token never reaches a message
            body = SecretSet([f"Bearer {self.token}"]).mask(body)
        return response.status, body

    async def version(self, version_id: int) -> ModelVersion:
        hit = self._versions.get(version_id)
        if hit is not None:
            return hit
        status, body = await self._get(
            self._url(f"/model-versions/{version_id}"), f"model version {version_id}"
        )
        if status == 404:
            raise CivitaiError(
                Reason.NOT_FOUND,
                f"model version {version_id} was not found (unknown or unpublished)",
                status_code=404,
                hint="check the id on the model's page (the number after ?modelVersionId=); "
                "`weft civitai models QUERY` lists versions",
            )
        _check(status, body, f"model version {version_id}")
        version = ModelVersion.from_json(body, version_id)
        self._versions[version_id] = version
        return version

    async def coverage(self, version_id: int) -> Coverage:
        hit = self._coverage.get(version_id)
        if hit is not None:
            return hit
        status, body = await self._get(
            self._url(f"/model-versions/mini/{version_id}"), f"model version {version_id}"
        )
        _check(status, body, f"whether model version {version_id} can be generated with")
        if not isinstance(body, Mapping):
            raise CivitaiError(Reason.BAD_ANSWER, f"model version {version_id}: no coverage")
        coverage = Coverage(
            can_generate=bool(body.get("canGenerate")),
            require_auth=bool(body.get("requireAuth")),
            additional_charge=bool(body.get("additionalResourceCharge")),
        )
        self._coverage[version_id] = coverage
        return coverage

    async def by_hash(self, file_hash: str) -> ModelVersion | None:
        status, body = await self._get(
            self._url(f"/model-versions/by-hash/{quote(file_hash, safe='')}"), "a linked VAE"
        )
        if status == 404:
            return None
        _check(status, body, "a linked VAE")
        version = ModelVersion.from_json(body, 0)
        self._versions[version.id] = version
        return version

    async def search(
        self, query: str | None, *, types: list[str], base_models: list[str], limit: int
    ) -> list[dict[str, Any]]:
        """``GET /api/v1/models``: models matching ``query`` with their versions."""
        params: dict[str, Any] = {"limit": limit}
        if query:
            params["query"] = query
        if types:
            params["types"] = types
        if base_models:
            params["baseModels"] = base_models
        status, body = await self._get(self._url("/models", params), "the model search")
        _check(status, body, "the model search")
        items = body.get("items") if isinstance(body, Mapping) else None
        return [dict(i) for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []


def _json(response: HttpResponse) -> Any:
    try:
        return orjson.loads(response.body) if response.body else None
    except orjson.JSONDecodeError:
        return response.body[:500].decode("utf-8", "replace")


def _check(status: int, body: Any, what: str) -> None:
    if 200 <= status < 300:
        return
    said = body.get("error") if isinstance(body, Mapping) else None
    detail = f": {said}" if isinstance(said, str) else ""
    if status == 401:
        raise CivitaiError(
            Reason.UNAUTHORIZED,
            f"the Civitai Site API refused the token (401) reading {what}",
            status_code=401,
            hint="check the token (CIVITAI_API_TOKEN or --token)",
        )
    if status in TRANSIENT_STATUSES:
        raise CivitaiError(
            Reason.UNAVAILABLE,
            f"the Civitai Site API kept answering {status} reading {what}{detail}",
            status_code=status,
            hint="Civitai may be busy or down; try again in a few minutes",
        )
    raise CivitaiError(
        Reason.REJECTED,
        f"the Civitai Site API answered {status} reading {what}{detail}",
        status_code=status,
    )


__all__ = ["SITE_BASE", "Air", "Coverage", "ModelVersion", "SiteClient"]
