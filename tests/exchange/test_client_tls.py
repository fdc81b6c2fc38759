"""Every ccxt client of a process shares one verifying TLS context: each built its
own from the CA file when it first opened, some 25 ms apiece, fifty of them per shard taken."""

from __future__ import annotations

import asyncio
import ssl

from rampart.venues.ccxt_client import make_client, share_tls


def test_clients_share_one_context_that_still_verifies() -> None:
    async def scenario() -> None:
        a = make_client("binance", api_key="k1", secret="s1")
        b = make_client("binance", api_key="k2", secret="s2")
        try:
            assert isinstance(a.ssl_context, ssl.SSLContext)
            assert a.ssl_context is b.ssl_context
            assert a.ssl_context.verify_mode is ssl.CERT_REQUIRED
            assert a.ssl_context.check_hostname
            assert a.ssl_context.cert_store_stats()["x509_ca"] > 0  # the CA file was read
            a.open()  # the session's connector is built on the shared context
            assert a.tcp_connector._ssl is a.ssl_context
        finally:
            await a.close()
            await b.close()

    asyncio.run(scenario())


def test_a_client_asked_for_the_systems_certificates_builds_its_own() -> None:
    async def scenario() -> None:
        shared = make_client("binance")
        own = make_client("binance")
        own.ssl_context = None
        own.options["include_OS_certificates"] = True
        share_tls(own)
        assert own.ssl_context is None  # ccxt builds it, with the system's CAs added
        await shared.close()
        await own.close()

    asyncio.run(scenario())
