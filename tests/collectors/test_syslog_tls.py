"""Syslog over TLS (RFC 5425) on real sockets with throwaway certificates, into a real SQLite store."""

from __future__ import annotations

import asyncio
import socket
import ssl
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from collectors.pipeline import IngestPipeline
from collectors.spool import Spool
from collectors.syslog import SyslogService
from collectors.tls import TlsSetupError, server_context
from storage.sqlite import SqliteEventStore
from tests.collectors.conftest import sample_value, stored_events
from tests.collectors.tls_certs import TlsFiles, encrypted_key, make_tls_files

LOOPBACK = ("127.0.0.1", 0)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def client_context(certs: TlsFiles, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(certs.ca_cert))  # the client checks the server too
    if cert is not None:
        ctx.load_cert_chain(str(cert), str(key))
    return ctx


def octet_counted(*messages: str) -> bytes:
    out = b""
    for message in messages:
        data = message.encode()
        out += str(len(data)).encode() + b" " + data
    return out


def send_tls(address: tuple[str, int], ctx: ssl.SSLContext, payload: bytes) -> str:
    """Send ``payload`` over TLS and close cleanly; return the client's own ``ip:port``."""
    with socket.create_connection(address, timeout=10) as raw, ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.sendall(payload)
        host, port = tls.getsockname()[:2]
        tls.unwrap()  # close_notify: everything sent is read before the server sees the end
    return f"{host}:{port}"


def refused(address: tuple[str, int], ctx: ssl.SSLContext, payload: bytes) -> bool:
    """True when the server ends the connection instead of taking ``payload`` (TLS 1.3 reports it on read)."""
    try:
        with (
            socket.create_connection(address, timeout=10) as raw,
            ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            tls.sendall(payload)
            return tls.recv(1) == b""
    except (ssl.SSLError, ConnectionError):
        return True


async def with_tls_service(
    pipeline: IngestPipeline, context: ssl.SSLContext, body: Callable[[tuple[str, int]], Awaitable[None]], **kw: Any
) -> None:
    with tempfile.TemporaryDirectory() as spool_dir:
        spool = Spool(spool_dir, segment_bytes=1024 * 1024, max_bytes=8 * 1024 * 1024)
        try:
            service = SyslogService(pipeline, spool=spool, udp=None, tcp=None, tls=LOOPBACK, tls_context=context, **kw)
            await service.start()
            try:
                assert service.tls is not None
                assert service.addresses() == [f"tls://127.0.0.1:{service.tls.address[1]}"]
                await body(service.tls.address)
            finally:
                await service.stop()
        finally:
            spool.close()


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout=60))  # type: ignore[arg-type]


def test_octet_counted_frames_over_tls_are_stored_with_the_sender(
    events_store: SqliteEventStore, certs: TlsFiles, tmp_path: Path
) -> None:
    context = server_context(
        certs.server_cert, certs.server_key, client_ca_file=certs.ca_cert, require_client_cert=True
    )
    pipeline = IngestPipeline(events_store)
    messages = [
        "<38>1 2026-11-23T10:00:00.001Z web-01 sshd 812 - - Failed password for root from 203.0.113.7 port 4242 ssh2",
        "<38>1 2026-11-23T10:00:00.002Z web-01 app 9 - - a message\nwith a newline inside its frame",
        "<13>Nov 23 10:00:01 web-01 cron[5]: (root) CMD (run-parts /etc/cron.hourly)",
    ]
    senders: list[str] = []

    async def body(address: tuple[str, int]) -> None:
        ctx = client_context(certs, certs.client_cert, certs.client_key)
        payload = octet_counted(*messages[:2]) + messages[2].encode() + b"\n"  # LF framing is accepted too
        senders.append(await asyncio.to_thread(send_tls, address, ctx, payload))

    run(with_tls_service(pipeline, context, body))

    stored = stored_events(events_store)
    assert sorted(e["event"]["original"] for e in stored) == sorted(messages)
    assert {e["log"]["source"]["address"] for e in stored} == {senders[0]}
    assert {e["tags"][0] if "tags" in e else "" for e in stored} == {""}
    ssh = next(e for e in stored if e.get("process", {}).get("name") == "sshd")
    assert ssh["event"]["action"] == "ssh_login" and ssh["source"]["ip"] == "203.0.113.7"
    assert sample_value(pipeline.registry, "sontra_syslog_received_total", {"input": "syslog-tls"}) == 3
    assert sample_value(pipeline.registry, "sontra_ingest_events_total", {"input": "syslog-tls"}) == 3


@pytest.mark.parametrize("who", ["no certificate", "certificate from another CA"])
def test_client_without_a_valid_certificate_is_refused_when_required(
    events_store: SqliteEventStore, certs: TlsFiles, who: str
) -> None:
    context = server_context(
        certs.server_cert, certs.server_key, client_ca_file=certs.ca_cert, require_client_cert=True
    )
    pipeline = IngestPipeline(events_store)
    outcome: dict[str, Any] = {}

    async def body(address: tuple[str, int]) -> None:
        if who == "no certificate":
            bad = client_context(certs)
        else:
            bad = client_context(certs, certs.stranger_cert, certs.stranger_key)
        outcome["refused"] = await asyncio.to_thread(
            refused, address, bad, octet_counted("<13>Nov 23 10:00:00 h x: intruder")
        )
        # The listener is unharmed: a client with a good certificate still gets in.
        good = client_context(certs, certs.client_cert, certs.client_key)
        await asyncio.to_thread(send_tls, address, good, octet_counted("<13>Nov 23 10:00:00 h x: trusted"))

    run(with_tls_service(pipeline, context, body))

    assert outcome["refused"]
    assert [e["message"] for e in stored_events(events_store)] == ["trusted"]


def test_client_certificate_is_optional_unless_required(events_store: SqliteEventStore, certs: TlsFiles) -> None:
    context = server_context(certs.server_cert, certs.server_key, client_ca_file=certs.ca_cert)
    pipeline = IngestPipeline(events_store)

    async def body(address: tuple[str, int]) -> None:
        await asyncio.to_thread(
            send_tls, address, client_context(certs), octet_counted("<13>Nov 23 10:00:00 h x: anon")
        )

    run(with_tls_service(pipeline, context, body))
    assert [e["message"] for e in stored_events(events_store)] == ["anon"]


def test_plaintext_client_on_the_tls_port_does_not_harm_the_listener(
    events_store: SqliteEventStore, certs: TlsFiles
) -> None:
    context = server_context(certs.server_cert, certs.server_key)
    pipeline = IngestPipeline(events_store)
    answer: dict[str, bytes] = {}

    def plaintext(address: tuple[str, int]) -> None:
        with socket.create_connection(address, timeout=10) as raw:
            raw.sendall(b"<13>Nov 23 10:00:00 h x: sent in the clear\n" * 50)
            try:
                answer["reply"] = raw.recv(4096)  # the server ends the connection (a TLS alert at most)
            except ConnectionError:
                answer["reply"] = b""

    async def body(address: tuple[str, int]) -> None:
        await asyncio.to_thread(plaintext, address)
        await asyncio.to_thread(send_tls, address, client_context(certs), octet_counted("<13>Nov 23 10:00:00 h x: ok"))

    run(with_tls_service(pipeline, context, body))

    assert b"sent in the clear" not in answer["reply"]
    assert [e["message"] for e in stored_events(events_store)] == ["ok"]


# --- the server context and its errors ------------------------------------------------------------


def test_server_context_allows_tls_1_2_and_later_only(certs: TlsFiles) -> None:
    context = server_context(certs.server_cert, certs.server_key)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_NONE
    assert server_context(certs.server_cert, certs.server_key, client_ca_file=certs.ca_cert).verify_mode == (
        ssl.CERT_OPTIONAL
    )


def test_bad_files_name_the_setting_and_the_problem(certs: TlsFiles, tmp_path: Path) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"cert_file": tmp_path / "missing.pem"}, "cert_file", "no such file"),
        ({"cert_file": certs.server_key}, "cert_file", "holds no PEM certificate"),
        ({"cert_file": tmp_path}, "cert_file", "is a directory"),
        ({"key_file": certs.client_key}, "key_file", "does not match the certificate"),
        ({"key_file": certs.server_cert}, "key_file", "holds no PEM private key"),
        ({"key_file": encrypted_key(tmp_path)}, "key_file", "encrypted"),
        ({"client_ca_file": tmp_path / "nope.pem"}, "client_ca_file", "no such file"),
        ({"require_client_cert": True}, "client_ca_file", "required to verify client certificates"),
    ]
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    cases.append(({"cert_file": broken}, "cert_file", "not a valid PEM certificate"))
    for change, setting, words in cases:
        kw: dict[str, Any] = {"cert_file": certs.server_cert, "key_file": certs.server_key, **change}
        with pytest.raises(TlsSetupError) as err:
            server_context(kw.pop("cert_file"), kw.pop("key_file"), **kw)
        assert err.value.setting == setting, change
        assert str(err.value).startswith(f"{setting}: ") and words in str(err.value), str(err.value)
