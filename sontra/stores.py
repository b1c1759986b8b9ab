"""Open the configured event and alert stores (composition only: the stores live in storage/)."""

from __future__ import annotations

from sontra.config import SontraConfig
from storage.base import EventStore


def open_event_store(config: SontraConfig) -> EventStore:
    """The events store of the configured backend; `.sibling("alerts")` gives the alerts store."""
    if config.storage.backend == "opensearch":
        from storage.opensearch import OpenSearchEventStore

        os_cfg = config.storage.opensearch
        return OpenSearchEventStore(
            os_cfg.url,
            kind="events",
            index_prefix=os_cfg.index_prefix,
            username=os_cfg.username,
            password=os_cfg.password.get_secret_value() if os_cfg.password else None,
            verify_certs=os_cfg.verify_certs,
            ca_certs=str(os_cfg.ca_certs) if os_cfg.ca_certs else None,
        )
    from storage.sqlite import SqliteEventStore

    path = config.events_db_path
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteEventStore(path, kind="events")
