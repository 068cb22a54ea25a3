"""The command-line options of how runs talk HTTP, shared by ``weft run``, ``weft resume`` and
``weft batch``: credentials (``--auth``, ``--auth-file``), TLS and proxy (``--proxy``,
``--ca-bundle``, ``--cert``, ``--key``, ``--insecure``), transport limits (``--connect-timeout``,
``--read-timeout``, ``--request-timeout``, ``--max-response-bytes``) and response checks
(``--check-responses``, ``--severity``).

``@network_options`` adds them to a click command and hands the command one
:class:`NetworkChoices` (argument ``net``) built from them, at the boundary.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import click

from weft.effects.http_options import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_REQUEST_TIMEOUT,
    HttpOptions,
)
from weft.engine.credentials import AuthConfig
from weft.engine.response_checks import CHECKS, NO_CHECKS, ResponseChecks

F = TypeVar("F", bound=Callable[..., Any])

INSECURE_WARNING = (
    "warning: --insecure: TLS certificates are NOT verified; anyone on the network path can "
    "read and change this traffic, credentials included"
)


@dataclass(frozen=True, slots=True)
class NetworkChoices:
    """What the network options say: the transport's options, the credentials and the
    response checks."""

    http: HttpOptions
    auth: AuthConfig
    checks: ResponseChecks = NO_CHECKS


def _seconds(default: float) -> dict[str, Any]:
    return {
        "type": click.FloatRange(min=0),
        "metavar": "SECONDS",
        "help": f"[default: {default:g}; 0: no limit]",
    }


_AUTH_OPTIONS = [
    click.option(
        "--auth",
        "auth_pairs",
        multiple=True,
        metavar="[SOURCE.]SCHEME=VALUE",
        help="A credential for a security scheme (a token, key, user:password or "
        "client_id:client_secret); see `weft auth list DOC`.",
    ),
    click.option(
        "--auth-file",
        metavar="FILE",
        help="A JSON or YAML file of credentials: {SCHEME or SOURCE.SCHEME: VALUE}.",
    ),
]
_HTTP_OPTIONS = [
    click.option(
        "--proxy",
        metavar="URL",
        help="Send requests through this HTTP proxy "
        "[default: HTTPS_PROXY/HTTP_PROXY, except NO_PROXY hosts].",
    ),
    click.option(
        "--ca-bundle",
        metavar="FILE",
        help="Trust the CA certificates of this PEM file [default: SSL_CERT_FILE].",
    ),
    click.option("--cert", metavar="FILE", help="Client certificate (PEM) for mutual TLS."),
    click.option("--key", metavar="FILE", help="The client certificate's private key (PEM)."),
    click.option("--insecure", is_flag=True, help="Do not verify TLS certificates (unsafe)."),
    click.option("--connect-timeout", **_seconds(DEFAULT_CONNECT_TIMEOUT)),
    click.option("--read-timeout", **_seconds(DEFAULT_READ_TIMEOUT)),
    click.option("--request-timeout", **_seconds(DEFAULT_REQUEST_TIMEOUT)),
    click.option(
        "--max-response-bytes",
        type=click.IntRange(1),
        metavar="BYTES",
        help=f"Cap on a decoded response body [default: {DEFAULT_MAX_RESPONSE_BYTES}].",
    ),
]
_CHECK_OPTIONS = [
    click.option(
        "--check-responses",
        is_flag=True,
        help="Check answers against the descriptions (status, content type, schema, "
        "required headers).",
    ),
    click.option(
        "--severity",
        "severity_pairs",
        multiple=True,
        metavar="CHECK=LEVEL",
        help=f"warn, error or off for a check ({', '.join(CHECKS)}) [default: error].",
    ),
]


def network_options(checks: bool = True) -> Callable[[F], F]:
    """Add the options to a click command, which receives them as ``net`` (a
    :class:`NetworkChoices`). ``checks=False``: without the response-check options (resume
    keeps the run's recorded checks)."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs["net"] = build_network(
                auth_pairs=kwargs.pop("auth_pairs"),
                auth_file=kwargs.pop("auth_file"),
                proxy=kwargs.pop("proxy"),
                ca_bundle=kwargs.pop("ca_bundle"),
                cert=kwargs.pop("cert"),
                key=kwargs.pop("key"),
                insecure=kwargs.pop("insecure"),
                connect_timeout=kwargs.pop("connect_timeout"),
                read_timeout=kwargs.pop("read_timeout"),
                request_timeout=kwargs.pop("request_timeout"),
                max_response_bytes=kwargs.pop("max_response_bytes"),
                check_responses=kwargs.pop("check_responses", False),
                severity_pairs=kwargs.pop("severity_pairs", ()),
            )
            return command(*args, **kwargs)

        decorated: Any = wrapper
        options = [*_AUTH_OPTIONS, *_HTTP_OPTIONS, *(_CHECK_OPTIONS if checks else [])]
        for option in reversed(options):
            decorated = option(decorated)
        return cast(F, decorated)

    return decorate


def build_network(
    *,
    auth_pairs: tuple[str, ...] = (),
    auth_file: str | None = None,
    proxy: str | None = None,
    ca_bundle: str | None = None,
    cert: str | None = None,
    key: str | None = None,
    insecure: bool = False,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    request_timeout: float | None = None,
    max_response_bytes: int | None = None,
    check_responses: bool = False,
    severity_pairs: tuple[str, ...] = (),
) -> NetworkChoices:
    """The options' values checked and folded into one :class:`NetworkChoices` (a bad value is
    a usage error); ``--insecure`` prints its warning on stderr."""
    from weft.cli.options import read_values_file

    file_values = read_values_file(auth_file, what="auth file") if auth_file else None
    auth = AuthConfig.build(auth_pairs, file_values=file_values, file_name=f"auth file {auth_file}")
    http = HttpOptions.build(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        request_timeout=request_timeout,
        max_response_bytes=max_response_bytes,
        proxy=proxy,
        ca_bundle=ca_bundle,
        cert=cert,
        key=key,
        insecure=insecure,
    )
    if insecure:
        click.echo(INSECURE_WARNING, err=True)
    checks = (
        ResponseChecks.build(check_responses, severity_pairs)
        if check_responses or severity_pairs
        else NO_CHECKS
    )
    return NetworkChoices(http, auth, checks)


__all__ = ["INSECURE_WARNING", "NetworkChoices", "build_network", "network_options"]
