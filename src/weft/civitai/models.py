"""``weft civitai models``: what can be passed to ``generate``: model versions with their family
and role, from the Site API's model search (the simulator's catalog without a token)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from weft.civitai.families import ROLES, family_of_base_model

# Site API model types -> the AIR type segment (and so the role)
_TYPE_SEGMENT = {
    "checkpoint": "checkpoint",
    "lora": "lora",
    "locon": "lycoris",
    "dora": "dora",
    "textualinversion": "embedding",
    "vae": "vae",
}


@dataclass(frozen=True, slots=True)
class ModelRow:
    version_id: int
    model_name: str
    version_name: str
    model_type: str
    base_model: str
    family: str | None  # None: weft cannot generate with it
    role: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "modelVersionId": self.version_id,
            "model": self.model_name,
            "version": self.version_name,
            "type": self.model_type,
            "baseModel": self.base_model,
            "family": self.family,
            "role": self.role,
            "generate": self.family is not None and self.role is not None,
        }


def rows_from_search(items: list[dict[str, Any]]) -> list[ModelRow]:
    rows: list[ModelRow] = []
    for model in items:
        model_type = str(model.get("type") or "")
        role = ROLES.get(_TYPE_SEGMENT.get(model_type.lower(), ""))
        for version in model.get("modelVersions") or []:
            if not isinstance(version, dict) or not isinstance(version.get("id"), int):
                continue
            base = str(version.get("baseModel") or "")
            family = family_of_base_model(base)
            rows.append(
                ModelRow(
                    version_id=version["id"],
                    model_name=str(model.get("name") or ""),
                    version_name=str(version.get("name") or ""),
                    model_type=model_type,
                    base_model=base,
                    family=family.label if family is not None else None,
                    role=role,
                )
            )
    return rows


async def list_models(
    query: str | None,
    *,
    types: list[str],
    base_models: list[str],
    limit: int,
    token: str | None,
    api_base: str | None,
    notice: Callable[[str], None] = print,
) -> list[ModelRow]:
    from weft.api import transport_scope
    from weft.civitai.generate import deployment
    from weft.civitai.site import SiteClient
    from weft.effects.clock import SystemClock

    async with deployment(token, api_base, None, notice) as where, transport_scope(None) as t:
        site = SiteClient(t, SystemClock(), base=where.site_base, token=where.token)
        items = await site.search(query, types=types, base_models=base_models, limit=limit)
    return rows_from_search(items)


def render_models(rows: list[ModelRow]) -> list[str]:
    """A table: version id, family, role, base model, name; a last line on how to use it."""
    if not rows:
        return ["no models found"]
    lines = [f"{'VERSION':>9}  {'FAMILY':<11}  {'ROLE':<10}  {'BASE MODEL':<16}  MODEL"]
    for r in rows:
        family = r.family or "-"
        role = r.role or r.model_type.lower() or "-"
        name = f"{r.model_name} {r.version_name}".strip()
        lines.append(f"{r.version_id:>9}  {family:<11}  {role:<10}  {r.base_model:<16}  {name}")
    lines.append("generate with: weft civitai generate --model-version VERSION --prompt '…'")
    return lines


__all__ = ["ModelRow", "list_models", "render_models", "rows_from_search"]
