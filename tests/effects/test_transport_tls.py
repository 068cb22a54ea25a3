"""TLS: a CA bundle given or taken from SSL_CERT_FILE, an untrusted certificate as a TLS
transport error naming the host, --insecure, and client certificates (mTLS)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.effects.support import Pki, hello_app, make_pki, serve, server_context
from weft.effects import HttpRequest, TransportError, TransportErrorKind
from weft.effects.aiohttp_transport import AiohttpTransport
from weft.effects.http_options import HttpOptions
from weft.errors import UsageError


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path)


async def _get(options: HttpOptions, url: str) -> int:
    async with AiohttpTransport(options) as transport:
        response = await transport.send(HttpRequest("GET", url + "/ping"))
    return response.status


async def test_https_with_the_ca_bundle_given(pki: Pki) -> None:
    async with serve(hello_app(), server_context(pki)) as base:
        assert base.startswith("https://")
        assert await _get(HttpOptions.build(ca_bundle=pki.ca), base) == 200


async def test_an_untrusted_certificate_is_a_tls_error_naming_the_host(
    pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.other_ca))
    async with serve(hello_app(), server_context(pki)) as base:
        for options in (HttpOptions.build(ca_bundle=pki.other_ca), HttpOptions()):
            with pytest.raises(TransportError) as caught:
                await _get(options, base)
            assert caught.value.kind == TransportErrorKind.TLS
            assert "certificate verify failed for 127.0.0.1" in caught.value.detail


async def test_ssl_cert_file_is_honoured(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca))
    async with serve(hello_app(), server_context(pki)) as base:
        assert await _get(HttpOptions(), base) == 200
        # unless the environment is not trusted
        with pytest.raises(TransportError) as caught:
            await _get(HttpOptions.build(trust_env=False), base)
        assert caught.value.kind == TransportErrorKind.TLS


async def test_insecure_skips_verification(pki: Pki) -> None:
    async with serve(hello_app(), server_context(pki)) as base:
        assert await _get(HttpOptions.build(insecure=True), base) == 200


async def test_mutual_tls_needs_the_client_certificate(pki: Pki) -> None:
    async with serve(hello_app(), server_context(pki, client_cert=True)) as base:
        with_ca = HttpOptions.build(ca_bundle=pki.ca)
        with pytest.raises(TransportError) as caught:
            await _get(with_ca, base)
        # the server refuses the handshake (TLS 1.3 says so after it: a reset or a TLS error)
        assert caught.value.kind in (TransportErrorKind.TLS, TransportErrorKind.RESET)
        mtls = HttpOptions.build(with_ca, cert=pki.client_cert, key=pki.client_key)
        assert await _get(mtls, base) == 200


def test_bad_tls_files_are_usage_errors(pki: Pki, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(UsageError, match="CA bundle"):
        AiohttpTransport(HttpOptions.build(ca_bundle=junk))
    with pytest.raises(UsageError, match="client certificate"):
        AiohttpTransport(HttpOptions.build(cert=junk))
    with pytest.raises(UsageError, match="no such file"):
        HttpOptions.build(ca_bundle=tmp_path / "missing.pem")
    with pytest.raises(UsageError, match="--key was given without --cert"):
        HttpOptions.build(key=pki.client_key)
