"""MISP event JSON: network and file attributes of events and objects, to_ids respected."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from correlation.ioc.indicators import FeedError, LoadResult
from correlation.ioc.misp import load_misp, parse_misp
from tests.correlation.ioc_samples import MD5, SHA1, SHA256, misp_attribute, misp_event, write_json


def values(result: LoadResult) -> set[tuple[str, str]]:
    return {(ind.type.value, ind.value) for ind in result.indicators}


def sample_event() -> dict:
    attributes = [
        misp_attribute("ip-src", "203.0.113.20", comment="scanner", Tag=[{"name": "kill-chain:recon"}]),
        misp_attribute("ip-dst", "198.51.100.0/24"),
        misp_attribute("ip-dst|port", "203.0.113.21|8443"),
        misp_attribute("ip-src|port", "2001:db8::21|443"),
        misp_attribute("domain", "phish.example"),
        misp_attribute("hostname", "Mail.Phish.Example"),
        misp_attribute("domain|ip", "cdn.phish.example|203.0.113.22"),
        misp_attribute("url", "https://phish.example/login.php"),
        misp_attribute("md5", MD5),
        misp_attribute("sha1", SHA1),
        misp_attribute("sha256", SHA256),
        misp_attribute("email-src", "boss@phish.example"),
        misp_attribute("ip-dst", "203.0.113.99", to_ids=False),
        misp_attribute("domain", "benign-but-related.example", to_ids="0"),
        misp_attribute("ip-dst", "203.0.113.98", deleted=True),
    ]
    file_object = {
        "name": "file",
        "meta-category": "file",
        "uuid": "5f6e7d8c-0000-4000-8000-0000000000f1",
        "Attribute": [
            misp_attribute("filename", "invoice.pdf.exe", category="Payload delivery"),
            misp_attribute("filename|sha256", f"invoice.pdf.exe|{SHA256.replace('5', '6')}"),
            misp_attribute("malware-sample", f"dropper.zip|{MD5.replace('5', '6')}"),
        ],
    }
    return misp_event(attributes, [file_object])


def test_event_and_object_attributes_become_indicators(tmp_path: Path) -> None:
    event = sample_event()
    result = load_misp(write_json(tmp_path / "event.json", event), "misp-cert", default_confidence=70)
    assert values(result) == {
        ("ip", "203.0.113.20"), ("cidr", "198.51.100.0/24"), ("ip", "203.0.113.21"), ("ip", "2001:db8::21"),
        ("domain", "phish.example"), ("domain", "mail.phish.example"), ("domain", "cdn.phish.example"),
        ("ip", "203.0.113.22"), ("url", "https://phish.example/login.php"), ("md5", MD5), ("sha1", SHA1),
        ("sha256", SHA256), ("sha256", SHA256.replace("5", "6")), ("md5", MD5.replace("5", "6")),
    }  # fmt: skip
    assert result.report.skipped == {
        "to_ids is off": 2,
        "deleted": 1,
        "attribute type email-src is not an indicator type": 1,
        "attribute type filename is not an indicator type": 1,
    }
    scanner = next(ind for ind in result.indicators if ind.value == "203.0.113.20")
    assert scanner.feed == "misp-cert"
    assert scanner.confidence == 70
    assert scanner.description == "scanner"  # the attribute comment wins over the event info
    assert scanner.labels == ("tlp:amber", "kill-chain:recon")
    assert scanner.source_id == event["Event"]["Attribute"][0]["uuid"]
    domain = next(ind for ind in result.indicators if ind.value == "phish.example")
    assert domain.description == "Phishing campaign against city agencies"


def test_include_non_ids_loads_the_flagged_off_attributes() -> None:
    result = parse_misp(sample_event(), "m", include_non_ids=True)
    assert {("ip", "203.0.113.99"), ("domain", "benign-but-related.example")} <= values(result)
    assert "to_ids is off" not in result.report.skipped
    assert ("ip", "203.0.113.98") not in values(result)  # deleted stays out either way


@pytest.mark.parametrize(
    "wrap",
    [
        lambda e: [e, e],
        lambda e: {"response": [e]},
        lambda e: e["Event"],
    ],
    ids=["list-of-events", "rest-response", "bare-event"],
)
def test_the_usual_export_shapes_are_read(wrap: Callable[[dict], Any]) -> None:
    event = misp_event([misp_attribute("ip-dst", "203.0.113.30")])
    assert ("ip", "203.0.113.30") in values(parse_misp(wrap(event), "m"))


def test_bad_values_and_shapes_are_counted() -> None:
    event = misp_event(
        [
            misp_attribute("ip-dst", "999.1.1.1"),
            misp_attribute("filename|md5", "no-separator"),
            misp_attribute("md5", "abc"),
            {"type": "ip-dst", "value": 12345, "to_ids": True},
            "not an attribute",
            {"type": "ip-dst", "value": "203.0.113.40"},  # no to_ids key at all: counts as flagged
        ],
        Object="not a list",
    )
    result = parse_misp(event, "m")
    assert values(result) == {("ip", "203.0.113.40")}
    assert result.report.skipped == {
        "invalid ip-dst value": 1,
        "filename|md5 value has no '|' separator": 1,
        "invalid md5 value": 1,
        "attribute value is not text": 1,
        "attribute is not a JSON object": 1,
        "Event.Object is not a list": 1,
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [('{"type": "bundle"}', "expected an 'Event' object"), ("42", "top level is int"), ("[{", "not valid JSON")],
)
def test_a_file_without_events_is_a_feed_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "misp.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FeedError, match=message):
        load_misp(path, "m")
