"""The simulator's Site API catalog: model versions of every role and family (``catalog.yaml``).

A :class:`CatalogEntry` is one model version; :data:`DEFAULT_CATALOG` holds them all and is what
tests (the client's too) query to pick a checkpoint, a LoRA or an embedding of some family::

    from weft.civitai.simulator import DEFAULT_CATALOG, Catalog
    Catalog().find(role="lora", ecosystem="sdxl", can_generate=True)

Whether a version can be generated with follows the site's rules: the base model must not be
disabled (SD 2.x, SD 3/3.5, SDXL Turbo, SVD) and its family must support the model type; a
version may also be switched off on its own (``canGenerate: false`` in the data).
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import orjson
import yaml

from weft.civitai.simulator.air import Air, build_air, ecosystem_for, type_segment

CREATED_AT = "2025-03-14T09:26:53.589Z"

DISABLED_BASE_MODELS = frozenset({
    "SD 2.0", "SD 2.0 768", "SD 2.1", "SD 2.1 768", "SD 2.1 Unclip", "SD 3", "SD 3.5",
    "SD 3.5 Large", "SD 3.5 Large Turbo", "SD 3.5 Medium", "SDXL Turbo", "SVD", "SVD XT",
})  # fmt: skip
_ADDONS = frozenset({"Checkpoint", "LORA", "DoRA", "LoCon", "VAE", "TextualInversion"})
_CHECKPOINT_AND_LORA = frozenset({"Checkpoint", "LORA"})
# AIR ecosystem -> the model types the site can generate with (its ecosystem support table)
GENERATION_TYPES: dict[str, frozenset[str]] = {
    "sd1": _ADDONS, "sdxl": _ADDONS, "flux1": _CHECKPOINT_AND_LORA,
    "fluxkrea": _CHECKPOINT_AND_LORA, "flux2": _CHECKPOINT_AND_LORA,
    "wanvideo14b_t2v": _CHECKPOINT_AND_LORA, "other": frozenset({"Upscaler"}),
}  # fmt: skip
_DISTILLED = re.compile(r"\b(turbo|lightning|lcm|hyper)\b", re.IGNORECASE)
# the imageGen role of each AIR type segment
ROLES = {
    "checkpoint": "checkpoint", "lora": "lora", "lycoris": "lora", "dora": "lora",
    "embedding": "embedding", "vae": "vae",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    version_id: int
    model_id: int
    model_name: str
    version_name: str
    base_model: str
    model_type: str = "Checkpoint"
    published: bool = True
    trained_words: tuple[str, ...] = field(default_factory=tuple)
    nsfw: bool = False
    enabled: bool = True  # False: switched off for generation on its own (auction lost, ...)
    vae_version_id: int | None = None
    size_kb: float | None = None
    fp: str = "fp16"
    base_model_type: str = "Standard"
    require_auth: bool = False
    additional_resource_charge: bool = False
    real: bool = False  # a real Civitai id

    @property
    def air(self) -> str:
        return _air(self.base_model, self.model_type, self.model_id, self.version_id)

    @property
    def ecosystem(self) -> str:
        """The AIR ecosystem segment (``sdxl`` for SDXL, Pony, Illustrious and NoobAI)."""
        return ecosystem_for(self.base_model)

    @property
    def type_segment(self) -> str:
        return type_segment(self.model_type)

    @property
    def role(self) -> str | None:
        """``checkpoint``, ``lora`` (LoRA, LoCon, DoRA), ``embedding``, ``vae`` or None."""
        return ROLES.get(self.type_segment)

    @property
    def can_generate(self) -> bool:
        """What ``/model-versions/mini/{id}`` answers as ``canGenerate``."""
        if not self.enabled or self.base_model in DISABLED_BASE_MODELS:
            return False
        return self.model_type in GENERATION_TYPES.get(self.ecosystem, frozenset())

    @property
    def distilled(self) -> bool:
        """Turbo, Lightning, LCM or Hyper: told apart by base model or name, not by the AIR."""
        return _DISTILLED.search(f"{self.base_model} {self.model_name}") is not None

    @property
    def file_size_kb(self) -> float:
        if self.size_kb is not None:
            return self.size_kb
        return {"Checkpoint": 6775430.35, "VAE": 326799.4}.get(self.model_type, 223104.2)


@cache
def _air(base_model: str, model_type: str, model_id: int, version_id: int) -> str:
    return build_air(
        base_model=base_model, model_type=model_type, model_id=model_id, version_id=version_id
    )


def _entry(row: dict[str, Any]) -> CatalogEntry:
    return CatalogEntry(
        version_id=int(row["id"]),
        model_id=int(row["modelId"]),
        model_name=str(row["model"]),
        version_name=str(row["version"]),
        base_model=str(row["baseModel"]),
        model_type=str(row.get("type", "Checkpoint")),
        published=bool(row.get("published", True)),
        trained_words=tuple(str(w) for w in row.get("trainedWords") or ()),
        nsfw=bool(row.get("nsfw", False)),
        enabled=bool(row.get("canGenerate", True)),
        vae_version_id=row.get("vae"),
        size_kb=row.get("sizeKB"),
        fp=str(row.get("fp", "fp16")),
        base_model_type=str(row.get("baseModelType", "Standard")),
        require_auth=bool(row.get("requireAuth", False)),
        additional_resource_charge=bool(row.get("additionalResourceCharge", False)),
        real=bool(row.get("real", False)),
    )


def load_catalog(text: str | None = None) -> tuple[CatalogEntry, ...]:
    """Entries from YAML text (default: the packaged ``catalog.yaml``)."""
    if text is None:
        package = resources.files("weft.civitai.simulator")
        text = package.joinpath("catalog.yaml").read_text("utf-8")
    return tuple(_entry(row) for row in yaml.safe_load(text))


DEFAULT_CATALOG: tuple[CatalogEntry, ...] = load_catalog()


def _hashes(entry: CatalogEntry, salt: str = "") -> dict[str, str]:
    seed = f"weft-sim-{entry.version_id}{salt}".encode()
    sha = hashlib.sha256(seed).hexdigest().upper()
    return {
        "AutoV1": hashlib.sha1(seed).hexdigest()[:8].upper(),
        "AutoV2": sha[:10],
        "AutoV3": hashlib.sha256(seed + b"v3").hexdigest()[:12].upper(),
        "SHA256": sha,
        "CRC32": f"{zlib.crc32(seed):08X}",
        "BLAKE3": hashlib.blake2b(seed, digest_size=32).hexdigest().upper(),
    }


def _file_name(entry: CatalogEntry) -> str:
    stem = "".join(
        ch for ch in f"{entry.model_name}_{entry.version_name}" if ch.isalnum() or ch in "_.-"
    )
    return f"{stem}.safetensors"


class Catalog:
    def __init__(self, entries: Iterable[CatalogEntry] = DEFAULT_CATALOG) -> None:
        self.entries = {e.version_id: e for e in entries}
        self._version_bytes: dict[tuple[int, str], bytes] = {}
        self._resolved: dict[str, CatalogEntry | None] = {}
        self._models: dict[int, list[CatalogEntry]] = {}
        for entry in self.entries.values():
            self._models.setdefault(entry.model_id, []).append(entry)

    # ---- lookups ----------------------------------------------------------------------------

    def published_version(self, version_id: int) -> CatalogEntry | None:
        entry = self.entries.get(version_id)
        return entry if entry is not None and entry.published else None

    def by_hash(self, value: str) -> CatalogEntry | None:
        wanted = value.upper()
        for entry in self.entries.values():
            if entry.published and wanted in _hashes(entry).values():
                return entry
        return None

    def resolve(self, air: Air) -> CatalogEntry | None:
        """The published version a parsed AIR names (source ``civitai``, ``{model}@{version}``)."""
        if air.source != "civitai" or air.version is None:
            return None
        version, model = air.version, air.id
        if not (version.isascii() and version.isdigit() and model.isascii() and model.isdigit()):
            return None
        entry = self.published_version(int(version)) if len(version) < 12 else None
        if entry is None or str(entry.model_id) != model.lstrip("0"):
            return None
        return entry

    def resolve_air(self, text: str, air: Air) -> CatalogEntry | None:
        """:meth:`resolve`, remembered per AIR text (bounded: forgotten past 4,096 texts)."""
        if text in self._resolved:
            return self._resolved[text]
        if len(self._resolved) >= 4096:
            self._resolved.clear()
        entry = self._resolved[text] = self.resolve(air)
        return entry

    def by_air(self, air: str) -> CatalogEntry | None:
        """The published version whose canonical AIR is exactly ``air``."""
        from weft.civitai.simulator.air import parse_air

        parsed = parse_air(air)
        entry = self.resolve(parsed) if parsed is not None else None
        return entry if entry is not None and entry.air == air else None

    def model(self, model_id: int) -> list[CatalogEntry]:
        return [e for e in self._models.get(model_id, ()) if e.published]

    def find(
        self,
        *,
        role: str | None = None,
        ecosystem: str | None = None,
        base_model: str | None = None,
        can_generate: bool | None = None,
    ) -> list[CatalogEntry]:
        """Published versions matching every given filter."""
        return [
            e
            for e in self.entries.values()
            if e.published
            and (role is None or e.role == role)
            and (ecosystem is None or e.ecosystem == ecosystem)
            and (base_model is None or e.base_model == base_model)
            and (can_generate is None or e.can_generate == can_generate)
        ]

    # ---- Site API shapes ----------------------------------------------------------------------

    def version_bytes(self, entry: CatalogEntry, base_url: str) -> bytes:
        """:meth:`version_json` serialized, computed once per entry and origin."""
        key = (entry.version_id, base_url)
        body = self._version_bytes.get(key)
        if body is None:
            body = self._version_bytes[key] = orjson.dumps(self.version_json(entry, base_url))
        return body

    def _files(self, entry: CatalogEntry, base_url: str) -> list[dict[str, Any]]:
        files = [_file_json(entry, base_url, primary=True)]
        vae = self.entries.get(entry.vae_version_id or 0)
        if vae is not None:
            files.append(_file_json(vae, base_url, primary=False, as_vae_of=entry))
        return files

    def version_json(self, entry: CatalogEntry, base_url: str) -> dict[str, Any]:
        """``GET /api/v1/model-versions/{id}``."""
        download = f"{base_url}/api/download/models/{entry.version_id}"
        return {
            "id": entry.version_id,
            "modelId": entry.model_id,
            "name": entry.version_name,
            "createdAt": CREATED_AT,
            "updatedAt": CREATED_AT,
            "status": "Published",
            "publishedAt": CREATED_AT,
            "trainedWords": list(entry.trained_words),
            "trainingStatus": None,
            "trainingDetails": None,
            "baseModel": entry.base_model,
            "baseModelType": entry.base_model_type,
            "earlyAccessEndsAt": None,
            "earlyAccessConfig": None,
            "description": f"<p>{entry.model_name} {entry.version_name} (simulated).</p>",
            "uploadType": "Created",
            "usageControl": "Download",
            "air": entry.air,
            "nsfwLevel": 4 if entry.nsfw else 1,
            "stats": {"downloadCount": 1200 + entry.version_id % 100_000, "thumbsUpCount": 90},
            "model": {
                "name": entry.model_name,
                "type": entry.model_type,
                "nsfw": entry.nsfw,
                "poi": False,
            },
            "files": self._files(entry, base_url),
            "images": _preview_images(entry, base_url),
            "downloadUrl": download,
        }

    def mini_json(self, entry: CatalogEntry, base_url: str) -> dict[str, Any]:
        """``GET /api/v1/model-versions/mini/{id}``: what the generator needs to know."""
        primary = _file_json(entry, base_url, primary=True)
        return {
            "air": entry.air,
            "versionName": entry.version_name,
            "modelName": entry.model_name,
            "userId": 90_000 + entry.model_id % 10_000,
            "baseModel": entry.base_model,
            "availability": "Public",
            "publishedAt": CREATED_AT,
            "size": primary["sizeKB"],
            "fileType": "Model",
            "fileName": primary["name"],
            "hashes": primary["hashes"],
            "downloadUrls": [primary["downloadUrl"]],
            "format": "SafeTensor",
            "canGenerate": entry.can_generate,
            "isFeatured": entry.real,
            "requireAuth": entry.require_auth,
            "checkPermission": False,
            "additionalResourceCharge": entry.additional_resource_charge,
            "minor": False,
            "sfwOnly": False,
            "fees": [],
            "payoutEnabled": True,
        }

    def list_version_json(self, entry: CatalogEntry, base_url: str) -> dict[str, Any]:
        """A version inside ``GET /api/v1/models`` (no ``air`` there, as on the real site)."""
        full = self.version_json(entry, base_url)
        keep = ("id", "modelId", "name", "baseModel", "baseModelType", "publishedAt",
                "trainedWords", "nsfwLevel", "description", "stats", "files", "images",
                "downloadUrl")  # fmt: skip
        out = {k: full[k] for k in keep}
        out["supportsGeneration"] = entry.can_generate
        return out

    def model_json(self, model_id: int, base_url: str) -> dict[str, Any] | None:
        """``GET /api/v1/models/{id}`` (also one item of the list)."""
        versions = self.model(model_id)
        if not versions:
            return None
        first = versions[0]
        return {
            "id": model_id,
            "name": first.model_name,
            "description": f"<p>{first.model_name} (simulated).</p>",
            "type": first.model_type,
            "poi": False,
            "minor": False,
            "sfwOnly": False,
            "nsfw": any(v.nsfw for v in versions),
            "nsfwLevel": 4 if any(v.nsfw for v in versions) else 1,
            "availability": "Public",
            "supportsGeneration": any(v.can_generate for v in versions),
            "allowNoCredit": True,
            "allowCommercialUse": "{Image,RentCivit}",
            "allowDerivatives": True,
            "allowDifferentLicense": True,
            "tags": ["simulated", first.model_type.lower()],
            "creator": {"username": "weft-simulator", "image": None},
            "stats": {
                "downloadCount": 1200,
                "thumbsUpCount": 90,
                "thumbsDownCount": 1,
                "commentCount": 3,
                "tippedAmountCount": 0,
            },
            "modelVersions": [self.list_version_json(v, base_url) for v in versions],
        }


def _file_json(
    entry: CatalogEntry, base_url: str, *, primary: bool, as_vae_of: CatalogEntry | None = None
) -> dict[str, Any]:
    owner = as_vae_of or entry
    query = "?type=VAE" if as_vae_of is not None else ""
    return {
        "id": entry.version_id * 10 + (1 if as_vae_of is not None else 0),
        "sizeKB": entry.file_size_kb,
        "name": _file_name(entry),
        "type": "VAE" if as_vae_of is not None else "Model",
        "pickleScanResult": "Success",
        "pickleScanMessage": "No Pickle imports",
        "virusScanResult": "Success",
        "virusScanMessage": None,
        "scannedAt": CREATED_AT,
        "metadata": {"format": "SafeTensor", "size": "pruned", "fp": entry.fp},
        "hashes": _hashes(entry),
        "primary": primary,
        "downloadUrl": f"{base_url}/api/download/models/{owner.version_id}{query}",
    }


def _preview_images(entry: CatalogEntry, base_url: str) -> list[dict[str, Any]]:
    if entry.role not in ("checkpoint", "lora"):
        return []
    words = ", ".join(entry.trained_words)
    return [
        {
            "url": f"{base_url}/api/v1/sim-previews/{entry.version_id}/{n}.jpeg",
            "nsfwLevel": 4 if entry.nsfw else 1,
            "width": 512,
            "height": 768,
            "hash": f"U{entry.version_id % 9973:04d}preview{n}",
            "type": "image",
            "meta": {
                "prompt": f"{words + ', ' if words else ''}a lighthouse at dusk, preview {n}",
                "seed": 1000 + n,
                "steps": 25,
                "sampler": "Euler",
                "cfgScale": 7,
                "Model": entry.model_name,
            },
        }
        for n in range(2)
    ]
