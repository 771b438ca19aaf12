"""`make install` installs exactly what requirements.lock pins; the lock must keep up with pyproject.toml's ranges."""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", re.MULTILINE)


def _locked() -> dict[str, Version]:
    return {
        canonicalize_name(name): Version(version)
        for name, version in PIN.findall((ROOT / "requirements.lock").read_text())
    }


def test_every_dependency_in_pyproject_is_locked_within_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [Requirement(text) for text in project["dependencies"] + project["optional-dependencies"]["test"]]
    locked = _locked()
    stale = [
        str(requirement)
        for requirement in declared
        if canonicalize_name(requirement.name) not in locked
        or not requirement.specifier.contains(locked[canonicalize_name(requirement.name)], prereleases=True)
    ]
    assert stale == [], f"requirements.lock does not satisfy {stale}: run `make lock` and commit requirements.lock"


def test_every_pin_carries_hashes():
    text = (ROOT / "requirements.lock").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert len(entries) == len(_locked()) > 20
    assert all("--hash=sha256:" in entry for entry in entries)
