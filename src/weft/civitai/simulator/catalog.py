"""The simulator's Site API catalog: model versions across the families weft cares about.

Ids 1001-1008 and their names are weft's own inventions; 128713 (DreamShaper 8, SD 1.5, model
4384) and 128078 (SDXL base 1.0, model 101055) are real Civitai versions, so the README's command
works the same on the simulator and on civitai.com. Shapes follow the real
``GET /api/v1/model-versions``.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from weft.civitai.simulator.air import build_air

CREATED_AT = "2025-03-14T09:26:53.589Z"


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

    @property
    def air(self) -> str:
        return build_air(
            base_model=self.base_model,
            model_type=self.model_type,
            model_id=self.model_id,
            version_id=self.version_id,
        )


DEFAULT_CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(1001, 501, "Meadowlight", "v1.5", "SD 1.5"),
    CatalogEntry(1002, 502, "Harbor XL", "v2.0", "SDXL 1.0"),
    CatalogEntry(1003, 503, "Saddle Pony", "v6", "Pony"),
    CatalogEntry(1004, 504, "Ink Illustrious", "v1.0", "Illustrious"),
    CatalogEntry(1005, 505, "Lumen Flux", "dev-fp8", "Flux.1 D"),
    CatalogEntry(1006, 506, "Prism Flux Two", "v1", "Flux.2 D"),
    CatalogEntry(1007, 507, "Paper Cut Style", "v1", "SDXL 1.0", "LORA", True, ("papercut",)),
    CatalogEntry(1008, 508, "Unreleased Draft", "v0.1", "SDXL 1.0", "Checkpoint", False),
    # real Civitai ids (AIRs as the Orchestration spec's own defaults spell them)
    CatalogEntry(128713, 4384, "DreamShaper", "8", "SD 1.5"),
    CatalogEntry(128078, 101055, "SD XL", "v1.0 VAE fix", "SDXL 1.0"),
)


def _hashes(entry: CatalogEntry) -> dict[str, str]:
    seed = f"weft-sim-{entry.version_id}".encode()
    sha = hashlib.sha256(seed).hexdigest().upper()
    return {
        "AutoV1": hashlib.sha1(seed).hexdigest()[:8].upper(),
        "AutoV2": sha[:10],
        "AutoV3": hashlib.sha256(seed + b"v3").hexdigest()[:12].upper(),
        "SHA256": sha,
        "CRC32": f"{zlib.crc32(seed):08X}",
        "BLAKE3": hashlib.blake2b(seed, digest_size=32).hexdigest().upper(),
    }


class Catalog:
    def __init__(self, entries: tuple[CatalogEntry, ...] = DEFAULT_CATALOG) -> None:
        self.entries = {e.version_id: e for e in entries}
        self._by_air: dict[str, CatalogEntry] = {}
        self._version_bytes: dict[tuple[CatalogEntry, str], bytes] = {}

    def published_version(self, version_id: int) -> CatalogEntry | None:
        entry = self.entries.get(version_id)
        return entry if entry is not None and entry.published else None

    def by_hash(self, value: str) -> CatalogEntry | None:
        wanted = value.upper()
        for entry in self.entries.values():
            if entry.published and wanted in _hashes(entry).values():
                return entry
        return None

    def by_air(self, air: str) -> CatalogEntry | None:
        entry = self._by_air.get(air)
        if entry is not None and self.entries.get(entry.version_id) is entry:
            return entry
        for entry in self.entries.values():
            if entry.published and entry.air == air:
                self._by_air[air] = entry
                return entry
        return None

    def version_bytes(self, entry: CatalogEntry, base_url: str) -> bytes:
        """:meth:`version_json` serialized, computed once per entry and origin."""
        key = (entry, base_url)
        body = self._version_bytes.get(key)
        if body is None:
            body = self._version_bytes[key] = orjson.dumps(self.version_json(entry, base_url))
        return body

    def model(self, model_id: int) -> list[CatalogEntry]:
        return [e for e in self.entries.values() if e.model_id == model_id and e.published]

    def version_json(self, entry: CatalogEntry, base_url: str) -> dict[str, Any]:
        file_name = f"{entry.model_name.replace(' ', '')}_{entry.version_name}.safetensors"
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
            "baseModelType": "Standard",
            "earlyAccessEndsAt": None,
            "earlyAccessConfig": None,
            "description": f"<p>{entry.model_name} {entry.version_name} (simulated).</p>",
            "uploadType": "Created",
            "usageControl": "Download",
            "air": entry.air,
            "nsfwLevel": 1,
            "stats": {"downloadCount": 1200 + entry.version_id, "thumbsUpCount": 90},
            "model": {
                "name": entry.model_name,
                "type": entry.model_type,
                "nsfw": False,
                "poi": False,
            },
            "files": [
                {
                    "id": entry.version_id * 10,
                    "sizeKB": 2082642.5 if entry.model_type == "Checkpoint" else 223104.2,
                    "name": file_name,
                    "type": "Model",
                    "pickleScanResult": "Success",
                    "pickleScanMessage": "No Pickle imports",
                    "virusScanResult": "Success",
                    "virusScanMessage": None,
                    "scannedAt": CREATED_AT,
                    "metadata": {"format": "SafeTensor", "size": "pruned", "fp": "fp16"},
                    "hashes": _hashes(entry),
                    "primary": True,
                    "downloadUrl": download,
                }
            ],
            "images": [],
            "downloadUrl": download,
        }

    def model_json(self, model_id: int, base_url: str) -> dict[str, Any] | None:
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
            "nsfw": False,
            "nsfwLevel": 1,
            "tags": ["simulated"],
            "creator": {"username": "weft-simulator", "image": None},
            "stats": {"downloadCount": 1200, "thumbsUpCount": 90},
            "modelVersions": [self.version_json(v, base_url) for v in versions],
        }
