"""`sontra detect`: SigmaHQ regression samples against the SigmaHQ Windows rules, no server and no store."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from sontra.cli import main

SAMPLES = {
    # sample folder under regression_data/rules/windows -> the rule id its info.yml names
    "process_creation/proc_creation_win_wmic_terminate_application": "49d9671b-0a0a-4c09-8280-d215bfd30662",
    "process_creation/proc_creation_win_wmic_recon_process": "221b251a-357a-49a9-920a-271802777cc0",
}


def _sample_files(shared: Path) -> list[str]:
    root = shared / "sigma" / "regression_data" / "rules" / "windows"
    return [str(next((root / folder).glob("*.evtx"))) for folder in SAMPLES]


@pytest.fixture(scope="module")
def json_run(shared_dir: Path) -> tuple[int, list[dict], str]:
    """One `sontra detect --json` run over two EVTX samples (loading the Windows rules takes seconds).

    capsys is per test, so this module-wide run captures its own output.
    """
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(
            ["detect", *_sample_files(shared_dir), "--rules", str(shared_dir / "sigma/rules/windows"), "--json"]
        )
    lines = [json.loads(line) for line in stdout.getvalue().splitlines()]
    return code, lines, stderr.getvalue()


def test_expected_rules_fire_on_their_samples(json_run: tuple[int, list[dict], str]) -> None:
    code, lines, _ = json_run
    assert code == 0
    fired = {line["rule"]["id"] for line in lines}
    assert set(SAMPLES.values()) <= fired


def test_json_line_shape(json_run: tuple[int, list[dict], str]) -> None:
    _, lines, _ = json_run
    line = next(line for line in lines if line["rule"]["id"] == SAMPLES[next(iter(SAMPLES))])
    assert line["rule"]["name"] == "Application Termination Attempt via Wmic.EXE"
    assert line["rule"]["level"] == "medium"
    assert "attack.t1047" in line["attack"]
    assert line["threat"]["technique"]["id"] == ["T1047"]
    assert isinstance(line["event"]["id"], str) and line["event"]["id"]
    assert line["@timestamp"].startswith("20") and line["@timestamp"].endswith("Z")
    assert line["host"]["name"]
    assert line["log"]["file"]["path"].endswith(".evtx")


def test_summary_on_stderr(json_run: tuple[int, list[dict], str]) -> None:
    _, lines, stderr = json_run
    summary = dict(part.split("=", 1) for part in stderr.strip().splitlines()[-1].split(": ", 1)[1].split())
    assert summary["files"] == "2"
    assert int(summary["events"]) >= 2
    assert int(summary["matches"]) == len(lines)
    assert int(summary["rules_loaded"]) > 1000 and summary["rules_failed"] == "0"
    assert float(summary["seconds"]) > 0


def test_readable_output(shared_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rule = tmp_path / "wmic.yml"
    rule.write_text(
        """
title: Wmic process call
id: 00000000-0000-4000-8000-00000000d001
status: test
logsource: {product: windows, category: process_creation}
detection:
  selection: {Image|endswith: '\\\\WMIC.exe'}
  condition: selection
level: high
tags: [attack.execution, attack.t1047]
""",
        encoding="utf-8",
    )
    code = main(["detect", *_sample_files(shared_dir), "--rules", str(rule)])
    out, err = capsys.readouterr()
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert all("[high] Wmic process call (00000000-0000-4000-8000-00000000d001)" in line for line in lines)
    assert "attack.execution,attack.t1047" in lines[0] and ".evtx" in lines[0]
    assert "rules_loaded=1" in err


def test_missing_log_path_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "rules").mkdir()
    code = main(["detect", str(tmp_path / "nope.evtx"), "--rules", str(tmp_path / "rules")])
    assert code == 2
    assert "nope.evtx: no such file or directory" in capsys.readouterr().err


def test_missing_rules_path_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "auth.log"
    log.write_text("Nov 20 10:00:01 web01 sshd[1]: Failed password for root from 203.0.113.7 port 1 ssh2\n")
    code = main(["detect", str(log), "--rules", str(tmp_path / "missing-rules")])
    assert code == 2
    assert "missing-rules" in capsys.readouterr().err
