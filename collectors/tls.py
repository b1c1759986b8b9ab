"""The server side of syslog over TLS (RFC 5425): an ``ssl.SSLContext`` from certificate and key files.

Every problem with the files is reported as a ``TlsSetupError`` that says which file (the
``cert_file``, ``key_file`` or ``client_ca_file`` setting) is wrong and why, so that ``sontra
serve`` can refuse to start with a message an operator can act on.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Literal

TlsFile = Literal["cert_file", "key_file", "client_ca_file"]


class TlsSetupError(ValueError):
    """A certificate, key or CA file cannot be used; ``setting`` names which one."""

    def __init__(self, setting: TlsFile, path: Path | None, problem: str) -> None:
        self.setting = setting
        self.path = path
        self.problem = problem
        where = f"{path}: " if path is not None else ""
        super().__init__(f"{setting}: {where}{problem}")


def _read(setting: TlsFile, path: Path, marker: str, what: str) -> None:
    """Check that ``path`` is a readable PEM file holding ``marker``; the message says what is wrong."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise TlsSetupError(setting, path, "no such file") from None
    except IsADirectoryError:
        raise TlsSetupError(setting, path, "is a directory, not a PEM file") from None
    except OSError as exc:
        raise TlsSetupError(setting, path, f"cannot be read: {exc.strerror or exc}") from None
    if marker.encode() not in text:
        raise TlsSetupError(setting, path, f"holds no PEM {what} (no '-----BEGIN {what.upper()}-----' line)")


def _no_password() -> str:
    # Without a callback OpenSSL would prompt on the terminal and hang a service.
    raise TlsSetupError("key_file", None, "the key is encrypted; give Sontra an unencrypted key file")


def server_context(
    cert_file: Path,
    key_file: Path,
    *,
    client_ca_file: Path | None = None,
    require_client_cert: bool = False,
) -> ssl.SSLContext:
    """A TLS 1.2+ server context with this certificate chain and key.

    With ``client_ca_file``, a client certificate is verified against that CA bundle when the
    client presents one; with ``require_client_cert`` a client without a valid one is refused.
    """
    if require_client_cert and client_ca_file is None:
        raise TlsSetupError("client_ca_file", None, "is required to verify client certificates")
    _read("cert_file", cert_file, "CERTIFICATE", "certificate")
    _read("key_file", key_file, "PRIVATE KEY", "private key")  # also "EC/RSA PRIVATE KEY"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # Parse the certificates on their own first, so a broken certificate is not blamed on the key.
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=str(cert_file))
    except ssl.SSLError as exc:
        raise TlsSetupError("cert_file", cert_file, f"is not a valid PEM certificate ({exc.reason or exc})") from None
    try:
        context.load_cert_chain(str(cert_file), str(key_file), password=_no_password)
    except TlsSetupError as exc:
        raise TlsSetupError("key_file", key_file, exc.problem) from None
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise TlsSetupError("key_file", key_file, f"does not match the certificate in {cert_file}") from None
        raise TlsSetupError("key_file", key_file, f"is not a usable private key ({exc.reason or exc})") from None
    if client_ca_file is not None:
        _read("client_ca_file", client_ca_file, "CERTIFICATE", "CA certificate")
        try:
            context.load_verify_locations(cafile=str(client_ca_file))
        except ssl.SSLError as exc:
            raise TlsSetupError(
                "client_ca_file", client_ca_file, f"is not a valid PEM CA bundle ({exc.reason or exc})"
            ) from None
        context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    return context
