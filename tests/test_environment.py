"""The environments agree with pyproject.toml: environment.yml (conda) installs what it
declares, no more and no less; requirements.lock pins a version of each requirement that its
specifier admits, and the installed versions are the locked ones (what the suite runs on is
what ``make venv`` installs)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
ENVIRONMENT = ROOT / "environment.yml"
LOCK = ROOT / "requirements.lock"
#: Installed but never locked: the project itself and the installer (pip freeze omits them).
UNLOCKED = {"crmlib", "pip", "setuptools", "wheel"}
#: The extras the conda environment installs besides the runtime dependencies.
EXTRAS = ("dev",)

_NAME = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")


def normalise(name: str) -> str:
    """PEP 503 name normalisation: ``PyYAML`` and ``pyyaml``, ``a_b`` and ``a-b`` are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


def split(requirement: str) -> tuple[str, str]:
    """(normalised name, the rest: extras, version specifier and markers, without spaces)."""
    match = _NAME.match(requirement)
    assert match, f"cannot read the package name of {requirement!r}"
    return normalise(match[1]), re.sub(r"\s+", "", requirement[match.end() :])


def pyproject_requirements() -> list[str]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in EXTRAS:
        requirements += project.get("optional-dependencies", {}).get(extra, [])
    return requirements


def environment() -> dict[str, Any]:
    data = yaml.safe_load(ENVIRONMENT.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def pip_requirements() -> list[str]:
    """Package requirements of the pip section (options such as ``-e .`` left out)."""
    sections = [
        d["pip"] for d in environment()["dependencies"] if isinstance(d, dict) and "pip" in d
    ]
    assert len(sections) == 1, "environment.yml needs exactly one pip section"
    return [str(line) for line in sections[0] if not str(line).startswith("-")]


def conda_packages() -> dict[str, str]:
    packages = {}
    for entry in environment()["dependencies"]:
        if isinstance(entry, str):
            name = re.split(r"[<>=!~ ]", entry, maxsplit=1)[0]
            packages[name] = entry[len(name) :].strip()
    return packages


def test_environment_is_called_crm() -> None:
    assert environment()["name"] == "crm"


def test_python_version_satisfies_requires_python() -> None:
    packages = conda_packages()
    assert "pip" in packages
    assert packages.get("python", "").lstrip("=") == "3.11"
    requires = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["requires-python"]
    assert requires == ">=3.11"


def test_every_pyproject_dependency_is_in_environment() -> None:
    listed = {split(r)[0] for r in pip_requirements()}
    missing = [r for r in pyproject_requirements() if split(r)[0] not in listed]
    assert missing == [], f"add to environment.yml's pip section: {missing}"


def test_environment_has_nothing_pyproject_lacks() -> None:
    declared = {split(r)[0] for r in pyproject_requirements()}
    extra = [r for r in pip_requirements() if split(r)[0] not in declared]
    assert extra == [], f"environment.yml lists packages pyproject.toml does not: {extra}"


def test_versions_and_extras_agree() -> None:
    listed = dict(split(r) for r in pip_requirements())
    differ = [
        f"{name}: pyproject {spec!r}, environment.yml {listed[name]!r}"
        for name, spec in map(split, pyproject_requirements())
        if name in listed and listed[name] != spec
    ]
    assert differ == [], "version or extras differ: " + "; ".join(differ)


def test_normalise() -> None:
    assert split("PyYAML>=6") == ("pyyaml", ">=6")
    assert split("psycopg[binary] >= 3.1") == ("psycopg", "[binary]>=3.1")
    assert split("pandas_stubs") == ("pandas-stubs", "")
    assert normalise("zope.interface") == "zope-interface"


def locked() -> dict[str, str]:
    """requirements.lock as {normalised name: version}; every line pins one version."""
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        assert sep and version, f"requirements.lock: {line!r} does not pin one version (name==x)"
        pins[normalise(name)] = version.strip()
    return pins


def installed() -> dict[str, str]:
    return {normalise(d.metadata["Name"]): d.version for d in metadata.distributions()}


def test_every_requirement_is_locked_with_a_version_it_admits() -> None:
    pins = locked()
    problems = []
    for line in pyproject_requirements():
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = normalise(requirement.name)
        if name not in pins:
            problems.append(f"{line}: not in requirements.lock")
        elif not requirement.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{line}: requirements.lock has {pins[name]}")
    assert problems == [], "run `make lock`: " + "; ".join(problems)


def test_requested_extras_are_locked() -> None:
    """``psycopg[binary]`` needs ``psycopg-binary`` in the lock, not only ``psycopg``."""
    pins = locked()
    missing = []
    for line in pyproject_requirements():
        requirement = Requirement(line)
        for extra in sorted(requirement.extras):
            for needed in map(Requirement, metadata.requires(requirement.name) or []):
                marker = needed.marker
                if marker is None or not marker.evaluate({"extra": extra}):
                    continue
                if marker.evaluate({"extra": ""}):
                    continue  # needed without the extra too; the installed check covers it
                if normalise(needed.name) not in pins:
                    missing.append(f"{needed.name} (for {requirement.name}[{extra}])")
    assert missing == [], f"run `make lock`: not in requirements.lock: {missing}"


def test_installed_versions_are_the_locked_ones() -> None:
    pins, found = locked(), installed()
    differ = [
        f"{name}: locked {version}, installed {found.get(name, 'nothing')}"
        for name, version in sorted(pins.items())
        if found.get(name) != version
    ]
    unlocked = sorted(set(found) - set(pins) - UNLOCKED)
    assert differ == [], "run `make venv` (or `make lock` to move on): " + "; ".join(differ)
    assert unlocked == [], f"installed but not in requirements.lock: {unlocked}"


def test_every_locked_version_installs_on_the_oldest_python_admitted() -> None:
    """``make lock`` resolves on the Python at hand; a newer one may pick versions that refuse
    the oldest Python pyproject.toml admits (soupsieve 4 needs 3.11.5; Debian 12 ships
    3.11.2). Such a pin is lowered by hand in requirements.lock."""
    admitted = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    oldest = Version(re.sub(r"^>=\s*", "", admitted))
    pins = locked()
    refusing = []
    for dist in metadata.distributions():
        name = normalise(dist.metadata["Name"])
        needs = dist.metadata.get("Requires-Python")
        if name in pins and needs and not SpecifierSet(needs).contains(oldest):
            refusing.append(f"{name}=={dist.version} needs Python {needs}")
    assert refusing == [], (
        f"Python {oldest} (requires-python {admitted}) cannot install: {refusing}"
    )
