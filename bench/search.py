"""Search latency of the SQLite event store: five representative queries over a 24 h window.

    .venv/bin/python bench/search.py [--events N] [--data-dir DIR] [--repeat R]

With ``--data-dir`` pointing at a directory where bench/store_write.py left its database (run it
with the same ``--data-dir``), that database is reused; otherwise the events are generated first.
Each query runs once to warm up, then ``--repeat`` times; the p95 of those runs is printed. The
last line is the indexed-field term query: ``search_p95_term: N ms``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from store_write import DB_NAME, MANIFEST, window_end, write_events

from storage.sqlite import SqliteEventStore


def prepare(data_dir: Path, events: int) -> tuple[Path, datetime]:
    """The database to query and the end of its 24 h window, generating the events if needed."""
    path, manifest = data_dir / DB_NAME, data_dir / MANIFEST
    if path.exists() and manifest.exists():
        info = json.loads(manifest.read_text())
        print(f"reusing {path} ({info['events']} events)")
        return path, datetime.fromisoformat(info["end"])
    if path.exists():
        raise SystemExit(f"{path} exists without {MANIFEST}; remove it or choose another --data-dir")
    end = window_end()
    print(f"generating {events} events into {path} ...")
    with SqliteEventStore(path) as store:
        spent = write_events(store, events, 10_000, end)
    print(f"wrote {events} events in {spent:.1f} s ({events / spent:.0f} events/s)")
    manifest.write_text(json.dumps({"events": events, "end": end.isoformat()}))
    return path, end


def p95_ms(run: Callable[[], object], repeat: int) -> float:
    """Run once to warm up, then ``repeat`` times; the 95th percentile in milliseconds."""
    run()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[max(0, math.ceil(0.95 * len(times)) - 1)]


def main(argv: list[str] | None = None) -> int:
    """Run the five queries and print ``search_p95_term: N ms`` last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events to generate (default 1,000,000)")
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse or create the database here")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per query (default 20)")
    args = parser.parse_args(argv)
    if args.events <= 0 or args.repeat <= 0:
        parser.error("--events and --repeat must be positive")
    with tempfile.TemporaryDirectory(prefix="sontra-bench-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        path, end = prepare(data_dir, args.events)
        start = end - timedelta(hours=24)
        with SqliteEventStore(path) as store:
            queries: list[tuple[str, str, Callable[[], object]]] = [
                ("search_p95_cidr_bool", 'user.name:root AND source.ip:"10.0.0.0/8"',
                 lambda: store.search('user.name:root AND source.ip:"10.0.0.0/8"', start, end)),
                ("search_p95_phrase", '"failed password"', lambda: store.search('"failed password"', start, end)),
                ("search_p95_wildcard", "user.name:adm* AND host.name:web-1?",
                 lambda: store.search("user.name:adm* AND host.name:web-1?", start, end)),
                ("search_p95_terms_agg", "terms(source.ip, size=10) on event.action:ssh_login",
                 lambda: store.terms("source.ip", "event.action:ssh_login", start, end, size=10)),
                ("search_p95_histogram", "histogram(1h) of all events",
                 lambda: store.histogram("", start, end, "1h")),
                ("search_p95_term", "event.action:ssh_login",
                 lambda: store.search("event.action:ssh_login", start, end)),
            ]
            figure = 0.0
            for name, text, run in queries:
                result = run()
                found = f"{result.total} hits" if hasattr(result, "total") else f"{len(result)} buckets"  # type: ignore
                figure = p95_ms(run, args.repeat)
                print(f"{name}: {figure:.1f} ms  ({text}: {found}, p95 of {args.repeat} runs)")
            print(f"{queries[-1][0]}: {figure:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
