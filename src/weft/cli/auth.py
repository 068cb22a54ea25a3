"""``weft auth list DOC``: each source's security schemes, and where weft reads their
credentials (the ``--auth`` key, the environment variable, ``x-weft-auth`` bindings). Never a
value: only whether the variable is set."""

from __future__ import annotations

import os
from typing import Any

import click

from weft.cli.options import write_json


@click.group("auth")
def auth() -> None:
    """Credentials for the security schemes of a document's sources."""


@auth.command("list")
@click.argument("document")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def list_command(document: str, as_json: bool) -> None:
    """List each source's security schemes and the option and variable that give each one
    its credential."""
    from weft.api import load_document
    from weft.engine.auth import bindings_of
    from weft.engine.auth_check import list_schemes

    loaded = load_document(document)
    infos = list_schemes(loaded)
    bound: dict[str, list[str]] = {}
    for wf in loaded.document.workflows:
        for key in bindings_of(wf):
            bound.setdefault(str(key), []).append(wf.workflow_id)
    rows: list[dict[str, Any]] = []
    for info in infos:
        key = f"{info.source}.{info.scheme.name}"
        workflows = sorted({*bound.get(key, []), *bound.get(info.scheme.name, [])})
        rows.append(
            {
                "source": info.source,
                "scheme": info.scheme.name,
                "type": info.scheme.type.value,
                "description": info.scheme.label,
                "supported": info.scheme.supported,
                "option": info.option,
                "env": info.env,
                "envSet": bool(os.environ.get(info.env)),
                "boundBy": workflows,
                "operations": list(info.operations),
            }
        )
    if as_json:
        write_json({"document": loaded.document.uri, "schemes": rows})
        return
    if not rows:
        click.echo("no source description declares a security scheme")
        return
    source = None
    for row in rows:
        if row["source"] != source:
            source = row["source"]
            click.echo(f"source {source}")
        state = "set" if row["envSet"] else "not set"
        click.echo(f"  {row['scheme']}: {row['description']}")
        if not row["supported"]:
            click.echo("    not supported by weft (a client certificate is --cert/--key)")
            continue
        click.echo(f"    {row['option']}")
        click.echo(f"    env {row['env']} ({state})")
        if row["boundBy"]:
            click.echo(f"    x-weft-auth of workflow {', '.join(row['boundBy'])}")
        ops = row["operations"]
        if ops:
            shown = ", ".join(ops[:8]) + (f" (+{len(ops) - 8} more)" if len(ops) > 8 else "")
            click.echo(f"    used by {shown}")


__all__ = ["auth"]
