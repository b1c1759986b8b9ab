"""`sontra rules import PATH`: SigmaHQ rules from a zip, tar.gz or folder join the active rules."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from correlation.sigma import SigmaEngine
from sontra.cli import main
from sontra.config import load_config
from sontra.rule_paths import PACK_DIR, active_rule_paths

SIGMA = Path(__file__).resolve().parents[3] / "shared" / "sigma" / "rules"
PICKED = ("linux/builtin/lnx_clear_syslog.yml", "linux/builtin/lnx_privileged_user_creation.yml")
BROKEN = (
    "title: Broken rule\nid: 0b7e1d7c-0000-4000-8000-000000000001\nlogsource: {product: linux}\n"
    "detection:\n  sel:\n    A|nosuch: x\n  condition: sel\n"
)

pytestmark = pytest.mark.skipif(not all((SIGMA / rule).exists() for rule in PICKED), reason="needs ../shared/sigma")


def _release_zip(path: Path) -> Path:
    """A small archive laid out like a SigmaHQ release package (rules under a top folder), plus one broken rule."""
    with zipfile.ZipFile(path, "w") as bundle:
        for rule in PICKED:
            bundle.writestr(f"rules/{rule}", (SIGMA / rule).read_text(encoding="utf-8"))
        bundle.writestr("rules/linux/broken.yml", BROKEN)
        bundle.writestr("README.md", "not a rule")
    return path


def _ids(paths: list[Path]) -> set[str]:
    engine = SigmaEngine()
    engine.load(paths)
    return {rule.id for rule in engine.rules}


def test_zip_import_reports_and_activates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = _release_zip(tmp_path / "sigma_core.zip")
    data = tmp_path / "data"
    assert main(["rules", "import", str(archive), "--data-dir", str(data), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["name"], result["files"], result["loaded"], result["failed"]) == ("sigma_core", 3, 2, 1)
    assert result["failures"][0]["title"] == "Broken rule"
    assert "nosuch" in result["failures"][0]["reason"]
    destination = data / "rules" / "imported" / "sigma_core"
    assert result["destination"] == str(destination)
    assert result["failures"][0]["path"] == str(destination / "rules" / "linux" / "broken.yml")
    assert sorted(p.name for p in destination.rglob("*.yml")) == ["broken.yml", *sorted(Path(r).name for r in PICKED)]
    assert not (destination / "README.md").exists()

    paths = active_rule_paths(load_config(None, overrides={"data_dir": data}))
    assert paths[0] == PACK_DIR
    assert destination in paths
    imported_ids = {yaml.safe_load((SIGMA / rule).read_text())["id"] for rule in PICKED}
    assert imported_ids <= _ids(paths)


def test_tar_gz_and_folder_imports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "sigma_all_rules.tar.gz"
    with tarfile.open(archive, "w:gz") as bundle:
        for rule in PICKED:
            payload = (SIGMA / rule).read_bytes()
            info = tarfile.TarInfo(f"rules/{rule}")
            info.size = len(payload)
            bundle.addfile(info, io.BytesIO(payload))
    data = tmp_path / "data"
    assert main(["rules", "import", str(archive), "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "imported 2 rule files as 'sigma_all_rules'" in out
    assert "loaded 2 of 2 rules" in out

    folder = tmp_path / "ours"
    folder.mkdir()
    (folder / "clear.yml").write_text((SIGMA / PICKED[0]).read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["rules", "import", str(folder), "--data-dir", str(data), "--name", "team-rules"]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in (data / "rules" / "imported").iterdir()) == ["sigma_all_rules", "team-rules"]


def test_existing_name_needs_replace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = _release_zip(tmp_path / "pack.zip")
    data = tmp_path / "data"
    assert main(["rules", "import", str(archive), "--data-dir", str(data)]) == 0
    assert main(["rules", "import", str(archive), "--data-dir", str(data)]) == 2
    assert "already imported" in capsys.readouterr().err
    assert main(["rules", "import", str(archive), "--data-dir", str(data), "--replace"]) == 0


def test_unsafe_or_empty_archives_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as bundle:
        bundle.writestr("../../escape.yml", BROKEN)
    assert main(["rules", "import", str(evil), "--data-dir", str(data)]) == 2
    assert "unsafe member path '../../escape.yml'" in capsys.readouterr().err
    assert not (tmp_path / "escape.yml").exists()

    only_broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(only_broken, "w") as bundle:
        bundle.writestr("broken.yml", BROKEN)
    assert main(["rules", "import", str(only_broken), "--data-dir", str(data)]) == 2
    assert "none of the 1 rules loads" in capsys.readouterr().err
    assert list((data / "rules" / "imported").iterdir()) == []

    assert main(["rules", "import", str(tmp_path / "missing.zip"), "--data-dir", str(data)]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_active_paths_follow_the_rules_paths_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    imported = data / "rules" / "imported" / "team"
    imported.mkdir(parents=True)
    own = tmp_path / "own"
    own.mkdir()
    assert active_rule_paths(load_config(None, overrides={"data_dir": data})) == [PACK_DIR, imported]
    configured = load_config(None, overrides={"data_dir": data, "rules": {"paths": [str(own)]}})
    assert active_rule_paths(configured) == [own, imported]
