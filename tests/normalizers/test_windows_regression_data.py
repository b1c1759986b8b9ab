"""Every event in SigmaHQ's regression data (each .evtx record and each JSON sample) normalizes fully.

The samples are read through ``collectors.files.read_records``, the path ``sontra ingest`` takes:
EVTX files record by record, the pretty-printed JSON samples document by document.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collectors.files import read_records
from normalizers import normalize
from normalizers.schema import get_field, validate_event

# Sysmon event data names and the ECS field each must reach (Winlogbeat's sysmon mapping).
SYSMON_COPIES = {
    "Image": "process.executable",
    "CommandLine": "process.command_line",
    "ParentImage": "process.parent.executable",
    "ParentCommandLine": "process.parent.command_line",
    "ProcessGuid": "process.entity_id",
    "CurrentDirectory": "process.working_directory",
    "SourceImage": "process.executable",
    "TargetFilename": "file.path",
    "ImageLoaded": "file.path",
    "TargetObject": "registry.path",
    "QueryName": "dns.question.name",
}
SYSMON_NUMBERS = {"ProcessId": "process.pid", "ParentProcessId": "process.parent.pid"}


def sample_files(shared: Path) -> list[Path]:
    root = shared / "sigma" / "regression_data"
    if not root.is_dir():
        pytest.skip(f"SigmaHQ regression data not found at {root}")
    return sorted(p for p in root.rglob("*") if p.suffix in (".evtx", ".json") and p.is_file())


def normalized(files: list[Path]) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in files:
        for record in read_records(path):
            yield path, normalize(record)


def problems_of(event: dict[str, Any]) -> list[str]:
    """What is missing or wrong in one normalized Windows event."""
    problems = list(validate_event(event))
    if "parse_failure" in (event.get("tags") or []):
        problems.append("parse_failure")
    for name in ("event.code", "host.name", "@timestamp", "event.provider", "winlog.channel", "event.original"):
        if not get_field(event, name):
            problems.append(f"{name} missing")
    if not str(get_field(event, "event.dataset")).startswith("windows."):
        problems.append(f"dataset {get_field(event, 'event.dataset')!r} is not a Windows one")
    if not get_field(event, "event.action"):
        problems.append("event.action missing")
    data = get_field(event, "winlog.event_data") or {}
    if get_field(event, "event.dataset") == "windows.sysmon_operational":
        for name, ecs_name in SYSMON_COPIES.items():
            value = data.get(name, "-").strip()
            if value not in ("", "-") and not get_field(event, ecs_name):
                problems.append(f"{name} not in {ecs_name}")
        for name, ecs_name in SYSMON_NUMBERS.items():
            if name in data and get_field(event, ecs_name) != int(data[name]):
                problems.append(f"{name} not in {ecs_name}")
        if data.get("User") and not get_field(event, "user.name"):
            problems.append("User not in user.name")
        if "Hashes" in data and not (get_field(event, "process.hash") or get_field(event, "file.hash")):
            problems.append("Hashes not parsed")
    if get_field(event, "event.code") == "4688":
        for name in ("process.executable", "process.pid", "process.command_line"):
            if not get_field(event, name):
                problems.append(f"{name} missing")
    return problems


def test_every_regression_sample_normalizes_without_failure(shared_dir: Path) -> None:
    files = sample_files(shared_dir)
    counts: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    failures: list[str] = []
    for path in files:
        counts[f"{path.suffix[1:]} files"] += 1
    for path, event in normalized(files):
        counts[f"{path.suffix[1:]} records"] += 1
        codes[f"{get_field(event, 'event.provider')} {get_field(event, 'event.code')}"] += 1
        problems = problems_of(event)
        if problems:
            failures.append(f"{path.relative_to(shared_dir)} #{get_field(event, 'winlog.record_id')}: {problems}")
    summary = f"regression data: {dict(sorted(counts.items()))}; by provider and event id: {dict(codes)}"
    print(summary)
    assert counts["evtx files"] > 0 and counts["json files"] > 0, summary
    assert counts["evtx records"] >= counts["evtx files"], summary
    assert counts["json records"] >= counts["json files"], summary
    assert failures == [], f"{len(failures)} events incomplete ({summary}):\n" + "\n".join(failures[:20])


def test_evtx_and_json_form_of_each_sample_agree(shared_dir: Path) -> None:
    """The .evtx file and its JSON rendering beside it normalize to the same key fields."""
    keys = ("event.code", "event.action", "host.name", "@timestamp", "process.executable", "process.pid",
            "process.parent.executable", "file.path", "registry.path", "user.name", "winlog.record_id")  # fmt: skip
    compared = 0
    for evtx_path in (p for p in sample_files(shared_dir) if p.suffix == ".evtx"):
        json_path = evtx_path.with_suffix(".json")
        if not json_path.is_file():
            continue
        from_evtx = [tuple(get_field(e, k) for k in keys) for _, e in normalized([evtx_path])]
        from_json = [tuple(get_field(e, k) for k in keys) for _, e in normalized([json_path])]
        assert from_evtx == from_json, evtx_path
        compared += len(from_evtx)
    assert compared > 0
