"""`sontra rules import`: unpack a Sigma rule folder or release archive into <data_dir>/rules/imported/<name>."""

from __future__ import annotations

import re
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from correlation.sigma import LoadReport, SigmaEngine
from correlation.sigma.pipelines import build_pipeline
from correlation.sigma_correlation import load_correlations
from sontra.rule_paths import imported_rules_dir

RULE_SUFFIXES = (".yml", ".yaml")
ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class RuleImportError(Exception):
    """The rule set cannot be imported (missing path, unreadable or unsafe archive, bad name, no rules)."""


@dataclass(slots=True)
class ImportResult:
    """What an import put where, and how its rules loaded."""

    name: str
    destination: Path
    files: int
    report: LoadReport
    correlations: int = 0
    correlation_failures: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {
            "name": self.name,
            "destination": str(self.destination),
            "files": self.files,
            **self.report.to_dict(),
            "correlations": self.correlations,
            "correlation_failures": self.correlation_failures,
        }


def default_name(source: Path) -> str:
    """The rule set's name from its path: the folder or archive name without the archive suffix."""
    name = source.name
    for suffix in ARCHIVE_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "rules"


def import_rules(source: Path, data_dir: Path, *, name: str | None = None, replace: bool = False) -> ImportResult:
    """Copy the rule files of a folder or archive into the imported rules, after loading them all once."""
    source = Path(source)
    if not source.exists():
        raise RuleImportError(f"{source}: no such file or folder")
    name = name or default_name(source)
    if not _NAME.fullmatch(name):
        raise RuleImportError(f"rule set name {name!r}: use letters, digits, '.', '_' and '-' (at most 64)")
    root = imported_rules_dir(data_dir)
    destination = root / name
    if destination.exists() and not replace:
        raise RuleImportError(f"rule set {name!r} is already imported at {destination} (use --replace)")
    root.mkdir(parents=True, exist_ok=True)
    # Stage next to the destination so the final step is a rename on one file system.
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        files = _stage(source, staging)
        if files == 0:
            raise RuleImportError(f"{source}: no Sigma rule files (*.yml, *.yaml) found")
        result = _check(name, destination, files, staging)
        if result.report.loaded == 0 and result.correlations == 0:
            raise RuleImportError(f"{source}: none of the {result.report.total} rules loads; nothing imported")
        if destination.exists():
            shutil.rmtree(destination)
        staging.rename(destination)
        return result
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def _stage(source: Path, staging: Path) -> int:
    """Copy the rule files into the staging folder, keeping their relative paths; the number copied."""
    if source.is_dir():
        count = 0
        for path in sorted(source.rglob("*")):
            if path.is_file() and not path.is_symlink() and path.suffix.lower() in RULE_SUFFIXES:
                target = staging / path.relative_to(source)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                count += 1
        return count
    lower = source.name.lower()
    if lower.endswith(".zip"):
        return _unzip(source, staging)
    if lower.endswith((".tar.gz", ".tgz", ".tar")):
        return _untar(source, staging)
    raise RuleImportError(f"{source}: expected a folder, a .zip or a .tar.gz archive")


def _safe_member(name: str, archive: Path) -> PurePosixPath | None:
    """The member's relative path if it is a rule file; an archive member escaping the folder is refused."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        raise RuleImportError(f"{archive}: unsafe member path {name!r}")
    return path if path.suffix.lower() in RULE_SUFFIXES else None


def _unzip(archive: Path, staging: Path) -> int:
    try:
        with zipfile.ZipFile(archive) as bundle:
            count = 0
            for info in bundle.infolist():
                relative = None if info.is_dir() else _safe_member(info.filename, archive)
                if relative is None:
                    continue
                target = staging.joinpath(*relative.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(bundle.read(info))
                count += 1
            return count
    except (zipfile.BadZipFile, OSError) as exc:
        raise RuleImportError(f"{archive}: cannot read the zip archive: {exc}") from exc


def _untar(archive: Path, staging: Path) -> int:
    try:
        with tarfile.open(archive) as bundle:
            count = 0
            for member in bundle.getmembers():
                relative = _safe_member(member.name, archive) if member.isfile() else None
                if relative is None:
                    continue  # folders, links and devices are never extracted
                handle = bundle.extractfile(member)
                if handle is None:
                    continue
                target = staging.joinpath(*relative.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(handle.read())
                count += 1
            return count
    except (tarfile.TarError, OSError) as exc:
        raise RuleImportError(f"{archive}: cannot read the tar archive: {exc}") from exc


def _check(name: str, destination: Path, files: int, staging: Path) -> ImportResult:
    """Load the staged rules as the service would: single-event rules and correlation rules."""
    report = SigmaEngine().load([staging])
    correlations = load_correlations([staging], pipeline=build_pipeline())
    failures = [
        {
            "path": str(_moved(failure.path, staging, destination)),
            "title": failure.title,
            "id": failure.rule_id,
            "reason": failure.reason,
        }
        for failure in correlations.failures
    ]
    # Reports name the staging folder; the rules will live at the destination.
    report = _relocated(report, staging, destination)
    return ImportResult(name, destination, files, report, len(correlations.rules), failures)


def _relocated(report: LoadReport, staging: Path, destination: Path) -> LoadReport:
    for entries in (report.failures, report.skipped):
        for index, entry in enumerate(entries):
            entries[index] = replace(entry, path=_moved(entry.path, staging, destination))
    return report


def _moved(path: Any, staging: Path, destination: Path) -> Any:
    """A staged file's path at its destination (other values unchanged)."""
    if path is None:
        return None
    try:
        return destination / Path(path).relative_to(staging)
    except ValueError:
        return path
