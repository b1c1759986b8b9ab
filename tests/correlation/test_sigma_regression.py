"""SigmaHQ regression samples, through the real file reader and normalizers, against the whole rule tree.

Each ``info.yml`` under ``../shared/sigma/regression_data`` names a rule and a sample (EVTX, with
the same records as JSON beside it). Every sample's events must trigger the rule it names when
the engine holds all of ``../shared/sigma/rules``. Samples of rules that are not in that tree
(``rules-emerging-threats``) are skipped with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from collectors.files import read_records
from correlation.sigma import LoadReport, SigmaEngine
from normalizers import normalize
from tests.conftest import SHARED

REGRESSION = SHARED / "sigma" / "regression_data"
RULES = SHARED / "sigma" / "rules"


@dataclass(frozen=True)
class Sample:
    """One regression test: the rule it must trigger and its sample file."""

    name: str
    rule_id: str
    title: str
    evtx: Path


def _samples() -> list[Sample]:
    found = []
    for info in sorted(REGRESSION.rglob("info.yml")) if REGRESSION.is_dir() else []:
        meta = yaml.safe_load(info.read_text(encoding="utf-8"))
        rule = meta["rule_metadata"][0]
        for test in meta["regression_tests_info"]:
            found.append(Sample(info.parent.name, str(rule["id"]), rule["title"], SHARED / "sigma" / test["path"]))
    return found


SAMPLES = _samples()


@pytest.fixture(scope="module")
def loaded(shared_dir: Path) -> tuple[SigmaEngine, LoadReport]:
    """One engine with every rule of ../shared/sigma/rules."""
    engine = SigmaEngine()
    return engine, engine.load([RULES])


def _events(path: Path) -> list[dict[str, Any]]:
    return [normalize(record) for record in read_records(path)]


def _fired(engine: SigmaEngine, path: Path) -> set[str]:
    return {match.rule.id for event in _events(path) for match in engine.match(event)}


def test_the_whole_rule_tree_loads(loaded: tuple[SigmaEngine, LoadReport]) -> None:
    _, report = loaded
    reasons = [f"{failure.path}: {failure.reason}" for failure in report.failures]
    assert report.total > 3000
    assert report.loaded_share >= 0.98, reasons


@pytest.mark.skipif(not SAMPLES, reason=f"no SigmaHQ regression data at {REGRESSION}")
@pytest.mark.parametrize("sample", SAMPLES, ids=[sample.name for sample in SAMPLES])
@pytest.mark.parametrize("form", ["evtx", "json"])
def test_sample_triggers_its_rule(loaded: tuple[SigmaEngine, LoadReport], sample: Sample, form: str) -> None:
    engine, _ = loaded
    if sample.rule_id not in {rule.id for rule in engine.rules}:
        pytest.skip(f"rule {sample.rule_id} ({sample.title}) is not in {RULES}")
    path = sample.evtx if form == "evtx" else sample.evtx.with_suffix(".json")
    events = _events(path)
    assert events, f"{path} gave no events"
    assert all("winlog" in event for event in events), "the Windows normalizer did not read the sample"
    fired = {match.rule.id for event in events for match in engine.match(event)}
    assert sample.rule_id in fired, f"{sample.title} did not fire on {path.name}; fired: {sorted(fired)}"


@pytest.mark.skipif(not SAMPLES, reason=f"no SigmaHQ regression data at {REGRESSION}")
def test_detection_rate(loaded: tuple[SigmaEngine, LoadReport], record_property: Any) -> None:
    engine, _ = loaded
    known = {rule.id for rule in engine.rules}
    present = [sample for sample in SAMPLES if sample.rule_id in known]
    detected = [sample for sample in present if sample.rule_id in _fired(engine, sample.evtx)]
    record_property("regression_detected", f"{len(detected)}/{len(SAMPLES)}")
    print(
        f"SigmaHQ regression: detected {len(detected)}/{len(SAMPLES)} "
        f"({len(SAMPLES) - len(present)} samples name rules absent from {RULES})"
    )
    assert len(detected) == len(present), sorted({s.name for s in present} - {s.name for s in detected})


@pytest.mark.slow
@pytest.mark.skipif(not SAMPLES, reason=f"no SigmaHQ regression data at {REGRESSION}")
def test_pre_filter_changes_speed_never_matches(shared_dir: Path) -> None:
    """Every scanner (and none) gives the same matches on the real events, before and after calibration."""
    events = [event for sample in SAMPLES for event in _events(sample.evtx)]
    results = {}
    for scanner in ("hyperscan", "ahocorasick", "none"):
        engine = SigmaEngine(scanner=scanner)
        engine.load([RULES / "windows"])
        results[scanner] = [sorted(m.rule.id for m in engine.match(event)) for event in events * 4]
    assert results["hyperscan"] == results["none"]
    assert results["ahocorasick"] == results["none"]
    assert sum(map(len, results["none"])) >= len(SAMPLES)
