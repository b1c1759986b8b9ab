"""IOC matching throughput: ``IocDetector`` over synthetic events with 100,000 indicators loaded.

The indicators (IPv4/IPv6 addresses and networks, domains, URLs, MD5/SHA-1/SHA-256) are written
as real feed files in all four formats (plain list, CSV, STIX 2.1 bundle, MISP event) and loaded
through ``IocFeeds``, so the load time printed is the real one. The events mix network flows, DNS
queries, web requests and process starts, about 1% of them hitting an indicator. The figure is
events per second of the process's CPU time (one core); normalization is not part of it.

Usage: ``.venv/bin/python bench/ioc_match.py [--events N] [--indicators N] [--batch N]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from correlation.ioc import FeedSpec, IocDetector, IocFeeds  # noqa: E402 - after the repository is on sys.path


def _ip(rng: random.Random) -> str:
    return f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _digest(kind: str, n: int) -> str:
    return hashlib.new(kind, f"sample-{n}".encode()).hexdigest()


def write_feeds(folder: Path, total: int, rng: random.Random) -> tuple[list[FeedSpec], dict[str, list[str]]]:
    """Write ``total`` indicators across four feed files; return the specs and some values to hit."""
    n_ip, n_net, n_dom, n_url = int(total * 0.40), int(total * 0.05), int(total * 0.30), int(total * 0.10)
    n_hash = total - n_ip - n_net - n_dom - n_url
    ips = [_ip(rng) for _ in range(n_ip - 1000)] + [f"2001:db8:{i:x}::{i:x}" for i in range(1000)]
    nets = [f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.0/{rng.choice((16, 20, 24, 28))}"
            for _ in range(n_net - 200)] + [f"2001:db8:{i:x}::/48" for i in range(1000, 1200)]  # fmt: skip
    domains = [f"bad{i}.{rng.choice(('example', 'test', 'invalid'))}" for i in range(n_dom)]
    urls = [f"http://{rng.choice(domains)}/p{i}/gate.php?id={i}" for i in range(n_url)]
    kinds = ("md5", "sha1", "sha256")
    hashes = [(kinds[i % 3], _digest(kinds[i % 3], i)) for i in range(n_hash)]

    (folder / "ips.txt").write_text("# synthetic blocklist\n" + "\n".join(ips + nets) + "\n", encoding="utf-8")
    rows = ["type,value,confidence"] + [f"domain,{d},80" for d in domains[: n_dom // 2]] + [f"url,{u},60" for u in urls]
    (folder / "web.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    stix = [{"type": "indicator", "spec_version": "2.1", "id": f"indicator--{i:08d}-0000-4000-8000-000000000000",
             "pattern": f"[file:hashes.'{kind.upper().replace('SHA', 'SHA-')}' = '{value}']", "pattern_type": "stix",
             "valid_from": "2026-01-01T00:00:00Z"} for i, (kind, value) in enumerate(hashes)]  # fmt: skip
    (folder / "hashes.json").write_text(json.dumps({"type": "bundle", "objects": stix}), encoding="utf-8")
    misp = [{"type": "domain", "value": d, "to_ids": True, "uuid": f"u{i}"}
            for i, d in enumerate(domains[n_dom // 2 :])]  # fmt: skip
    (folder / "misp.json").write_text(json.dumps({"Event": {"info": "bench", "Attribute": misp}}), encoding="utf-8")
    specs = [
        FeedSpec("blocklist", folder / "ips.txt", "list"),
        FeedSpec("web", folder / "web.csv", "csv"),
        FeedSpec("hashes", folder / "hashes.json", "stix"),
        FeedSpec("misp", folder / "misp.json", "misp"),
    ]
    return specs, {"ip": ips, "domain": domains, "url": urls, "hash": [v for _, v in hashes]}


def make_events(count: int, hits: dict[str, list[str]], rng: random.Random) -> list[dict]:
    """Synthetic normalized events: flows, DNS, web, process starts; about 1% carry an indicator."""
    events = []
    for i in range(count):
        bad = rng.random() < 0.01
        kind = i % 20
        event: dict = {"@timestamp": "2026-11-20T10:00:00.000Z", "event": {"id": f"ev-{i}", "kind": "event"},
                       "host": {"name": f"ws-{i % 500}"}}  # fmt: skip
        if kind < 8:
            event["source"] = {"ip": f"10.{i % 250}.{i % 200}.{i % 199 + 1}", "port": 40000 + i % 20000}
            event["destination"] = {"ip": rng.choice(hits["ip"]) if bad else _ip(rng), "port": 443}
        elif kind < 13:
            name = f"x{i}.{rng.choice(hits['domain'])}" if bad else f"host{i % 5000}.city{i % 40}.gov.example"
            event["dns"] = {"question": {"name": name, "type": "A"}}
            event["source"] = {"ip": f"10.1.{i % 250}.{i % 199 + 1}"}
        elif kind < 17:
            if bad:
                url = rng.choice(hits["url"])
                event["url"] = {"original": url, "domain": url.split("/")[2]}
            else:
                event["url"] = {"original": f"/portal/page{i % 900}.php?q={i}", "domain": f"www{i % 30}.gov.example"}
            event["destination"] = {"ip": f"172.16.{i % 250}.{i % 199 + 1}"}
        else:
            digest = rng.choice(hits["hash"]) if bad else _digest("sha256", -i)
            field = {32: "md5", 40: "sha1", 64: "sha256"}[len(digest)]
            event["process"] = {"name": "x.exe", "hash": {field: digest}}
        events.append(event)
    return events


def main() -> int:
    """Run the benchmark and print ``ioc_match: N events/s`` last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events to match (default 100,000)")
    parser.add_argument("--indicators", type=int, default=100_000, help="indicators to load (default 100,000)")
    parser.add_argument("--batch", type=int, default=1000, help="events per detector call (default 1000)")
    args = parser.parse_args()
    if min(args.events, args.indicators, args.batch) <= 0:
        parser.error("--events, --indicators and --batch must be positive")
    rng = random.Random(20261120)
    with tempfile.TemporaryDirectory(prefix="sontra-bench-ioc-") as tmp:
        specs, hits = write_feeds(Path(tmp), args.indicators, rng)
        started, started_cpu = time.perf_counter(), time.process_time()
        feeds = IocFeeds(specs)
        load_seconds, load_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    errors = [s.error for s in feeds.status() if s.error]
    if errors:
        raise SystemExit(f"feeds failed to load: {errors}")
    matcher = feeds.matcher
    print(f"loaded {len(matcher)} indicators {matcher.counts()} in {load_cpu:.2f} s CPU ({load_seconds:.2f} s wall)")
    events = make_events(args.events, hits, rng)
    detector = IocDetector(feeds)
    detector(events[: args.batch])  # warm up
    alerts = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for start in range(0, len(events), args.batch):
        alerts += len(detector(events[start : start + args.batch]))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(f"matched {len(events)} events in {cpu:.2f} s CPU ({len(events) / wall:.0f} events/s wall): {alerts} alerts")
    print(f"ioc_match: {len(events) / cpu:.0f} events/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
