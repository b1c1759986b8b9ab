"""The repository keeps the layout of DESIGN.md and stays lint-clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ["agents", "collectors", "normalizers", "correlation", "playbooks", "console", "storage", "sontra"]


@pytest.mark.parametrize("folder", [*PACKAGES, "tests", "bench"])
def test_every_top_level_folder_has_a_readme(folder: str) -> None:
    readme = REPO / folder / "README.md"
    assert readme.is_file(), f"{folder}/README.md is missing"
    assert len(readme.read_text(encoding="utf-8").split()) >= 20, f"{folder}/README.md says too little"


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it is in the [test] extra)")
    result = subprocess.run([ruff, "check", "."], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_normalizers_import_nothing_of_the_server() -> None:
    """normalizers/ is pure and sits at the bottom of the dependency chain (DESIGN.md)."""
    forbidden = ("storage", "collectors", "correlation", "console", "playbooks", "sontra", "agents")
    offenders = []
    for path in (REPO / "normalizers").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")) and stripped.split()[1].split(".")[0] in forbidden:
                offenders.append(f"{path.relative_to(REPO)}: {stripped}")
    assert offenders == []
