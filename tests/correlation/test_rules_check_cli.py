"""`sontra rules check DIR... [--json]`: loaded count, each failure with its reason, exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sontra.cli import main
from tests.correlation.sigma_support import unit_rule

GOOD = unit_rule("sel:\n  A: x\ncondition: sel", "Good rule")
BAD = unit_rule("sel:\n  A|nosuch: x\ncondition: sel", "Bad rule")


def test_all_rules_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "good.yml").write_text(GOOD, encoding="utf-8")
    assert main(["rules", "check", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("loaded 1 of 1 rules (100.0%) from 1 files")


def test_failures_are_listed_with_their_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "good.yml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad.yml").write_text(BAD, encoding="utf-8")
    assert main(["rules", "check", str(tmp_path / "good.yml"), str(tmp_path / "bad.yml")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "loaded 1 of 2 rules (50.0%) from 2 files"
    assert out[1].startswith(f"FAILED {tmp_path / 'bad.yml'} (Bad rule): SigmaModifierError: Unknown modifier")


def test_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.yml").write_text(BAD, encoding="utf-8")
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    assert main(["rules", "check", str(tmp_path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["total"], report["loaded"], report["failed"], report["loaded_percent"]) == (2, 1, 1, 50.0)
    assert report["failures"][0]["title"] == "Bad rule"
    assert "Unknown modifier 'nosuch'" in report["failures"][0]["reason"]


def test_missing_path_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(tmp_path / "nope")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


@pytest.mark.slow
def test_sigmahq_rule_tree(shared_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["rules", "check", str(shared_dir / "sigma" / "rules"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["loaded_percent"] >= 98
    assert status == (1 if report["failed"] else 0)
