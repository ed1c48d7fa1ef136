"""The lock files (`make lock`) still say what pyproject.toml asks for: a dependency added or
narrowed in pyproject.toml without `make lock` would install from the stale lock (`make`
installs with `--no-deps`), so the check fails here instead of on a fresh machine."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.MULTILINE)
# The lock files are resolved for CPython 3.11 on Linux x86_64 (the Makefile says so).
ENVIRONMENT = {"sys_platform": "linux", "platform_system": "Linux", "python_version": "3.11"}


def _pins(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text(encoding="utf-8")
    return {canonicalize_name(package): version for package, version in PIN.findall(text)}


def _requirements(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


@pytest.mark.parametrize(
    ("lock", "extras"), [("requirements.lock", ("build",)), ("requirements-dev.lock", ("build", "dev"))]
)
def test_every_dependency_is_locked_within_its_range(lock, extras):
    pins = _pins(lock)
    problems = []
    for requirement in _requirements(*extras):
        if requirement.marker is not None and not requirement.marker.evaluate(ENVIRONMENT):
            continue
        version = pins.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement.name}: not in {lock}")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement.name}=={version} is outside {requirement.specifier}")
    assert not problems, "run `make lock`: " + "; ".join(problems)


def test_the_dev_lock_installs_the_same_versions_as_the_run_lock():
    run, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    differing = {name: (version, dev.get(name)) for name, version in run.items() if dev.get(name) != version}
    assert not differing, differing


def test_every_pin_carries_hashes():
    for lock in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / lock).read_text(encoding="utf-8")
        entries = [entry for entry in re.split(r"\n(?=[A-Za-z0-9])", text) if PIN.match(entry)]
        assert len(entries) == len(_pins(lock)) > 10
        unhashed = [entry.split()[0] for entry in entries if "--hash=sha256:" not in entry]
        assert not unhashed, (lock, unhashed)
