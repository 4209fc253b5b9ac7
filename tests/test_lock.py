"""The lock files: every pin of requirements*.txt locked with hashes, and scripts/setup.sh skipping pip when
the lock has not changed since the last install."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_PIN = re.compile(r"^([A-Za-z0-9_.\[\],-]+)==([^\s;#\\]+)", re.MULTILINE)


def _pins(text: str) -> dict[str, str]:
    return {re.sub(r"\[.*\]", "", n).lower().replace("_", "-"): v for n, v in _PIN.findall(text)}


def _direct(requirements: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in requirements.read_text(encoding="utf-8").splitlines():
        if line.startswith("-r "):
            pins |= _direct(requirements.parent / line.split()[1])
    return pins | _pins(requirements.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["requirements", "requirements-dev"])
def test_each_lock_pins_its_requirements_and_hashes_every_package(name: str) -> None:
    lock = (ROOT / f"{name}.lock").read_text(encoding="utf-8")
    locked = _pins(lock)
    for package, version in _direct(ROOT / f"{name}.txt").items():  # a requirement changed: refresh the lock
        assert locked.get(package, "").split("+")[0] == version, (package, version, locked.get(package))
    entries = re.split(r"\n(?=[A-Za-z0-9])", lock[lock.index(next(iter(_PIN.finditer(lock))).group(0)) :])
    assert len(entries) == len(locked) and all("--hash=sha256:" in e for e in entries)


def test_setup_skips_pip_while_the_lock_is_unchanged(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    for name in ("requirements.lock", "requirements-dev.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    python = tmp_path / ".venv" / "bin" / "python"  # records what pip would have been asked to do
    python.parent.mkdir(parents=True)
    python.write_text('#!/bin/sh\necho "$*" >> "$(dirname "$0")/../../calls"\n')
    python.chmod(0o755)

    def setup(*args: str) -> list[str]:
        subprocess.run(["bash", "scripts/setup.sh", *args], cwd=tmp_path, check=True, timeout=60)
        calls = tmp_path / "calls"
        return calls.read_text().splitlines() if calls.exists() else []

    assert setup("requirements-dev.txt") == ["-m pip install -q --require-hashes -r requirements-dev.lock"]
    assert len(setup("requirements-dev.lock")) == 1 and len(setup()) == 1  # unchanged; the runtime pins are in it
    with (tmp_path / "requirements.lock").open("a") as f:
        f.write("# refreshed\n")
    assert setup()[1:] == ["-m pip install -q --require-hashes -r requirements.lock"]
    assert len(setup()) == 2
