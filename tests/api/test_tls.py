"""HTTPS served by uvicorn itself from ``api.tls_cert`` and ``api.tls_key``: tested with a
self-signed pair made here with ``cryptography``; a bad pair is a sentence at bind."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI

from rampart.api.server import ApiServer
from rampart.api.settings import ApiConfig
from rampart.domain.errors import RampartError


def _self_signed(folder: Path, name: str = "server") -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def test_the_api_serves_https_with_a_certificate_and_key(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    settings = ApiConfig(port=0, tls_cert=cert, tls_key=key)

    async def scenario() -> None:
        stop = asyncio.Event()
        server = ApiServer(_app(), "127.0.0.1", 0, settings=settings)
        server.bind()
        assert server.url.startswith("https://127.0.0.1:")
        serving = asyncio.create_task(server.serve(stop))
        await server.started.wait()
        trust = ssl.create_default_context(cafile=str(cert))
        try:
            async with httpx.AsyncClient(verify=trust) as client:
                response = await client.get(f"{server.url}/health")
                assert response.status_code == 200 and response.json() == {"status": "ok"}
                assert response.url.scheme == "https"
            # A client that does not trust the certificate is refused by its own TLS check.
            async with httpx.AsyncClient() as client:
                with pytest.raises(httpx.ConnectError):
                    await client.get(f"{server.url}/health")
            # Plain HTTP on the same port gets no answer: nothing is served unencrypted.
            plain = server.url.replace("https://", "http://")
            async with httpx.AsyncClient() as client:
                with pytest.raises(httpx.HTTPError):
                    await client.get(f"{plain}/health")
        finally:
            stop.set()
            await serving

    asyncio.run(scenario())


def test_a_certificate_without_its_key_is_refused_by_the_settings() -> None:
    with pytest.raises(ValueError, match="set both tls_cert and tls_key"):
        ApiConfig(tls_cert=Path("server.crt"))


def test_a_missing_or_mismatched_pair_is_a_sentence_at_bind(tmp_path: Path) -> None:
    cert, _ = _self_signed(tmp_path, "one")
    _, other_key = _self_signed(tmp_path, "two")
    missing = ApiConfig(port=0, tls_cert=tmp_path / "nope.crt", tls_key=other_key)
    with pytest.raises(RampartError, match=r"certificate file .*nope\.crt does not exist"):
        ApiServer(_app(), "127.0.0.1", 0, settings=missing).bind()
    mismatched = ApiConfig(port=0, tls_cert=cert, tls_key=other_key)
    with pytest.raises(RampartError) as caught:
        ApiServer(_app(), "127.0.0.1", 0, settings=mismatched).bind()
    assert "cannot be used" in caught.value.message and "belong together" in caught.value.message
    garbage = tmp_path / "garbage.crt"
    garbage.write_text("not a certificate")
    with pytest.raises(RampartError, match="cannot be used"):
        ApiServer(
            _app(), "127.0.0.1", 0, settings=ApiConfig(tls_cert=garbage, tls_key=other_key)
        ).bind()
