"""The JSON shapes a Windows event arrives in, read into one ``winlog.*`` layout (Winlogbeat's).

- EVTX as JSON, as ``evtx`` (pyevtx-rs, ``evtx_dump``) writes it and as the SigmaHQ regression
  samples store it: ``{"Event": {"System": {...}, "EventData": {...} | "UserData": {...}}}``, with
  XML attributes under ``#attributes`` (or, with ``--separate-json-attributes``, ``<Name>_attributes``).
- Winlogbeat-style ECS documents: ``{"@timestamp": ..., "winlog": {"event_id": ..., "channel": ...,
  "event_data": {...}}, ...}``, from Winlogbeat itself or anything that imitates it.

Both become a ``WindowsRecord`` whose ``winlog`` dict has fixed types whatever the input had:
``event_id`` and ``record_id`` strings, ``event_data`` values strings, ``process.pid`` numbers, so
that the stores' dynamic ``winlog`` mapping never sees one field with two types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from normalizers.sources.windows.values import as_long, as_text

# System.Keywords bits that Windows itself defines (the low 48 bits belong to each provider).
KEYWORD_NAMES: tuple[tuple[int, str], ...] = (
    (0x0001000000000000, "Response Time"),
    (0x0002000000000000, "WDI Context"),
    (0x0004000000000000, "WDI Diag"),
    (0x0008000000000000, "SQM"),
    (0x0010000000000000, "Audit Failure"),
    (0x0020000000000000, "Audit Success"),
    (0x0040000000000000, "Correlation Hint"),
    (0x0080000000000000, "Classic"),
)
OPCODE_NAMES = {0: "Info", 1: "Start", 2: "Stop", 3: "DCStart", 4: "DCStop", 7: "Resume", 8: "Suspend", 9: "Send"}
_MAX_EVENT_ID = 0xFFFF
_WINLOG_TEXT_KEYS = (
    "channel", "provider_name", "provider_guid", "computer_name", "task", "opcode",
    "activity_id", "related_activity_id", "api", "record_id",
)  # fmt: skip


@dataclass(slots=True)
class WindowsRecord:
    """One Windows event, whatever JSON shape it came in."""

    event_id: int
    winlog: dict[str, Any]
    time_created: Any = None  # SystemTime text (EVTX) or the document's @timestamp (Winlogbeat)
    level: int | str | None = None  # System.Level number, or Winlogbeat's log.level text
    # ECS fields a Winlogbeat document already carried (message, host, agent, ...): kept where
    # Sontra's own mapping leaves them unset.
    extras: dict[str, Any] = field(default_factory=dict)


def is_evtx_json(document: dict[str, Any]) -> bool:
    """True for the EVTX-as-JSON shape (``Event.System``)."""
    node = document.get("Event")
    return isinstance(node, dict) and isinstance(node.get("System"), dict)


def is_winlogbeat(document: dict[str, Any]) -> bool:
    """True for a Winlogbeat-style document (a ``winlog`` object naming an event id or channel)."""
    winlog = document.get("winlog")
    return isinstance(winlog, dict) and ("event_id" in winlog or "channel" in winlog)


def from_evtx_json(document: dict[str, Any]) -> WindowsRecord | None:
    """Read ``{"Event": {"System": ..., "EventData": ...}}``; None when it has no usable event id."""
    node = document["Event"]
    system = node["System"]
    event_id = _event_id(_scalar(system.get("EventID")))
    if event_id is None:
        return None
    provider = _attributes(system, "Provider")
    correlation = _attributes(system, "Correlation")
    execution = _attributes(system, "Execution")
    security = _attributes(system, "Security")
    winlog: dict[str, Any] = {"event_id": str(event_id)}
    _put_text(winlog, "channel", _scalar(system.get("Channel")))
    _put_text(winlog, "provider_name", provider.get("Name") or provider.get("EventSourceName"))
    _put_text(winlog, "provider_guid", _braced(provider.get("Guid")))
    _put_text(winlog, "computer_name", _scalar(system.get("Computer")))
    _put_text(winlog, "record_id", _scalar(system.get("EventRecordID")))
    _put_text(winlog, "activity_id", _braced(correlation.get("ActivityID")))
    _put_text(winlog, "related_activity_id", _braced(correlation.get("RelatedActivityID")))
    version = as_long(_scalar(system.get("Version")))
    if version is not None:
        winlog["version"] = version
    opcode = as_long(_scalar(system.get("Opcode")))
    if opcode is not None:
        winlog["opcode"] = OPCODE_NAMES.get(opcode, str(opcode))
    keywords = keyword_names(_scalar(system.get("Keywords")))
    if keywords:
        winlog["keywords"] = keywords
    process = _process(execution.get("ProcessID"), execution.get("ThreadID"))
    if process:
        winlog["process"] = process
    user_id = as_text(security.get("UserID"))
    if user_id:
        winlog["user"] = {"identifier": user_id}
    data = flatten_data(node.get("EventData"))
    if data:
        winlog["event_data"] = data
    user_data = _user_data(node.get("UserData"))
    if user_data:
        winlog["user_data"] = user_data
    level = as_long(_scalar(system.get("Level")))
    return WindowsRecord(event_id, winlog, _attributes(system, "TimeCreated").get("SystemTime"), level)


def from_winlogbeat(document: dict[str, Any]) -> WindowsRecord | None:
    """Read a Winlogbeat-style document; None when it names no usable event id."""
    source = document["winlog"]
    meta = document.get("event")
    code = meta.get("code") if isinstance(meta, dict) else None
    event_id = _event_id(source.get("event_id", code))
    if event_id is None:
        return None
    winlog: dict[str, Any] = {"event_id": str(event_id)}
    for key in _WINLOG_TEXT_KEYS:
        _put_text(winlog, key, source.get(key))
    version = as_long(source.get("version"))
    if version is not None:
        winlog["version"] = version
    keywords = source.get("keywords")
    if isinstance(keywords, list):
        names = [text for text in map(as_text, keywords) if text]
        if names:
            winlog["keywords"] = names
    process = source.get("process")
    if isinstance(process, dict):
        thread = process.get("thread")
        packed = _process(process.get("pid"), thread.get("id") if isinstance(thread, dict) else None)
        if packed:
            winlog["process"] = packed
    user = source.get("user")
    if isinstance(user, dict):
        packed_user = {k: text for k in ("identifier", "name", "domain", "type") if (text := as_text(user.get(k)))}
        if packed_user:
            winlog["user"] = packed_user
    for key in ("event_data", "user_data"):
        data = flatten_data(source.get(key))
        if data:
            winlog[key] = data
    log = document.get("log")
    level = log.get("level") if isinstance(log, dict) else None
    level = as_text(level if level is not None else source.get("level"))
    extras = {k: v for k, v in document.items() if k not in ("winlog", "@timestamp", "ecs")}
    return WindowsRecord(event_id, winlog, document.get("@timestamp", source.get("time_created")), level, extras)


def keyword_names(value: Any) -> list[str]:
    """The names of the Windows-defined bits in a ``Keywords`` mask (``0x8020000000000000``)."""
    if isinstance(value, bool):
        return []
    mask = value if isinstance(value, int) else _hex_mask(value) if isinstance(value, str) else None
    if not mask:
        return []
    return [name for bit, name in KEYWORD_NAMES if mask & bit]


def flatten_data(node: Any) -> dict[str, Any]:
    """EventData/UserData as flat ``name -> string`` (lists of strings stay lists), like Winlogbeat.

    Unnamed ``<Data>`` elements become ``param1``, ``param2``, ... Dots in names become ``_`` so a
    name can never be read as a path of objects by the stores.
    """
    if not isinstance(node, dict):
        return {}
    data: dict[str, Any] = {}
    params = 0
    for key, value in node.items():
        if not isinstance(key, str) or not key or key.startswith("#") or key.endswith("_attributes"):
            continue
        if key == "Data":
            items = value.get("#text") if isinstance(value, dict) and "#text" in value else value
            for item in items if isinstance(items, list) else [items]:
                params += 1
                name = _data_name(item) or f"param{params}"
                text = as_text(item)
                if text is not None:
                    data[name.replace(".", "_")] = text
            continue
        if "." in key:
            key = key.replace(".", "_")
        if type(value) is str:  # the usual case, first
            data[key] = value
            continue
        if isinstance(value, list) and all(isinstance(v, str | int | float | bool) for v in value):
            data[key] = [as_text(v) for v in value]
            continue
        text = as_text(value)
        if text is not None:
            data[key] = text
    return data


def _user_data(node: Any) -> dict[str, Any]:
    """UserData holds one element (e.g. ``LogFileCleared``); Winlogbeat names it ``xml_name``."""
    if not isinstance(node, dict):
        return {}
    for name, inner in node.items():
        if isinstance(name, str) and not name.startswith("#") and isinstance(inner, dict):
            data = flatten_data(inner)
            data["xml_name"] = name
            return data
    return flatten_data(node)


def _data_name(item: Any) -> str | None:
    if isinstance(item, dict):
        attributes = item.get("#attributes")
        if isinstance(attributes, dict) and isinstance(attributes.get("Name"), str) and attributes["Name"]:
            return attributes["Name"]
    return None


def _attributes(system: dict[str, Any], key: str) -> dict[str, Any]:
    """The XML attributes of ``System.<key>`` in either attribute layout (empty when absent)."""
    node = system.get(key)
    if isinstance(node, dict):
        inner = node.get("#attributes")
        if isinstance(inner, dict):
            return inner
    separate = system.get(f"{key}_attributes")
    return separate if isinstance(separate, dict) else {}


def _scalar(node: Any) -> Any:
    """An element's text: the node itself, or its ``#text`` when it also has attributes."""
    return node.get("#text") if isinstance(node, dict) else node


def _event_id(value: Any) -> int | None:
    number = as_long(value)
    if number is None or number < 0:
        return None
    # Classic (NT-style) event ids carry qualifier bits above the 16-bit id.
    return number & _MAX_EVENT_ID if number > _MAX_EVENT_ID else number


def _hex_mask(text: str) -> int | None:
    if len(text) > 24:
        return None
    try:
        return int(text, 16) if text[:2].lower() == "0x" else int(text)
    except ValueError:
        return None


def _braced(value: Any) -> str | None:
    """GUIDs as Windows displays them: ``{...}``."""
    if not isinstance(value, str) or not value:
        return None
    return value if value.startswith("{") else "{" + value + "}"


def _process(pid: Any, thread: Any) -> dict[str, Any]:
    packed: dict[str, Any] = {}
    pid_value = as_long(pid)
    if pid_value is not None:
        packed["pid"] = pid_value
    thread_value = as_long(thread)
    if thread_value is not None:
        packed["thread"] = {"id": thread_value}
    return packed


def _put_text(winlog: dict[str, Any], key: str, value: Any) -> None:
    if isinstance(value, dict | list):
        return
    text = as_text(value)
    if text:
        winlog[key] = text
