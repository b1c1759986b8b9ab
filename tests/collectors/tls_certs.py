"""Throwaway certificates for TLS tests: a CA, a server certificate for 127.0.0.1 and a client certificate."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

x509 = pytest.importorskip("cryptography.x509", reason="the TLS tests need the cryptography package")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402


@dataclass(frozen=True)
class TlsFiles:
    """PEM files written by ``make_tls_files``."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca_cert: Path
    stranger_cert: Path  # a client certificate signed by the other CA
    stranger_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    usage: x509.ObjectIdentifier | None = None,
    ip: str | None = None,
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if ip is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, cert: x509.Certificate | None = None, key: ec.EllipticCurvePrivateKey | None = None) -> Path:
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    else:
        assert key is not None
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return path


def make_tls_files(folder: Path) -> TlsFiles:
    """Write a CA, a server certificate for 127.0.0.1, a client certificate, and a stranger's from another CA."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, other_key = _key(), _key()
    ca = _certificate("Sontra Test CA", ca_key, "Sontra Test CA", ca_key, ca=True)
    other = _certificate("Some Other CA", other_key, "Some Other CA", other_key, ca=True)
    server_key, client_key, stranger_key = _key(), _key(), _key()
    server = _certificate(
        "sontra-collector", server_key, "Sontra Test CA", ca_key, usage=ExtendedKeyUsageOID.SERVER_AUTH, ip="127.0.0.1"
    )
    client = _certificate("web-01", client_key, "Sontra Test CA", ca_key, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    stranger = _certificate("intruder", stranger_key, "Some Other CA", other_key, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    return TlsFiles(
        ca_cert=_write(folder / "ca.pem", ca),
        server_cert=_write(folder / "server.pem", server),
        server_key=_write(folder / "server.key", key=server_key),
        client_cert=_write(folder / "client.pem", client),
        client_key=_write(folder / "client.key", key=client_key),
        other_ca_cert=_write(folder / "other-ca.pem", other),
        stranger_cert=_write(folder / "stranger.pem", stranger),
        stranger_key=_write(folder / "stranger.key", key=stranger_key),
    )


def encrypted_key(folder: Path) -> Path:
    """A password-protected private key, which a service cannot use unattended."""
    path = folder / "encrypted.key"
    path.write_bytes(
        _key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    return path
