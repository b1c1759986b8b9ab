"""Where the cluster is and how to log in, kept so the password never reaches a log or a repr."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.exceptions import TransportError


@dataclass(frozen=True, slots=True)
class ClusterAddress:
    """A cluster URL without credentials, plus the login and TLS settings to reach it."""

    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    verify_certs: bool = True
    ca_certs: str | None = None
    timeout: float = 30

    @classmethod
    def parse(
        cls,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        verify_certs: bool = True,
        ca_certs: str | None = None,
        timeout: float = 30,
    ) -> ClusterAddress:
        """Validate ``url`` and move any ``user:pass@`` in it into the login fields."""
        parts = urlsplit((url or "").strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"invalid OpenSearch URL {redact_url(url)!r}: expected http(s)://host[:port][/path]"
            )
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"invalid OpenSearch URL {redact_url(url)!r}: bad port") from None
        if username is None and parts.username:
            username = unquote(parts.username)
        if password is None and parts.password is not None:
            password = unquote(parts.password)
        if (username is None) != (password is None):
            raise ValueError("OpenSearch username and password must be given together")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        netloc = host if port is None else f"{host}:{port}"
        clean = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        return cls(clean, username, password, verify_certs, ca_certs, timeout)

    def client(self) -> OpenSearch:
        """A client that does not retry by itself: the store retries with backoff instead."""
        options: dict[str, Any] = {
            "hosts": [self.url],
            "timeout": self.timeout,
            "max_retries": 0,
            "retry_on_timeout": False,
        }
        if self.username is not None:
            options["http_auth"] = (self.username, self.password)
        if self.url.startswith("https:"):
            options["verify_certs"] = self.verify_certs
            if self.ca_certs:
                options["ca_certs"] = self.ca_certs
        return OpenSearch(**options)

    def __str__(self) -> str:
        who = f"{self.username}@" if self.username else ""
        scheme, rest = self.url.split("://", 1)
        return f"{scheme}://{who}{rest}"


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***``, safe to log or show."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{netloc}", parts.path, parts.query, parts.fragment))


def describe_error(exc: BaseException) -> str:
    """A one-line account of a transport failure: status, error type and reason."""
    if isinstance(exc, TransportConnectionError):
        return f"connection failed: {exc.error}: {exc.info}"
    if isinstance(exc, TransportError):
        return f"HTTP {exc.status_code} {exc.error}: {error_reason(exc.info)}"
    return f"{type(exc).__name__}: {exc}"


def error_reason(info: Any) -> str:
    """The innermost ``reason`` of an OpenSearch error body, which is the one that names the problem."""
    if not isinstance(info, dict):
        return str(info)
    error = info.get("error", info)
    if not isinstance(error, dict):
        return str(error)
    root = error.get("root_cause")
    if isinstance(root, list) and root and isinstance(root[0], dict) and root[0].get("reason"):
        return str(root[0]["reason"])
    caused = error.get("caused_by")
    if isinstance(caused, dict) and caused.get("reason"):
        return f"{error.get('reason', '')} ({caused['reason']})".strip()
    return str(error.get("reason", error))
