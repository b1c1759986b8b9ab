"""Sigma detection throughput: SigmaHQ regression events replayed through the Windows rule set.

Loads every rule under ``../shared/sigma/rules/windows`` into one ``SigmaEngine``, reads every
regression sample (EVTX, through the real file reader and normalizers), replicates those events
to at least 200,000, and times ``engine.match`` over them in one thread: the figure is events per
second of the process's CPU time, i.e. on one core (the wall-clock rate is printed too). Normalization is done
before the clock starts: this measures detection only.

Usage: ``.venv/bin/python bench/detect.py [--events N] [--shared DIR]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from collectors.files import read_records  # noqa: E402 - after the repository is on sys.path
from correlation.sigma import SigmaEngine  # noqa: E402
from normalizers import normalize  # noqa: E402


def regression_events(shared: Path) -> list[dict]:
    """Every event of every SigmaHQ regression sample, normalized."""
    events: list[dict] = []
    for info in sorted((shared / "sigma" / "regression_data").rglob("info.yml")):
        meta = yaml.safe_load(info.read_text(encoding="utf-8"))
        for test in meta.get("regression_tests_info", ()):
            sample = shared / "sigma" / test["path"]
            events.extend(normalize(record) for record in read_records(sample))
    return events


def main() -> int:
    """Run the benchmark and print the figure as the last line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="events to replay (at least)")
    default_shared = Path(os.environ.get("SONTRA_SHARED_DIR", REPO.parent / "shared"))
    parser.add_argument("--shared", type=Path, default=default_shared, help="the shared test data folder")
    args = parser.parse_args()
    engine = SigmaEngine()
    started = time.perf_counter()
    report = engine.load([args.shared / "sigma" / "rules" / "windows"])
    print(f"rules loaded: {report.loaded} of {report.total} in {time.perf_counter() - started:.1f} s")

    sample = regression_events(args.shared)
    if not sample:
        print("no regression samples found", file=sys.stderr)
        return 1
    copies = -(-args.events // len(sample))
    events = sample * copies
    print(f"events: {len(events)} ({len(sample)} regression events x {copies})")

    for event in sample:  # first sight of each event kind builds its route: not part of the steady rate
        engine.match(event)
    wall_started, cpu_started = time.perf_counter(), time.process_time()
    matches = 0
    for event in events:
        matches += len(engine.match(event))
    wall, cpu = time.perf_counter() - wall_started, time.process_time() - cpu_started
    print(f"matches: {matches} ({matches // copies} per replay of the samples)")
    print(f"wall clock: {len(events) / wall:.0f} events/s (shared machine: other processes take their share)")
    # One thread: the process's CPU time is what one core spent, whatever else the machine ran.
    print(f"detect: {len(events) / cpu:.0f} events/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
