"""IocFeeds: reload without restart, reload when changed, a broken feed keeps its old version, thread safety."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
import yaml

from correlation.ioc.detector import IocDetector
from correlation.ioc.feeds import FeedSpec, IocFeeds
from sontra.config import ConfigError, load_config
from tests.correlation.ioc_samples import network_event, stix_bundle, stix_indicator, write_json


def matched(feeds: IocFeeds, address: str) -> set[str]:
    """The feed names whose indicators match a connection to ``address``."""
    return {h.indicator.feed for h in feeds.matcher.match(network_event(destination__ip=address))}


def rewrite(path: Path, text: str) -> None:
    """Replace a feed file's content and make sure its mtime moves even on a coarse clock."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


def test_reload_picks_up_new_indicators_and_drops_removed_ones(tmp_path: Path) -> None:
    path = tmp_path / "blocklist.txt"
    path.write_text("203.0.113.1\n", encoding="utf-8")
    feeds = IocFeeds([FeedSpec("blocklist", path, "list")])
    detector = IocDetector(feeds)
    assert len(detector([network_event(destination__ip="203.0.113.1")])) == 1

    rewrite(path, "# 203.0.113.1 was a false positive\n203.0.113.2\n")
    states = feeds.reload()
    assert [s.error for s in states] == [None]
    assert detector([network_event(destination__ip="203.0.113.1")]) == []
    [alert] = detector([network_event(destination__ip="203.0.113.2")])
    assert alert["threat"]["indicator"]["ip"] == "203.0.113.2"


def test_reload_if_changed_rereads_only_changed_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.csv"
    a.write_text("203.0.113.1\n", encoding="utf-8")
    b.write_text("type,value\nip,203.0.113.2\n", encoding="utf-8")
    feeds = IocFeeds([FeedSpec("a", a, "list"), FeedSpec("b", b, "csv")])
    loaded_at = {s.spec.name: s.loaded_at for s in feeds.status()}
    assert feeds.reload_if_changed() is None
    rewrite(b, "type,value\nip,203.0.113.3\n")
    states = feeds.reload_if_changed()
    assert states is not None
    after = {s.spec.name: s.loaded_at for s in states}
    assert after["a"] == loaded_at["a"]  # untouched file: not re-read
    assert after["b"] != loaded_at["b"]
    assert matched(feeds, "203.0.113.3") == {"b"}
    assert matched(feeds, "203.0.113.2") == set()
    assert matched(feeds, "203.0.113.1") == {"a"}
    assert feeds.reload_if_changed() is None


def test_a_broken_feed_keeps_its_previous_version_and_reports_the_error(tmp_path: Path) -> None:
    stix, plain = tmp_path / "cert.json", tmp_path / "list.txt"
    write_json(stix, stix_bundle(stix_indicator("[ipv4-addr:value = '203.0.113.10']")))
    plain.write_text("203.0.113.20\n", encoding="utf-8")
    feeds = IocFeeds([FeedSpec("cert", stix, "stix"), FeedSpec("list", plain, "list")])
    assert matched(feeds, "203.0.113.10") == {"cert"}

    rewrite(stix, '{"type": "bundle", "objects": [')  # a download cut off half-way
    rewrite(plain, "203.0.113.21\n")
    states = {s.spec.name: s for s in feeds.reload_if_changed() or []}
    assert "is not valid JSON" in (states["cert"].error or "")
    assert len(states["cert"].indicators) == 1
    assert states["list"].error is None
    assert matched(feeds, "203.0.113.10") == {"cert"}  # old version of the broken feed still matches
    assert matched(feeds, "203.0.113.21") == {"list"}  # the healthy feed moved on
    assert feeds.reload_if_changed() is None  # the same broken file is not re-read every tick

    write_json(stix, stix_bundle(stix_indicator("[ipv4-addr:value = '203.0.113.11']")))
    states = {s.spec.name: s for s in feeds.reload_if_changed() or []}
    assert states["cert"].error is None
    assert matched(feeds, "203.0.113.11") == {"cert"}
    assert matched(feeds, "203.0.113.10") == set()


def test_a_feed_missing_at_start_loads_when_it_appears(tmp_path: Path) -> None:
    path = tmp_path / "later.txt"
    feeds = IocFeeds([FeedSpec("later", path, "list")])
    [state] = feeds.status()
    assert "cannot read list feed" in (state.error or "")
    assert len(feeds.matcher) == 0
    assert feeds.reload_if_changed() is None
    path.write_text("203.0.113.30\n", encoding="utf-8")
    assert feeds.reload_if_changed() is not None
    assert matched(feeds, "203.0.113.30") == {"later"}
    assert feeds.status()[0].to_dict()["indicators"] == 1


def test_status_carries_the_load_report(tmp_path: Path) -> None:
    path = tmp_path / "l.txt"
    path.write_text("203.0.113.1\nnonsense here\n", encoding="utf-8")
    [state] = IocFeeds([FeedSpec("l", path, "list")]).status()
    summary = state.to_dict()
    assert summary["report"]["skipped"] == {"not an IP, network, hash, URL or domain": 1}
    assert summary["indicators"] == 1 and summary["format"] == "list"


def test_the_watcher_reloads_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "w.txt"
    path.write_text("203.0.113.40\n", encoding="utf-8")
    feeds = IocFeeds([FeedSpec("w", path, "list")])
    with feeds.watch(0.02) as watcher:
        rewrite(path, "203.0.113.41\n")
        deadline = time.monotonic() + 5
        while not matched(feeds, "203.0.113.41") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert matched(feeds, "203.0.113.41") == {"w"}
    assert not watcher.is_alive()


def test_matching_during_reloads_always_sees_one_whole_version(tmp_path: Path) -> None:
    """A batch never mixes two versions of the feeds, and no reload breaks a running match."""
    path = tmp_path / "flip.txt"
    versions = ["".join(f"10.{v}.{i // 250}.{i % 250}\n" for i in range(500)) for v in (1, 2)]
    path.write_text(versions[0], encoding="utf-8")
    feeds = IocFeeds([FeedSpec("flip", path, "list")])
    detector = IocDetector(feeds)
    batch = [network_event(f"e{i}", destination__ip=f"10.{1 + i % 2}.0.{i}") for i in range(40)]
    errors: list[BaseException] = []
    seen: set[frozenset[str]] = set()
    stop = threading.Event()

    def detect() -> None:
        try:
            while not stop.is_set():
                alerts = detector(batch)
                seen.add(frozenset(a["destination"]["ip"].split(".")[1] for a in alerts))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=detect) for _ in range(2)]
    for t in threads:
        t.start()
    for n in range(10):
        rewrite(path, versions[(n + 1) % 2])
        feeds.reload()
    stop.set()
    for t in threads:
        t.join(10)
    assert errors == []
    assert seen <= {frozenset({"1"}), frozenset({"2"})}  # all of one version, never a mix
    assert frozenset({"2"}) in seen


def test_feed_names_formats_and_options_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="repeated: a"):
        IocFeeds([FeedSpec("a", tmp_path / "1", "list"), FeedSpec("a", tmp_path / "2", "csv")])
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        FeedSpec("a", tmp_path / "1", "xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="confidence must be 0-100"):
        FeedSpec("a", tmp_path / "1", "list", confidence=101)
    with pytest.raises(ValueError, match="unknown keys"):
        FeedSpec.from_mapping({"name": "a", "path": "x", "format": "list", "url": "http://x"})
    with pytest.raises(ValueError, match="missing path"):
        FeedSpec.from_mapping({"name": "a", "format": "list"})


def test_feeds_come_from_the_ioc_config_section(tmp_path: Path) -> None:
    feed = tmp_path / "misp.json"
    feed.write_text('{"Event": {"Attribute": [{"type": "ip-dst", "value": "203.0.113.50", "to_ids": false}]}}')
    config_file = tmp_path / "sontra.yaml"
    config_file.write_text(yaml.safe_dump({
        "ioc": {"reload_seconds": 60, "feeds": [
            {"name": "misp-cert", "path": str(feed), "format": "misp", "confidence": 20, "include_non_ids": True},
        ]},
    }))  # fmt: skip
    config = load_config(config_file, environ={})
    assert config.ioc.reload_seconds == 60
    feeds = IocFeeds.from_config(config.ioc.feeds)
    [alert] = IocDetector(feeds)([network_event(destination__ip="203.0.113.50")])
    assert alert["threat"]["feed"]["name"] == "misp-cert"
    assert alert["rule"]["level"] == "low"  # confidence 20 from the feed's config
    assert load_config(environ={}).ioc.feeds == []


@pytest.mark.parametrize(
    ("ioc", "message"),
    [
        ({"feeds": [{"name": "a", "path": "x", "format": "xml"}]}, "ioc.feeds.0.format"),
        ({"feeds": [{"name": "a", "path": "x", "format": "list"}] * 2}, "repeated: a"),
        ({"reload_seconds": -1}, "ioc.reload_seconds"),
    ],
)
def test_bad_ioc_config_names_the_key(tmp_path: Path, ioc: dict, message: str) -> None:
    config_file = tmp_path / "sontra.yaml"
    config_file.write_text(yaml.safe_dump({"ioc": ioc}))
    with pytest.raises(ConfigError, match=message):
        load_config(config_file, environ={})
