"""Writing ECS fields into a Windows event: dotted names, skip-empty, process and file details."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from normalizers.sources.windows.values import base_name, command_line_args


@lru_cache(maxsize=512)
def _path(name: str) -> tuple[str, ...]:
    return tuple(name.split("."))


def put(event: dict[str, Any], name: str, value: Any) -> None:
    """Set a dotted ECS field, creating parents; None is not written (the field stays absent)."""
    if value is None:
        return
    *parents, leaf = _path(name)
    node = event
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[leaf] = value


def lookup(event: dict[str, Any], name: str) -> Any:
    """Read a dotted ECS field (None when any part is missing)."""
    node: Any = event
    for part in _path(name):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def put_executable(event: dict[str, Any], prefix: str, path: str | None) -> None:
    """``<prefix>.executable`` and ``<prefix>.name`` (the file name) from an executable path."""
    if path is None:
        return
    put(event, f"{prefix}.executable", path)
    name = base_name(path)
    if name:
        put(event, f"{prefix}.name", name)


def put_command_line(event: dict[str, Any], prefix: str, command_line: str | None) -> None:
    """``<prefix>.command_line`` plus ``args`` and ``args_count`` split as Windows splits them."""
    if command_line is None:
        return
    put(event, f"{prefix}.command_line", command_line)
    args = command_line_args(command_line)
    if args:
        put(event, f"{prefix}.args", args)
        put(event, f"{prefix}.args_count", len(args))


def put_file_path(event: dict[str, Any], path: str | None) -> None:
    """``file.path`` and, for a Windows path, ``file.name``, ``file.directory`` and ``file.extension``."""
    if path is None:
        return
    put(event, "file.path", path)
    directory, sep, name = path.rpartition("\\")
    if not sep:
        return
    if name:
        put(event, "file.name", name)
    put(event, "file.directory", directory)
    stem, dot, extension = name.rpartition(".")
    if dot and stem and extension:
        put(event, "file.extension", extension)


def add_related(event: dict[str, Any], kind: str, value: str | None) -> None:
    """Append to ``related.<kind>`` (ip, user, hash, hosts) once."""
    if not value:
        return
    related = event.setdefault("related", {})
    values = related.setdefault(kind, [])
    if value not in values:
        values.append(value)
